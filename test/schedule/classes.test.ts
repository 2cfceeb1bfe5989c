import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/environ/errors.js';
import { CLASS_CHARGE, CLASS_WEIGHT, DEFAULT_CLASS, isPriorityClass, parseClass, PRIORITY_CLASSES } from '../../src/schedule/index.js';

describe('priority classes', () => {
  it('parses the three classes, ignoring case and spaces', () => {
    expect(parseClass('nice')).toBe('nice');
    expect(parseClass(' Normal ')).toBe('normal');
    expect(parseClass('URGENT')).toBe('urgent');
    expect(PRIORITY_CLASSES).toEqual(['nice', 'normal', 'urgent']);
    expect(DEFAULT_CLASS).toBe('normal');
    expect(isPriorityClass('normal')).toBe(true);
    expect(isPriorityClass('high')).toBe(false);
  });

  it('refuses anything else with a usage error listing the classes', () => {
    expect(() => parseClass('high')).toThrow(UsageError);
    expect(() => parseClass('high')).toThrow('unknown priority class "high": expected one of nice, normal, urgent (default normal)');
    expect(() => parseClass('')).toThrow(/expected one of nice, normal, urgent/);
  });

  it('normal is free (weight 1, charge 1); urgent weighs and costs more; nice weighs and costs less', () => {
    expect(CLASS_WEIGHT.normal).toBe(1);
    expect(CLASS_CHARGE.normal).toBe(1);
    expect(CLASS_WEIGHT.urgent).toBeGreaterThan(1);
    expect(CLASS_CHARGE.urgent).toBeGreaterThan(1);
    expect(CLASS_WEIGHT.nice).toBeLessThan(1);
    expect(CLASS_WEIGHT.nice).toBeGreaterThan(0); // > 0: nice work still progresses
    expect(CLASS_CHARGE.nice).toBeLessThanOrEqual(1);
    expect(Object.isFrozen(CLASS_WEIGHT) && Object.isFrozen(CLASS_CHARGE)).toBe(true);
  });
});

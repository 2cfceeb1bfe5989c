import { describe, expect, it } from 'vitest';
import { charge, decayed, decayFactor, NO_USAGE } from '../../src/schedule/index.js';

const H = 3_600_000;

describe('decaying usage', () => {
  it('halves over one half-life and quarters over two', () => {
    const u = { value: 1000, at: 0 };
    expect(decayed(u, 0, H)).toBe(1000);
    expect(decayed(u, H, H)).toBeCloseTo(500, 9);
    expect(decayed(u, 2 * H, H)).toBeCloseTo(250, 9);
    expect(decayed(u, H / 2, H)).toBeCloseTo(1000 / Math.SQRT2, 9);
  });

  it('decays from the time it was last brought up to date, not from zero', () => {
    const u = { value: 80, at: 5 * H };
    expect(decayed(u, 6 * H, H)).toBeCloseTo(40, 9);
  });

  it('does not grow when the clock is behind the usage stamp', () => {
    expect(decayed({ value: 10, at: 2 * H }, H, H)).toBe(10);
    expect(decayFactor(-5, H)).toBe(1);
  });

  it('never decays with an infinite half-life, and refuses a non-positive one', () => {
    expect(decayed({ value: 7, at: 0 }, 1e12, Infinity)).toBe(7);
    expect(() => decayFactor(1, 0)).toThrow(/half-life must be a positive number/);
    expect(() => decayFactor(1, -H)).toThrow(RangeError);
  });

  it('charge decays to now, then adds, and returns a new value', () => {
    const u = { value: 100, at: 0 };
    const v = charge(u, 30, H, H);
    expect(v.at).toBe(H);
    expect(v.value).toBeCloseTo(80, 9);
    expect(u).toEqual({ value: 100, at: 0 });
    expect(charge(NO_USAGE, 12, 5 * H, H)).toEqual({ value: 12, at: 5 * H });
  });

  it('a late charge (stamped before the usage) is added without moving the stamp back', () => {
    expect(charge({ value: 10, at: 2 * H }, 5, H, H)).toEqual({ value: 15, at: 2 * H });
  });

  it('charging in steps equals charging the decayed sum (decay is linear)', () => {
    let u = NO_USAGE;
    for (let i = 1; i <= 10; i++) u = charge(u, 60, i * H, 6 * H);
    let expected = 0;
    for (let i = 1; i <= 10; i++) expected += 60 * Math.pow(0.5, (10 - i) / 6);
    expect(u.value).toBeCloseTo(expected, 9);
  });

  it('refuses negative or non-finite charges', () => {
    expect(() => charge(NO_USAGE, -1, 0, H)).toThrow(/finite number of seconds >= 0/);
    expect(() => charge(NO_USAGE, NaN, 0, H)).toThrow(RangeError);
  });
});

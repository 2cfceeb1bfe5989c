import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/environ/errors.js';
import { DEFAULT_POLICY, NO_USAGE, ownerFactors, parseShare, runningSeconds, type OwnerState } from '../../src/schedule/index.js';

const H = 3_600_000;
const owner = (name: string, share: number, used: number, running = 0, at = 0): OwnerState => ({ owner: name, share, usage: { value: used, at }, runningSeconds: running });

describe("Slurm's classic fair-share factor", () => {
  it("reproduces Slurm's documented examples: S 0.05 with U 0.275 gives 0.022, S 0.35 with U 0.146 gives 0.75", () => {
    const f = ownerFactors([owner('x', 5, 27.5), owner('y', 35, 14.6), owner('z', 60, 57.9)], 0, DEFAULT_POLICY);
    expect(f.get('x')).toBeCloseTo(Math.pow(2, -0.275 / 0.05), 12);
    expect(f.get('x')).toBeCloseTo(0.022, 3);
    expect(f.get('y')).toBeCloseTo(0.75, 2);
  });

  it('is 0.5 for every owner exactly on target, above for the under-served, below for the over-served', () => {
    const on = ownerFactors([owner('a', 1, 100), owner('b', 1, 100), owner('c', 2, 200)], 0, DEFAULT_POLICY);
    for (const v of on.values()) expect(v).toBeCloseTo(0.5, 12);
    const off = ownerFactors([owner('a', 1, 50), owner('b', 1, 150)], 0, DEFAULT_POLICY);
    expect(off.get('a')).toBeGreaterThan(0.5);
    expect(off.get('b')).toBeLessThan(0.5);
  });

  it('is 1 for an owner with no usage, and 1 for everyone when nobody has usage', () => {
    const f = ownerFactors([owner('new', 1, 0), owner('old', 1, 500)], 0, DEFAULT_POLICY);
    expect(f.get('new')).toBe(1);
    expect(f.get('old')).toBeCloseTo(0.25, 12); // U = 1, S = 0.5
    const idle = ownerFactors([owner('a', 1, 0), owner('b', 3, 0)], 0, DEFAULT_POLICY);
    expect([...idle.values()]).toEqual([1, 1]);
    expect(ownerFactors([], 0, DEFAULT_POLICY).size).toBe(0);
  });

  it('normalises over the owners given (the active ones) only', () => {
    const two = ownerFactors([owner('a', 1, 100), owner('b', 1, 100)], 0, DEFAULT_POLICY);
    expect(two.get('a')).toBeCloseTo(0.5, 12);
    const three = ownerFactors([owner('a', 1, 100), owner('b', 1, 100), owner('c', 1, 0)], 0, DEFAULT_POLICY);
    expect(three.get('a')).toBeCloseTo(Math.pow(2, -0.5 / (1 / 3)), 12);
  });

  it('decays usage to now before comparing, and counts running seconds undecayed', () => {
    const policy = { halfLifeMs: H };
    // a's 200 s are one half-life old (100 now); b used 100 just now.
    const f = ownerFactors([owner('a', 1, 200, 0, 0), owner('b', 1, 100, 0, H)], H, policy);
    expect(f.get('a')).toBeCloseTo(0.5, 9);
    expect(f.get('b')).toBeCloseTo(0.5, 9);
    const g = ownerFactors([owner('a', 1, 0, 300), owner('b', 1, 100)], 0, policy);
    expect(g.get('a')).toBeCloseTo(Math.pow(2, -0.75 / 0.5), 12);
  });

  it('refuses a duplicate owner and an invalid share', () => {
    expect(() => ownerFactors([owner('a', 1, 0), owner('a', 1, 0)], 0, DEFAULT_POLICY)).toThrow(/owner "a" appears twice/);
    expect(() => ownerFactors([owner('a', 0, 0)], 0, DEFAULT_POLICY)).toThrow(/share 0; a share must be a positive finite number/);
    expect(() => ownerFactors([owner('a', NaN, 0)], 0, DEFAULT_POLICY)).toThrow(RangeError);
    expect(() => ownerFactors([{ owner: 'a', share: Infinity, usage: NO_USAGE, runningSeconds: 0 }], 0, DEFAULT_POLICY)).toThrow(RangeError);
  });

  it('parseShare accepts positive numbers and explains anything else', () => {
    expect(parseShare('2')).toBe(2);
    expect(parseShare(' 0.5 ')).toBe(0.5);
    expect(parseShare(3)).toBe(3);
    for (const bad of ['0', '-1', 'two', '', 'Infinity']) expect(() => parseShare(bad)).toThrow(UsageError);
    expect(() => parseShare('x')).toThrow('invalid share "x": expected a positive number');
  });

  it('runningSeconds charges max(elapsed, estimate) times the class charge', () => {
    const now = 10 * 60_000;
    const s = runningSeconds(
      [
        { class: 'normal', startedAt: now - 10_000 }, // 10 s elapsed: the 60 s estimate
        { class: 'normal', startedAt: now - 300_000 }, // 300 s
        { class: 'urgent', startedAt: now - 100_000 }, // 100 s × 2
        { class: 'nice', startedAt: now }, // 60 s × 0.5
      ],
      now,
      { estimateSeconds: 60 },
    );
    expect(s).toBeCloseTo(60 + 300 + 200 + 30, 9);
    expect(runningSeconds([], now, DEFAULT_POLICY)).toBe(0);
  });
});

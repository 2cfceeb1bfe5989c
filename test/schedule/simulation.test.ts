import { describe, expect, it } from 'vitest';
import { CLASS_WEIGHT, DEFAULT_POLICY, simulate, type SimJob, type SimResult, type SimUnit } from '../../src/schedule/index.js';

const MIN = 60_000;
const H = 60 * MIN;

/** Counts per owner over every window of `w` consecutive finished units (only while every owner still had units to start). */
function windows(result: SimResult, owners: string[], unitsEach: number, w: number): Array<Record<string, number>> {
  const started: Record<string, number> = {};
  let stop = Infinity;
  for (const u of result.started) {
    started[u.owner] = (started[u.owner] ?? 0) + 1;
    if (started[u.owner] === unitsEach) {
      stop = u.startedAt;
      break;
    }
  }
  const fin = result.finished.filter((u) => u.startedAt < stop);
  const count: Record<string, number> = Object.fromEntries(owners.map((o) => [o, 0]));
  const out: Array<Record<string, number>> = [];
  fin.forEach((u, i) => {
    count[u.owner] = (count[u.owner] as number) + 1;
    if (i >= w) count[(fin[i - w] as SimUnit).owner] = (count[(fin[i - w] as SimUnit).owner] as number) - 1;
    if (i >= w - 1) out.push({ ...count });
  });
  return out;
}

/** A steady stream: a burst of 10 at `from`, then one unit every `every` ms until `to`. */
function stream(owner: string, from: number, to: number, every: number, durationMs = MIN): SimJob[] {
  const jobs: SimJob[] = [{ owner, at: from, units: 10, durationMs }];
  for (let t = from; t < to; t += every) jobs.push({ owner, at: t, durationMs });
  return jobs;
}

describe('fair share in simulation (4 slots, simulated time, the default policy)', () => {
  it('shares 1:1:2, thousands of equal units: every window of 400 finished units is within 5 % of 100:100:200', () => {
    const shares = { a: 1, b: 1, c: 2 };
    const jobs = Object.keys(shares).map((owner) => ({ owner, at: 0, units: 3000, durationMs: MIN }));
    const result = simulate({ slots: 4, jobs, shares, staggerMs: MIN / 4 });
    const ws = windows(result, ['a', 'b', 'c'], 3000, 400);
    expect(ws.length).toBeGreaterThan(5000); // thousands of windows, all of them checked
    for (const w of ws) {
      expect(Math.abs((w.a as number) - 100)).toBeLessThanOrEqual(5);
      expect(Math.abs((w.b as number) - 100)).toBeLessThanOrEqual(5);
      expect(Math.abs((w.c as number) - 200)).toBeLessThanOrEqual(10);
    }
    // Every unit ran, and the workers were never idle while work waited (4 slots × 9,000 min / 4).
    expect(result.finished).toHaveLength(9000);
    expect(result.end).toBeLessThanOrEqual(9000 * MIN / 4 + MIN);
  });

  it('finishing units are charged at their real duration: usage follows the shares too', () => {
    const shares = { a: 1, b: 3 };
    const jobs = [{ owner: 'a', at: 0, units: 2000, durationMs: 30_000 }, { owner: 'b', at: 0, units: 2000, durationMs: 90_000 }];
    const result = simulate({ slots: 4, jobs, shares, until: 10 * H, policy: { halfLifeMs: Infinity } });
    // a's units are 3 times shorter: a gets 3 times as many units for the same seconds; seconds go 1:3.
    const secs = { a: 0, b: 0 };
    for (const u of result.finished) secs[u.owner as 'a' | 'b'] += (u.finishedAt - u.startedAt) / 1000;
    expect(secs.b / secs.a).toBeGreaterThan(2.85);
    expect(secs.b / secs.a).toBeLessThan(3.15);
    expect(result.usage.get('a')?.value).toBeCloseTo(secs.a, 6);
  });

  it('short units (0.3 s) on two slots with shares 3:1 run about 3:1 within the first hundred, not alternating', () => {
    const shares = { alice: 3, bob: 1 };
    const jobs = ['alice', 'bob'].map((owner) => ({ owner, at: 0, units: 100, durationMs: 300 }));
    // Two slots a third of a unit apart: whenever one frees, the other still runs a unit.
    const result = simulate({ slots: 2, jobs, shares, staggerMs: 100 });
    const first = result.finished.slice(0, 100);
    const alice = first.filter((u) => u.owner === 'alice').length;
    // 3:1 is 75 of 100. Charging every running unit the policy's fixed 60 s made the owner of the unit
    // still running look heavy each time the other slot freed, so the owners alternated (50 of 100).
    expect(alice).toBeGreaterThanOrEqual(70);
    expect(alice).toBeLessThanOrEqual(80);
    // The learned unit length is what runs are charged while they run, so later windows hold 3:1 too.
    const later = result.finished.slice(20, 100).filter((u) => u.owner === 'alice').length;
    expect(later).toBeGreaterThanOrEqual(56);
    expect(later).toBeLessThanOrEqual(64);
  });

  it("bumps: a newcomer's single job starts before any of the heavy user's 10,000 queued units", () => {
    const submitted = 30 * MIN + 7_000;
    const jobs = [{ owner: 'heavy', at: 0, units: 10_000, durationMs: MIN }, { owner: 'newcomer', at: submitted, durationMs: MIN }];
    const result = simulate({ slots: 4, jobs, staggerMs: 15_000, until: 2 * H });
    const i = result.started.findIndex((u) => u.owner === 'newcomer');
    expect(i).toBeGreaterThan(0);
    // No heavy unit started between the newcomer's submission and its start, and it waited only for the first free slot.
    expect(result.started.filter((u) => u.owner === 'heavy' && u.startedAt >= submitted && u.startedAt <= (result.started[i] as SimUnit).startedAt)).toEqual([]);
    expect((result.started[i] as SimUnit).startedAt - submitted).toBeLessThanOrEqual(15_000);
    expect(result.started.filter((u) => u.owner === 'heavy' && u.startedAt < submitted).length).toBeLessThan(10_000 - 9_000);
  });

  it("bumps' test_db: me submits jobs 1 and 2, job 1 runs, you submit job 3, and 3 runs before 2", () => {
    const jobs = [{ owner: 'me', at: 0, durationMs: MIN }, { owner: 'me', at: 0, durationMs: MIN }, { owner: 'you', at: 10_000, durationMs: MIN }];
    const result = simulate({ slots: 1, jobs });
    expect(result.started.map((u) => u.job)).toEqual([0, 2, 1]);
  });

  it('a nice job progresses on idle capacity and yields to normal work when some waits', () => {
    const arrives = 10 * MIN + 5_000;
    const jobs = [{ owner: 'a', class: 'nice' as const, at: 0, units: 200, durationMs: MIN }, { owner: 'b', at: arrives, units: 20, durationMs: MIN }];
    const result = simulate({ slots: 4, jobs, staggerMs: 15_000 });
    // Alone, it uses every slot: 40 units in its first 10 minutes (slots come online 15 s apart).
    expect(result.started.filter((u) => u.class === 'nice' && u.startedAt < 10 * MIN).length).toBe(40);
    // From b's arrival, every start goes to b until b's queue is empty; nice units already running are not stopped.
    const after = result.started.filter((u) => u.startedAt >= arrives);
    expect(after.slice(0, 20).every((u) => u.owner === 'b')).toBe(true);
    const lastB = Math.max(...result.started.filter((u) => u.owner === 'b').map((u) => u.startedAt));
    expect(lastB - arrives).toBeLessThanOrEqual(5 * MIN + 15_000); // 20 units on 4 slots
    // Then it resumes and finishes.
    expect(result.finished.filter((u) => u.class === 'nice')).toHaveLength(200);
  });

  it("a nice job yields to its own owner's normal work too", () => {
    const jobs = [{ owner: 'a', class: 'nice' as const, at: 0, units: 50, durationMs: MIN }, { owner: 'a', at: 5 * MIN, units: 8, durationMs: MIN }];
    const result = simulate({ slots: 4, jobs });
    const after = result.started.filter((u) => u.startedAt >= 5 * MIN);
    expect(after.slice(0, 8).map((u) => u.class)).toEqual(Array(8).fill('normal'));
  });

  it('an old nice unit is not starved by a stream of normal ones: it starts after about 9 × ageMs at most', () => {
    // The stream (one unit every 10 s, 60 s each, 4 slots) never lets the normal backlog empty.
    const jobs = [...stream('b', 0, 20 * H, 10_000), { owner: 'b', class: 'nice' as const, at: 0, durationMs: MIN }];
    const result = simulate({ slots: 4, jobs, until: 20 * H });
    const nice = result.started.find((u) => u.class === 'nice') as SimUnit;
    expect(nice).toBeDefined();
    const bound = (CLASS_WEIGHT.normal / CLASS_WEIGHT.nice - 1) * DEFAULT_POLICY.ageMs; // 9 hours
    expect(nice.startedAt).toBeLessThanOrEqual(bound + MIN);
    expect(nice.startedAt).toBeGreaterThanOrEqual(bound - MIN); // and it did yield all that time
    expect(result.started.filter((u) => u.startedAt < nice.startedAt).length).toBeGreaterThan(2000);
  });

  it("a nice unit of another, idle owner waits less: the streaming owner's factor is lower", () => {
    const jobs = [...stream('b', 0, 20 * H, 10_000), { owner: 'a', class: 'nice' as const, at: 0, durationMs: MIN }];
    const result = simulate({ slots: 4, jobs, until: 20 * H });
    const nice = result.started.find((u) => u.class === 'nice') as SimUnit;
    // b has all the usage (factor 2^-2 = 0.25), a none (1): 0.1 × (1 + t/ageMs) passes 0.25 at t = 1.5 ageMs.
    expect(nice.startedAt).toBeGreaterThanOrEqual(1.5 * H - MIN);
    expect(nice.startedAt).toBeLessThanOrEqual(1.5 * H + MIN);
  });

  it('a stream of newcomers does not starve an owner with history: its queue ages until it wins', () => {
    // The old owner has used all 4 slots for 2 hours; then a new owner arrives every minute with 4 units,
    // enough to fill every slot. At most 3 owners are active at a time, so the old owner's factor is at
    // least 2^(-1/S) = 2^-3 with S = 1/3, and its queue wins after at most (2^3 - 1) × ageMs = 7 hours.
    const jobs: SimJob[] = [{ owner: 'old', at: 0, units: 1000, durationMs: MIN }];
    for (let t = 2 * H, i = 0; t < 24 * H; t += MIN, i++) jobs.push({ owner: `new-${i}`, at: t, units: 4, durationMs: MIN });
    const result = simulate({ slots: 4, jobs, until: 24 * H });
    const oldStarts = result.started.filter((u) => u.owner === 'old' && u.startedAt >= 2 * H).map((u) => u.startedAt);
    expect(oldStarts.length).toBeGreaterThanOrEqual(3);
    const gaps = [2 * H, ...oldStarts].slice(1).map((t, i) => t - ([2 * H, ...oldStarts][i] as number));
    expect(Math.max(...gaps)).toBeLessThanOrEqual(7 * H + MIN);
    // Meanwhile every newcomer's first unit started within a minute of its arrival.
    const firstStart = new Map<string, SimUnit>();
    for (const u of result.started) if (u.owner !== 'old' && !firstStart.has(u.owner)) firstStart.set(u.owner, u);
    for (const u of firstStart.values()) expect(u.startedAt - u.queuedAt).toBeLessThanOrEqual(MIN);
  });

  it('urgent goes first and is charged double', () => {
    const jobs = [{ owner: 'a', at: 0, units: 8, durationMs: MIN }, { owner: 'b', class: 'urgent' as const, at: 0, units: 8, durationMs: MIN }];
    const result = simulate({ slots: 4, jobs, policy: { halfLifeMs: Infinity } });
    expect(result.started.slice(0, 8).map((u) => u.owner)).toEqual(Array(8).fill('b'));
    expect(result.usage.get('b')?.value).toBeCloseTo(2 * 8 * 60, 6);
    expect(result.usage.get('a')?.value).toBeCloseTo(8 * 60, 6);
  });
});

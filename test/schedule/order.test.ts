import { describe, expect, it } from 'vitest';
import {
  CLASS_CHARGE,
  CLASS_RANK,
  DEFAULT_POLICY,
  DEFAULT_SHARE,
  NO_USAGE,
  ownerFactors,
  charge,
  ClaimPlanner,
  planClaims,
  PRIORITY_CLASSES,
  resolvePolicy,
  score,
  type ClaimPick,
  type OwnerState,
  type Policy,
  type QueueState,
} from '../../src/schedule/index.js';
import { prng } from './random.js';

const H = 3_600_000;
const NOW = 1_000 * H;
const idle = (name: string, share = 1): OwnerState => ({ owner: name, share, usage: NO_USAGE, runningSeconds: 0 });
const q = (owner: string, cls: QueueState['class'], queued: number, since = NOW): QueueState => ({ owner, class: cls, queued, since });
const count = (picks: ClaimPick[]) => picks.reduce<Record<string, number>>((m, p) => ({ ...m, [p.owner]: (m[p.owner] ?? 0) + 1 }), {});

/** The plain definition: recompute every factor and every score before each pick. */
function reference(queues: QueueState[], owners: OwnerState[], n: number, now: number, policy: Policy): ClaimPick[] {
  const os = owners.map((o) => ({ ...o }));
  for (const x of queues) if (x.queued > 0 && !os.some((o) => o.owner === x.owner)) os.push(idle(x.owner, DEFAULT_SHARE));
  const qs = queues.map((x) => ({ ...x }));
  const picks: ClaimPick[] = [];
  while (picks.length < n) {
    const f = ownerFactors(os, now, policy);
    let best: QueueState | undefined;
    let bestScore = -Infinity;
    for (const x of qs) {
      if (x.queued < 1) continue;
      const s = score(x, f.get(x.owner) as number, now, policy);
      const tie = s === bestScore && best && (x.since !== best.since ? x.since < best.since : x.owner !== best.owner ? x.owner < best.owner : CLASS_RANK[x.class] > CLASS_RANK[best.class]);
      if (!best || s > bestScore || tie) {
        best = x;
        bestScore = s;
      }
    }
    if (!best) break;
    picks.push({ owner: best.owner, class: best.class });
    best.queued--;
    best.since = now;
    const o = os.find((x) => x.owner === (best as QueueState).owner) as OwnerState;
    o.runningSeconds += policy.estimateSeconds * CLASS_CHARGE[best.class];
  }
  return picks;
}

describe('the score of a queue', () => {
  it('is class weight × owner factor × (1 + time in queue / ageMs)', () => {
    const p = { ageMs: H };
    expect(score(q('a', 'normal', 1, NOW), 0.5, NOW, p)).toBe(0.5);
    expect(score(q('a', 'normal', 1, NOW - 2 * H), 0.5, NOW, p)).toBeCloseTo(1.5, 12);
    expect(score(q('a', 'urgent', 1, NOW - H), 0.25, NOW, p)).toBeCloseTo(5, 12);
    expect(score(q('a', 'nice', 1, NOW - 9 * H), 1, NOW, p)).toBeCloseTo(1, 12);
    expect(score(q('a', 'normal', 1, NOW + H), 1, NOW, p)).toBe(1); // a future stamp counts as no wait
  });
});

describe('the default policy', () => {
  it('is documented values, and resolvePolicy checks overrides', () => {
    expect(DEFAULT_POLICY).toEqual({ halfLifeMs: 24 * H, ageMs: H, estimateSeconds: 60 });
    expect(resolvePolicy({ ageMs: 5 })).toEqual({ ...DEFAULT_POLICY, ageMs: 5 });
    expect(resolvePolicy({ ageMs: undefined })).toEqual(DEFAULT_POLICY);
    expect(() => resolvePolicy({ halfLifeMs: 0 })).toThrow(/halfLifeMs must be > 0/);
    expect(() => resolvePolicy({ ageMs: -1 })).toThrow(/ageMs must be > 0/);
    expect(() => resolvePolicy({ estimateSeconds: -1 })).toThrow(/estimateSeconds must be a finite number >= 0/);
  });
});

describe('planClaims', () => {
  it('a batch of 4 picks for idle owners with shares 1:1:2 is 1, 1, 2', () => {
    const owners = [idle('a', 1), idle('b', 1), idle('c', 2)];
    const queues = [q('a', 'normal', 100), q('b', 'normal', 100), q('c', 'normal', 100)];
    expect(count(planClaims(queues, owners, 4, NOW))).toEqual({ a: 1, b: 1, c: 2 });
    expect(count(planClaims(queues, owners, 40, NOW))).toEqual({ a: 10, b: 10, c: 20 });
  });

  it('picks a queue at most `queued` times and stops when all are empty', () => {
    const picks = planClaims([q('a', 'normal', 2), q('b', 'normal', 1), q('c', 'normal', 0)], [idle('a'), idle('b'), idle('c')], 10, NOW);
    expect(count(picks)).toEqual({ a: 2, b: 1 });
    expect(planClaims([], [idle('a')], 5, NOW)).toEqual([]);
    expect(planClaims([q('a', 'normal', 5)], [idle('a')], 0, NOW)).toEqual([]);
    expect(planClaims([q('a', 'normal', 5)], [idle('a')], 2.7, NOW)).toHaveLength(2);
  });

  it('a newcomer goes before an owner who has been using the workers', () => {
    const heavy: OwnerState = { owner: 'heavy', share: 1, usage: { value: 36_000, at: NOW }, runningSeconds: 240 };
    const picks = planClaims([q('heavy', 'normal', 10_000, NOW - 60_000), q('new', 'normal', 1)], [heavy, idle('new')], 2, NOW);
    expect(picks[0]).toEqual({ owner: 'new', class: 'normal' });
  });

  it("for one owner: urgent before normal before nice at equal waits; each pick resets that queue's age", () => {
    const queues = [q('a', 'nice', 5), q('a', 'normal', 5), q('a', 'urgent', 5)];
    expect(planClaims(queues, [idle('a')], 1, NOW)).toEqual([{ owner: 'a', class: 'urgent' }]);
    // urgent is served while its score stays ahead: 10 vs a normal queue that has waited 9 hours (10)
    const aged = [q('a', 'normal', 5, NOW - 9.5 * H), q('a', 'urgent', 5, NOW - 60_000)];
    const picks = planClaims(aged, [idle('a')], 2, NOW);
    expect(picks).toEqual([{ owner: 'a', class: 'normal' }, { owner: 'a', class: 'urgent' }]);
  });

  it('time in queue raises order: between equal owners, the queue passed over longer goes first', () => {
    const queues = [q('a', 'normal', 5, NOW - 10_000), q('b', 'normal', 5, NOW - 20_000), q('c', 'normal', 5, NOW - 5_000)];
    const picks = planClaims(queues, [idle('a'), idle('b'), idle('c')], 3, NOW);
    expect(picks.map((p) => p.owner)).toEqual(['b', 'a', 'c']);
  });

  it('an owner with queued units but missing from `owners` counts with the default share and no usage', () => {
    const busy: OwnerState = { owner: 'busy', share: 1, usage: { value: 1000, at: NOW }, runningSeconds: 0 };
    expect(planClaims([q('busy', 'normal', 3), q('ghost', 'normal', 3)], [busy], 1, NOW)).toEqual([{ owner: 'ghost', class: 'normal' }]);
  });

  it('breaks exact ties the same way whatever the input order', () => {
    const queues = [q('b', 'normal', 3), q('a', 'normal', 3), q('c', 'normal', 3)];
    const owners = [idle('c'), idle('a'), idle('b')];
    const one = planClaims(queues, owners, 9, NOW);
    const two = planClaims([...queues].reverse(), [...owners].reverse(), 9, NOW);
    expect(one).toEqual(two);
    expect(one.slice(0, 3).map((p) => p.owner)).toEqual(['a', 'b', 'c']);
  });

  it('orders owners correctly even where 2^(-U/S) underflows to 0', () => {
    // 3,000 owners with equal shares: an owner with all the usage has U/S = 3,000, factor 2^-3000 = 0 in floating point.
    const owners: OwnerState[] = [];
    for (let i = 0; i < 3000; i++) owners.push({ owner: `o${i}`, share: 1, usage: NO_USAGE, runningSeconds: i === 0 ? 1e6 : i === 1 ? 0.999e6 : 0 });
    expect(ownerFactors(owners, NOW, DEFAULT_POLICY).get('o1')).toBe(0);
    // U/S is 1500.75 for o0 and 1499.25 for o1: o1's factor is 2^1.5 = 2.83 times o0's.
    // 1.5 hours of extra age (×2.5) does not make that up; 3 hours (×4) does.
    expect(planClaims([q('o0', 'normal', 1, NOW - 1.5 * H), q('o1', 'normal', 1, NOW)], owners, 1, NOW)).toEqual([{ owner: 'o1', class: 'normal' }]);
    expect(planClaims([q('o0', 'normal', 1, NOW - 3 * H), q('o1', 'normal', 1, NOW)], owners, 1, NOW)).toEqual([{ owner: 'o0', class: 'normal' }]);
  });

  it('refuses a duplicate owner and an invalid share', () => {
    expect(() => planClaims([q('a', 'normal', 1)], [idle('a'), idle('a')], 1, NOW)).toThrow(/owner "a" appears twice/);
    expect(() => planClaims([q('a', 'normal', 1)], [idle('a', -1)], 1, NOW)).toThrow(/a share must be a positive finite number/);
  });

  it('equals the plain definition (recompute every factor and score before each pick) on random snapshots', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rnd = prng(seed);
      const nOwners = 1 + Math.floor(rnd() * (seed % 4 === 0 ? 300 : 30));
      const owners: OwnerState[] = [];
      const queues: QueueState[] = [];
      const policy = resolvePolicy({ halfLifeMs: (1 + rnd() * 48) * H, ageMs: (0.1 + rnd() * 3) * H, estimateSeconds: rnd() < 0.2 ? 0 : rnd() * 600 });
      const cold = rnd() < 0.25; // nobody has usage yet
      for (let i = 0; i < nOwners; i++) {
        const name = `u${Math.floor(rnd() * 1e6)}-${i}`;
        if (rnd() < 0.9) owners.push({ owner: name, share: 0.5 + rnd() * 4, usage: cold ? NO_USAGE : { value: rnd() * 1e5, at: NOW - rnd() * 24 * H }, runningSeconds: cold ? 0 : rnd() < 0.5 ? rnd() * 3000 : 0 });
        for (const cls of PRIORITY_CLASSES) if (rnd() < 0.6) queues.push(q(name, cls, Math.floor(rnd() * 8), NOW - rnd() * 6 * H));
      }
      const n = 1 + Math.floor(rnd() * 60);
      const got = planClaims(queues, owners, n, NOW, policy);
      expect(got, `seed ${seed}`).toEqual(reference(queues, owners, n, NOW, policy));
    }
  });
});

describe('ClaimPlanner: planClaims prepared once and asked many times', () => {
  it('answers what planClaims would over the states as they are at each call, as time passes and queues and owners change', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const rnd = prng(1000 + seed);
      const policy = resolvePolicy({ halfLifeMs: (0.01 + rnd() * 24) * H, ageMs: (0.01 + rnd() * 2) * H, estimateSeconds: rnd() * 120 });
      const owners: OwnerState[] = [];
      const queues: QueueState[] = [];
      const nOwners = 1 + Math.floor(rnd() * 80);
      for (let i = 0; i < nOwners; i++) {
        const name = `o${Math.floor(rnd() * 1e6)}-${i}`;
        if (rnd() < 0.85) owners.push({ owner: name, share: 0.5 + rnd() * 3, usage: rnd() < 0.3 ? NO_USAGE : { value: rnd() * 1e4, at: NOW - rnd() * 4 * H }, runningSeconds: rnd() < 0.5 ? rnd() * 600 : 0 });
        for (const cls of PRIORITY_CLASSES) if (rnd() < 0.5) queues.push(q(name, cls, Math.floor(rnd() * 6), NOW - rnd() * 2 * H));
      }
      const planner = new ClaimPlanner(queues, owners, NOW, policy);
      let now = NOW;
      for (let call = 0; call < 25; call++) {
        // Time passes (sometimes backwards, a clock set back); some queues are served, some owners charged.
        now += rnd() < 0.25 ? -Math.floor(rnd() * 60_000) : Math.floor(rnd() * 60_000);
        queues.forEach((x, i) => {
          if (rnd() < 0.1) {
            x.queued = Math.max(0, x.queued - 1 - Math.floor(rnd() * 2));
            x.since = now;
            planner.queueChanged(i);
          }
        });
        for (const o of owners) {
          if (rnd() < 0.1) {
            o.usage = charge(o.usage, rnd() * 100, now, policy.halfLifeMs);
            o.runningSeconds = Math.max(0, o.runningSeconds + (rnd() - 0.5) * 200);
            planner.ownerChanged(o);
          }
        }
        const n = 1 + Math.floor(rnd() * 30);
        expect(planner.plan(n, now), `seed ${seed}, call ${call}`).toEqual(planClaims(queues, owners, n, now, policy));
      }
    }
  });

  it('with many owners tied (no usage, queued at the same moment), picks in name order, as the plain definition', () => {
    const names = Array.from({ length: 500 }, (_, i) => `u${String((i * 7919) % 500).padStart(3, '0')}`);
    const queues = names.map((name) => q(name, 'normal', 2, NOW - H));
    const owners = names.slice(0, 300).map((name) => idle(name));
    const picks = planClaims(queues, owners, 40, NOW, DEFAULT_POLICY);
    expect(picks).toEqual(reference(queues, owners, 40, NOW, DEFAULT_POLICY));
    expect(picks.map((p) => p.owner)).toEqual([...names].sort().slice(0, 40));
  });
});

describe('strict ranks (sioworkersd contest_priority)', () => {
  it('the highest rank with work takes every pick it can fill, whatever the shares and usage; a lower rank gets only what is left', () => {
    const owners: OwnerState[] = [
      { ...idle('contest:a', 1), rank: 10, usage: { value: 1e6, at: NOW } },
      { ...idle('contest:b', 1000), rank: 0 },
      { ...idle('contest:c', 1), rank: 10 },
    ];
    const picks = planClaims([q('contest:a', 'normal', 3), q('contest:b', 'urgent', 50), q('contest:c', 'nice', 2)], owners, 8, NOW);
    expect(picks.slice(0, 5).map((p) => p.owner).sort()).toEqual(['contest:a', 'contest:a', 'contest:a', 'contest:c', 'contest:c']);
    // Within rank 10, fair share: c (no usage) before a (heavy usage), though c's queue is nice.
    expect(picks[0]!.owner).toBe('contest:c');
    expect(picks.slice(5).map((p) => p.owner)).toEqual(['contest:b', 'contest:b', 'contest:b']);
  });

  it('without ranks the order is the same as before (one pass)', () => {
    const owners = [idle('a', 1), idle('b', 2)];
    const queues = [q('a', 'normal', 10), q('b', 'normal', 10)];
    expect(planClaims(queues, owners.map((o) => ({ ...o, rank: 0 })), 9, NOW)).toEqual(planClaims(queues, owners, 9, NOW));
  });
});

/**
 * The order in which queued work is claimed.
 *
 * A queue is one owner's units of one priority class. Its score is
 *
 *     score = CLASS_WEIGHT[class] × F(owner) × (1 + (now − since) / ageMs)
 *
 * where F is the owner's fair-share factor (`fairshare.ts`) and `since` is the later of the queue's
 * last claim and its oldest unit's queued time. A queue that keeps being served keeps a small age; a
 * queue that is passed over ages, and its age term grows without bound.
 *
 * Why nothing starves: among queues that are being served, ages stay small; a passed-over queue's
 * score grows linearly with its wait while every served queue's score stays bounded (weight × F ≤ 10
 * times a small age term), so after a finite wait it has the highest score and is claimed. The wait
 * is at most about (r − 1) × ageMs, where r is the ratio of the best competitor's weight × F to its own;
 * e.g. a nice unit behind a stream of normal units of an owner with the same factor: r = 10, about
 * 9 × ageMs (9 hours at the defaults). Meanwhile decay shrinks the usage of an owner who is not
 * served, which raises its F and shortens the wait further.
 *
 * The price of unbounded age: a queue that waited a long time can overtake better-placed owners, and
 * ages differ between served queues by about the interval between their claims, so units much longer
 * than `ageMs / (queues per slot)` let age blur fair share (see docs/fairshare.md).
 */
import { CLASS_WEIGHT, type PriorityClass } from './classes.js';
import { DEFAULTS } from '../environ/config.js';
import type { OwnerState } from './fairshare.js';
import { ClaimPlanner } from './planner.js';

export interface QueueState {
  owner: string;
  class: PriorityClass;
  /** The worker pool of its units (queues of one owner and class in several pools are told apart by it). */
  pool?: string;
  /** Units queued (claimable now). */
  queued: number;
  /** max(the last time a unit of this queue was claimed, the queued time of its oldest unit), ms. */
  since: number;
}

export interface Policy {
  /** Usage half-life, ms. */
  halfLifeMs: number;
  /** The time-in-queue scale, ms: after waiting `ageMs`, a queue's score has doubled. */
  ageMs: number;
  /**
   * Provisional charge per claimed unit, seconds (before the class's charge multiplier), for an owner
   * none of whose units has ended yet; after that, the owner's learned unit length (`learnUnitSeconds`).
   */
  estimateSeconds: number;
}

const HOUR = 3_600_000;

/**
 * Defaults: a one-day half-life (HTCondor's example value; Slurm's default is 7 days, too slow for
 * interactive users), a one-hour age scale (a normal unit passed over for an hour doubles its score;
 * a nice unit runs within about 9 hours even behind a steady stream of normal work), and one minute
 * as the provisional cost of a claimed unit.
 */
export const DEFAULT_POLICY: Readonly<Policy> = Object.freeze({ halfLifeMs: DEFAULTS.halfLifeMs, ageMs: HOUR, estimateSeconds: 60 });

/** `DEFAULT_POLICY` with the given fields replaced, checked: positive half-life and age scale, estimate ≥ 0. */
export function resolvePolicy(overrides: Partial<Policy> = {}): Policy {
  const p: Policy = { ...DEFAULT_POLICY };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) (p as unknown as Record<string, number>)[k] = v;
  if (!(p.halfLifeMs > 0)) throw new RangeError(`halfLifeMs must be > 0 (Infinity = no decay), got ${p.halfLifeMs}`);
  if (!(p.ageMs > 0)) throw new RangeError(`ageMs must be > 0, got ${p.ageMs}`);
  if (!(p.estimateSeconds >= 0) || !Number.isFinite(p.estimateSeconds)) throw new RangeError(`estimateSeconds must be a finite number >= 0, got ${p.estimateSeconds}`);
  return p;
}

/** The score of a queue (higher is claimed first). */
export function score(queue: QueueState, factor: number, now: number, policy: Pick<Policy, 'ageMs'>): number {
  const age = now - queue.since;
  return CLASS_WEIGHT[queue.class] * factor * (age > 0 ? 1 + age / policy.ageMs : 1);
}

/** One pick of `planClaims`: claim the head unit of this owner's queue of this class. */
export interface ClaimPick {
  owner: string;
  class: PriorityClass;
  /** The picked queue's pool, when the queues have one. */
  pool?: string;
}

/**
 * Up to `n` picks, best first. Each queue appears at most `queued` times. After each pick the owner
 * is charged its unit estimate (`OwnerState.estimateSeconds`, else `policy.estimateSeconds`) ×
 * CLASS_CHARGE[class] provisionally (which changes every owner's U,
 * since U is relative to the total) and the queue's `since` becomes `now`, so a batch of picks is
 * itself fair: 4 picks for idle owners with shares 1:1:2 are 1, 1, 2.
 *
 * `owners` should hold every active owner (with queued or running units); an owner that has queued
 * units but is missing from it counts with share `DEFAULT_SHARE` and no usage. Ties (equal scores)
 * go to the older `since`, then the smaller owner name, then the higher class, so the result is a
 * function of the input alone. Throws a RangeError on a duplicate owner or an invalid share.
 *
 * Cost: O(queues + owners) to prepare (one exp per owner with usage, one log per owner with work),
 * then O(owners with work) per pick, fewer after pruning. `ClaimPlanner` (planner.ts) does it, and
 * keeps the preparation for later calls. Owners are compared as logarithms of their best queue's score,
 * `log2(w × (1 + age/ageMs)) − U/S`, which is exact even where `2^(−U/S)` underflows to 0.
 *
 * Owners with a `rank` (sioworkersd's contest_priority) are served strictly by rank: the queues of
 * the highest rank with work first, by the rules above among them, and a lower rank only for the
 * picks they leave (fewer units queued than `n`). Without ranks (all 0) this is one pass.
 */
export function planClaims(
  queues: readonly QueueState[],
  owners: readonly OwnerState[],
  n: number,
  now: number,
  policy: Readonly<Policy> = DEFAULT_POLICY,
): ClaimPick[] {
  const want = Math.floor(n);
  if (!(want > 0) || queues.length === 0) return [];
  if (!owners.some((o) => o.rank)) return new ClaimPlanner(queues, owners, now, policy).plan(want, now);
  const rankOf = new Map(owners.map((o) => [o.owner, o.rank ?? 0]));
  const rank = (q: QueueState) => rankOf.get(q.owner) ?? 0;
  const picks: ClaimPick[] = [];
  for (const r of [...new Set(queues.map(rank))].sort((a, b) => b - a)) {
    if (picks.length >= want) break;
    const mine = queues.filter((q) => rank(q) === r);
    picks.push(...new ClaimPlanner(mine, owners, now, policy).plan(want - picks.length, now));
  }
  return picks;
}

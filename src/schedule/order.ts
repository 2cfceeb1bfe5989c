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
import { CLASS_RANK, CLASS_CHARGE, CLASS_WEIGHT, type PriorityClass } from './classes.js';
import { DEFAULTS } from '../environ/config.js';
import { checkShare, DEFAULT_SHARE, ownerSeconds, type OwnerState } from './fairshare.js';

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

/** CLASS_WEIGHT[c] without a keyed property lookup (the hot loops run it once per queue). */
const W_NICE = CLASS_WEIGHT.nice;
const W_NORMAL = CLASS_WEIGHT.normal;
const W_URGENT = CLASS_WEIGHT.urgent;
function weightOf(c: PriorityClass): number {
  return c === 'normal' ? W_NORMAL : c === 'urgent' ? W_URGENT : c === 'nice' ? W_NICE : NaN;
}

/** The k-th largest of value(x) over xs (1 ≤ k ≤ xs.length), with a min-heap of size k. */
function kthLargest(xs: Int32Array, value: (x: number) => number, k: number): number {
  const heap = new Float64Array(k);
  let size = 0;
  for (let i = 0; i < xs.length; i++) {
    const v = value(xs[i] as number);
    if (size < k) {
      // sift up
      let j = size++;
      while (j > 0) {
        const parent = (j - 1) >> 1;
        if ((heap[parent] as number) <= v) break;
        heap[j] = heap[parent] as number;
        j = parent;
      }
      heap[j] = v;
    } else if (v > (heap[0] as number)) {
      // replace the minimum, sift down
      let j = 0;
      for (;;) {
        const l = 2 * j + 1;
        if (l >= k) break;
        const r = l + 1;
        const c = r < k && (heap[r] as number) < (heap[l] as number) ? r : l;
        if ((heap[c] as number) >= v) break;
        heap[j] = heap[c] as number;
        j = c;
      }
      heap[j] = v;
    }
  }
  return heap[0] as number;
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
 * then O(owners with work) per pick. Owners are compared as logarithms of their best queue's score,
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
  if (!owners.some((o) => o.rank)) return planOneRank(queues, owners, n, now, policy);
  const rankOf = new Map(owners.map((o) => [o.owner, o.rank ?? 0]));
  const rank = (q: QueueState) => rankOf.get(q.owner) ?? 0;
  const picks: ClaimPick[] = [];
  for (const r of [...new Set(queues.map(rank))].sort((a, b) => b - a)) {
    if (picks.length >= Math.floor(n)) break;
    picks.push(...planOneRank(queues.filter((q) => rank(q) === r), owners, Math.floor(n) - picks.length, now, policy));
  }
  return picks;
}

/** `planClaims` among queues whose owners share one rank. */
function planOneRank(
  queues: readonly QueueState[],
  owners: readonly OwnerState[],
  n: number,
  now: number,
  policy: Readonly<Policy>,
): ClaimPick[] {
  const picks: ClaimPick[] = [];
  const want = Math.floor(n);
  if (!(want > 0) || queues.length === 0) return picks;

  // Owners: index, share, seconds used (decayed usage + running).
  const index = new Map<string, number>();
  const shares: number[] = [];
  const used: number[] = [];
  const estimate: number[] = [];
  let shareSum = 0;
  let usedSum = 0;
  for (const o of owners) {
    index.set(o.owner, shares.length);
    if (index.size === shares.length) throw new RangeError(`owner "${o.owner}" appears twice in the owners given to planClaims`);
    checkShare(o);
    const s = ownerSeconds(o, now, policy.halfLifeMs);
    shares.push(o.share);
    used.push(s);
    estimate.push(o.estimateSeconds ?? policy.estimateSeconds);
    shareSum += o.share;
    usedSum += s;
  }

  // Queues with work, linked per owner; lin = weight × (1 + age/ageMs), the score without the owner factor.
  const nq = queues.length;
  const left = new Float64Array(nq);
  const since = new Float64Array(nq);
  const lin = new Float64Array(nq);
  const next = new Int32Array(nq);
  const first: number[] = new Array<number>(shares.length).fill(-1);
  const candidates: number[] = [];
  let queuedTotal = 0;
  let lastName: string | undefined;
  let lastIndex = -1;
  for (let q = 0; q < nq; q++) {
    const qs = queues[q] as QueueState;
    const count = Math.floor(qs.queued);
    if (!(count > 0)) continue;
    let o: number;
    if (qs.owner === lastName) o = lastIndex;
    else {
      const found = index.get(qs.owner);
      if (found === undefined) {
        o = shares.length;
        index.set(qs.owner, o);
        shares.push(DEFAULT_SHARE);
        used.push(0);
        estimate.push(policy.estimateSeconds);
        shareSum += DEFAULT_SHARE;
        first.push(-1);
      } else o = found;
      lastName = qs.owner;
      lastIndex = o;
    }
    if (first[o] === -1) candidates.push(o);
    next[q] = first[o] as number;
    first[o] = q;
    left[q] = count;
    since[q] = qs.since;
    const age = now - qs.since;
    lin[q] = weightOf(qs.class) * (age > 0 ? 1 + age / policy.ageMs : 1);
    queuedTotal += count;
  }
  const want2 = Math.min(want, queuedTotal);
  if (want2 === 0) return picks;

  // Per owner with work: its best queue, key = log2(lin of that queue), and b = used / (share / shareSum),
  // so that U/S = b / usedSum and an owner's log2 score is key − b / usedSum.
  const nc = candidates.length;
  const cand = Int32Array.from(candidates);
  const no = shares.length;
  const bestQ = new Int32Array(no).fill(-1);
  const key = new Float64Array(no);
  const b = new Float64Array(no);
  const invShareFrac = new Float64Array(no);
  const ahead = (q: number, r: number): boolean => {
    // At equal scores: the older since, then the smaller owner name, then the higher class.
    if (since[q] !== since[r]) return (since[q] as number) < (since[r] as number);
    const a = queues[q] as QueueState;
    const c = queues[r] as QueueState;
    if (a.owner !== c.owner) return a.owner < c.owner;
    return CLASS_RANK[a.class] > CLASS_RANK[c.class];
  };
  const rebest = (o: number): void => {
    let best = -1;
    for (let q = first[o] as number; q !== -1; q = next[q] as number) {
      if (!((left[q] as number) > 0)) continue;
      if (best === -1 || (lin[q] as number) > (lin[best] as number) || (lin[q] === lin[best] && ahead(q, best))) best = q;
    }
    bestQ[o] = best;
    if (best !== -1) key[o] = Math.log2(lin[best] as number);
  };
  for (let k = 0; k < nc; k++) {
    const o = cand[k] as number;
    invShareFrac[o] = shareSum / (shares[o] as number);
    b[o] = (used[o] as number) * (invShareFrac[o] as number);
    rebest(o);
  }

  const chargeOf = (o: number, cls: PriorityClass): number => (estimate[o] as number) * CLASS_CHARGE[cls];

  // Pruning. During the batch usedSum only grows, so an owner that is not picked only gains (its value
  // is key − b × inv with inv = 1/usedSum falling), and a picked owner only loses. So an owner's value
  // stays within [lower, upper] = [its value now, key − b × invMin] until it is picked. Before the last
  // pick fewer than `want` distinct owners have been picked; if `want` owners have a lower bound above
  // owner o's upper bound, one of them is still unpicked and ahead of o at every step: o can be dropped.
  const inv0 = usedSum > 0 ? 1 / usedSum : 0;
  let maxEstimate = 0;
  for (let k = 0; k < nc; k++) maxEstimate = Math.max(maxEstimate, estimate[cand[k] as number] as number);
  const maxCharge = maxEstimate * CLASS_CHARGE.urgent;
  const invMin = usedSum + want2 * maxCharge > 0 ? 1 / (usedSum + want2 * maxCharge) : 0;
  let live = cand;
  if (nc > want2) {
    const threshold = kthLargest(cand, (o) => (key[o] as number) - (b[o] as number) * inv0, want2);
    const margin = 1e-9 * (Math.abs(threshold) + 1); // rounding: keep owners within a hair of it
    const kept: number[] = [];
    for (let k = 0; k < nc; k++) {
      const o = cand[k] as number;
      if ((key[o] as number) - (b[o] as number) * invMin >= threshold - margin) kept.push(o);
    }
    live = Int32Array.from(kept);
  }
  const nl = live.length;

  while (picks.length < want2) {
    const inv = usedSum > 0 ? 1 / usedSum : 0;
    let bo = -1;
    let bv = -Infinity;
    for (let k = 0; k < nl; k++) {
      const o = live[k] as number;
      const q = bestQ[o] as number;
      if (q < 0) continue;
      const v = (key[o] as number) - (b[o] as number) * inv;
      if (bo === -1 || v > bv || (v === bv && ahead(q, bestQ[bo] as number))) {
        bv = v;
        bo = o;
      }
    }
    if (bo === -1) break;
    const q = bestQ[bo] as number;
    const qs = queues[q] as QueueState;
    picks.push(qs.pool === undefined ? { owner: qs.owner, class: qs.class } : { owner: qs.owner, class: qs.class, pool: qs.pool });
    left[q] = (left[q] as number) - 1;
    since[q] = now;
    lin[q] = weightOf(qs.class);
    const c = chargeOf(bo, qs.class);
    usedSum += c;
    b[bo] = (b[bo] as number) + c * (invShareFrac[bo] as number);
    rebest(bo);
  }
  return picks;
}

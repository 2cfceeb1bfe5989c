/**
 * `planClaims` prepared once and asked many times: what a worker's view of the queues needs, since
 * it plans every claim cycle (many times a second) over a snapshot it reads far less often.
 *
 * Preparing (once per snapshot) does the work that does not depend on the time of the call: owners
 * indexed by name, queues linked per owner, each owner's usage decayed to the preparation time. A call then costs a few arithmetic operations per
 * queue and per owner (no map, no allocation, one logarithm per owner with work) before the picks;
 * decay between the preparation and the call is one factor shared by every owner. Changes between
 * calls (a queue served, an owner charged) are told with `queueChanged` / `ownerChanged`.
 *
 * `plan(n, now)` answers what `planClaims(queues, owners, n, now)` would over the queue and owner
 * states as they are then (`order.ts` has the rules; `test/schedule/order.test.ts` checks both
 * against the plain definition).
 */
import { CLASS_CHARGE, CLASS_RANK, CLASS_WEIGHT, type PriorityClass } from './classes.js';
import { checkShare, DEFAULT_SHARE, type OwnerState } from './fairshare.js';
import type { ClaimPick, Policy, QueueState } from './order.js';

const W_NICE = CLASS_WEIGHT.nice;
const W_NORMAL = CLASS_WEIGHT.normal;
const W_URGENT = CLASS_WEIGHT.urgent;
function weightOf(c: PriorityClass): number {
  return c === 'normal' ? W_NORMAL : c === 'urgent' ? W_URGENT : c === 'nice' ? W_NICE : NaN;
}

export class ClaimPlanner {
  private readonly t0: number;
  private readonly halfLifeMs: number;
  private readonly ageMs: number;
  private readonly defaultEstimate: number;
  // --- owners: index o
  private readonly index = new Map<string, number>();
  private readonly states: Array<OwnerState | undefined> = [];
  private readonly share: Float64Array;
  /** usage as of t0: value × 0.5^((t0 − at)/h), so that at a later time it is usageT0 × one shared factor */
  private readonly usageT0: Float64Array;
  /** the latest `usage.at` of any owner: before it, the shared factor does not apply (a clock that went back) */
  private latestAt = -Infinity;
  private readonly running: Float64Array;
  private readonly estimate: Float64Array;
  private readonly names: string[];
  /** the owners given (the first `listed` indexes; the rest are known only from their queues) and their shares' sum */
  private readonly listed: number;
  private readonly listedShareSum: number;
  // --- queues: index q
  private readonly queues: readonly QueueState[];
  private readonly qOwner: Int32Array;
  private readonly weight: Float64Array;
  private readonly classRank: Int8Array;
  private readonly queued: Float64Array;
  private readonly sinceOf: Float64Array;
  private readonly first: Int32Array;
  private readonly next: Int32Array;
  /** owners with at least one queue */
  private readonly candidates: Int32Array;
  // --- per call (scratch, reused)
  private readonly left: Float64Array;
  private readonly since: Float64Array;
  private readonly lin: Float64Array;
  private readonly used: Float64Array;
  private readonly b: Float64Array;
  private readonly key: Float64Array;
  private readonly bestQ: Int32Array;
  private readonly invShareFrac: Float64Array;
  private readonly heap: Int32Array;
  private readonly live: Int32Array;

  constructor(queues: readonly QueueState[], owners: readonly OwnerState[], now: number, policy: Readonly<Policy>) {
    this.t0 = now;
    this.halfLifeMs = policy.halfLifeMs;
    this.ageMs = policy.ageMs;
    this.defaultEstimate = policy.estimateSeconds;
    this.queues = queues;
    for (const o of owners) {
      this.index.set(o.owner, this.states.length);
      if (this.index.size === this.states.length) throw new RangeError(`owner "${o.owner}" appears twice in the owners given to planClaims`);
      checkShare(o);
      this.states.push(o);
    }
    // Owners with queued units but no state count with the default share and no usage.
    let last: string | undefined;
    for (const q of queues) {
      if (q.owner === last) continue;
      last = q.owner;
      if (!this.index.has(q.owner)) {
        this.index.set(q.owner, this.states.length);
        this.states.push(undefined);
      }
    }
    const no = this.states.length;
    this.share = new Float64Array(no);
    this.usageT0 = new Float64Array(no);
    this.running = new Float64Array(no);
    this.estimate = new Float64Array(no);
    let shareSum = 0;
    for (let o = 0; o < no; o++) {
      const s = this.states[o];
      this.share[o] = s ? s.share : DEFAULT_SHARE;
      if (s) shareSum += s.share;
      this.readOwner(o);
    }
    this.listed = owners.length;
    this.listedShareSum = shareSum;
    this.names = [...this.index.keys()];

    const nq = queues.length;
    this.qOwner = new Int32Array(nq);
    this.weight = new Float64Array(nq);
    this.classRank = new Int8Array(nq);
    this.queued = new Float64Array(nq);
    this.sinceOf = new Float64Array(nq);
    this.next = new Int32Array(nq);
    this.first = new Int32Array(no).fill(-1);
    const candidates: number[] = [];
    let lastName: string | undefined;
    let o = -1;
    for (let q = 0; q < nq; q++) {
      const qs = queues[q] as QueueState;
      if (qs.owner !== lastName) {
        o = this.index.get(qs.owner) as number;
        lastName = qs.owner;
      }
      this.qOwner[q] = o;
      this.weight[q] = weightOf(qs.class);
      this.classRank[q] = CLASS_RANK[qs.class];
      if (this.first[o] === -1) candidates.push(o);
      this.next[q] = this.first[o] as number;
      this.first[o] = q;
      this.queued[q] = Math.floor(qs.queued);
      this.sinceOf[q] = qs.since;
    }
    this.candidates = Int32Array.from(candidates);
    this.left = new Float64Array(nq);
    this.since = new Float64Array(nq);
    this.lin = new Float64Array(nq);
    this.used = new Float64Array(no);
    this.b = new Float64Array(no);
    this.key = new Float64Array(no);
    this.bestQ = new Int32Array(no);
    this.invShareFrac = new Float64Array(no);
    this.heap = new Int32Array(no);
    this.live = new Int32Array(no);
  }

  /** The queue of index q (in the order given at preparation; `pick` answers indexes) changed: `queued`, `since`. */
  queueChanged(q: number): void {
    const queue = this.queues[q] as QueueState;
    this.queued[q] = Math.floor(queue.queued);
    this.sinceOf[q] = queue.since;
  }

  /** The queue of index q, as given at preparation. */
  queue(q: number): QueueState {
    return this.queues[q] as QueueState;
  }

  /** An owner given at preparation changed (`usage`, `runningSeconds`, `estimateSeconds`; not its share). */
  ownerChanged(owner: OwnerState): void {
    const o = this.index.get(owner.owner);
    if (o !== undefined && this.states[o] === owner) this.readOwner(o);
  }

  /** Up to `n` picks, best first, as `planClaims` over the states as they are now. */
  plan(n: number, now: number): ClaimPick[] {
    return this.pick(n, now).map((q) => {
      const qs = this.queues[q] as QueueState;
      return qs.pool === undefined ? { owner: qs.owner, class: qs.class } : { owner: qs.owner, class: qs.class, pool: qs.pool };
    });
  }

  /** The indexes of the queues `plan` picks, in order (a queue picked k times appears k times). */
  pick(n: number, now: number): number[] {
    const picks: number[] = [];
    const want = Math.floor(n);
    if (!(want > 0) || this.queues.length === 0) return picks;
    const { left, since, lin, used, b, key, bestQ, invShareFrac, queues, ageMs } = this;

    // Usage as of now: one shared decay factor since t0 (exact per owner where the clock went back).
    const shared = now >= this.t0 && now >= this.latestAt;
    const factor = shared ? decay(now - this.t0, this.halfLifeMs) : 1;
    let usedSum = 0;
    for (let o = 0; o < used.length; o++) {
      let s: number;
      if (shared) s = (this.usageT0[o] as number) * factor + (this.running[o] as number);
      else {
        const st = this.states[o];
        s = st ? (st.usage.value === 0 ? 0 : st.usage.value * decay(now - st.usage.at, this.halfLifeMs)) + st.runningSeconds : 0;
      }
      if (!(s > 0)) s = 0;
      used[o] = s;
      usedSum += s;
    }

    // Queues with work: lin = weight × (1 + age/ageMs), the score without the owner factor.
    let queuedTotal = 0;
    for (let q = 0; q < queues.length; q++) {
      const count = this.queued[q] as number;
      left[q] = count > 0 ? count : 0;
      if (!(count > 0)) continue;
      const s = this.sinceOf[q] as number;
      since[q] = s;
      const age = now - s;
      lin[q] = (this.weight[q] as number) * (age > 0 ? 1 + age / ageMs : 1);
      queuedTotal += count;
    }
    const want2 = Math.min(want, queuedTotal);
    if (want2 === 0) return picks;

    // Per owner with work: its best queue, key = log2(lin of it), b = used / (share / shareSum), so
    // that the owner's log2 score is key − b / usedSum.
    // An owner known only from its queues counts in the shares while it has work.
    const cand = this.candidates;
    let nc = 0;
    let maxEstimate = 0;
    let shareSum = this.listedShareSum;
    for (let k = 0; k < cand.length; k++) {
      const o = cand[k] as number;
      this.rebest(o);
      if ((bestQ[o] as number) < 0) continue;
      if (o >= this.listed) shareSum += DEFAULT_SHARE;
      maxEstimate = Math.max(maxEstimate, this.estimate[o] as number);
      this.live[nc++] = o;
    }
    for (let k = 0; k < nc; k++) {
      const o = this.live[k] as number;
      invShareFrac[o] = shareSum / (this.share[o] as number);
      b[o] = (used[o] as number) * (invShareFrac[o] as number);
    }

    // Pruning. During the batch usedSum only grows, so an owner that is not picked only gains (its
    // value is key − b × inv with inv = 1/usedSum falling), and a picked owner only loses. So an
    // owner's value stays within [lower, upper] = [its value now, key − b × invMin] until it is
    // picked. Before the last pick fewer than `want` distinct owners have been picked; if `want`
    // owners are surely ahead of owner o, one of them is still unpicked and ahead of o at every step:
    // o can be dropped. Surely ahead: a lower bound above o's upper bound; or, for an owner with no
    // usage (its value is its key, exactly, throughout), the same value and ahead in the tie order.
    const inv0 = usedSum > 0 ? 1 / usedSum : 0;
    const maxCharge = maxEstimate * CLASS_CHARGE.urgent;
    const invMin = usedSum + want2 * maxCharge > 0 ? 1 / (usedSum + want2 * maxCharge) : 0;
    let nl = nc;
    if (nc > want2) {
      const kth = this.kthBest(nc, want2, inv0);
      const threshold = (key[kth] as number) - (b[kth] as number) * inv0;
      const margin = 1e-9 * (Math.abs(threshold) + 1); // rounding: keep owners within a hair of it
      let kept = 0;
      for (let k = 0; k < nc; k++) {
        const o = this.live[k] as number;
        let keep: boolean;
        if (b[o] === 0) {
          const v = key[o] as number;
          keep = v > threshold || (v === threshold && !this.better(kth, o, inv0));
        } else keep = (key[o] as number) - (b[o] as number) * invMin >= threshold - margin;
        if (keep) this.live[kept++] = o;
      }
      nl = kept;
    }

    while (picks.length < want2) {
      const inv = usedSum > 0 ? 1 / usedSum : 0;
      let bo = -1;
      let bv = -Infinity;
      for (let k = 0; k < nl; k++) {
        const o = this.live[k] as number;
        const q = bestQ[o] as number;
        if (q < 0) continue;
        const v = (key[o] as number) - (b[o] as number) * inv;
        if (bo === -1 || v > bv || (v === bv && this.ahead(q, bestQ[bo] as number))) {
          bv = v;
          bo = o;
        }
      }
      if (bo === -1) break;
      const q = bestQ[bo] as number;
      const qs = queues[q] as QueueState;
      picks.push(q);
      left[q] = (left[q] as number) - 1;
      since[q] = now;
      lin[q] = this.weight[q] as number;
      const c = (this.estimate[bo] as number) * CLASS_CHARGE[qs.class];
      usedSum += c;
      b[bo] = (b[bo] as number) + c * (invShareFrac[bo] as number);
      this.rebest(bo);
    }
    return picks;
  }

  private readOwner(o: number): void {
    const s = this.states[o];
    if (!s) {
      this.usageT0[o] = 0;
      this.running[o] = 0;
      this.estimate[o] = this.defaultEstimate;
      return;
    }
    const { value, at } = s.usage;
    // Decayed to t0, or, for a charge stamped after t0, grown back to t0 (valid from `at` on).
    this.usageT0[o] = value === 0 ? 0 : at <= this.t0 ? value * decay(this.t0 - at, this.halfLifeMs) : value / decay(at - this.t0, this.halfLifeMs);
    if (value !== 0 && at > this.latestAt) this.latestAt = at;
    this.running[o] = s.runningSeconds;
    this.estimate[o] = s.estimateSeconds ?? this.defaultEstimate;
  }

  /** The owner's best queue with work (`bestQ`, −1 if none) and its key. */
  private rebest(o: number): void {
    const { left, lin } = this;
    let best = -1;
    for (let q = this.first[o] as number; q !== -1; q = this.next[q] as number) {
      if (!((left[q] as number) > 0)) continue;
      if (best === -1 || (lin[q] as number) > (lin[best] as number) || (lin[q] === lin[best] && this.ahead(q, best))) best = q;
    }
    this.bestQ[o] = best;
    if (best !== -1) this.key[o] = Math.log2(lin[best] as number);
  }

  /** At equal scores: the older since, then the smaller owner name, then the higher class. */
  private ahead(q: number, r: number): boolean {
    const sq = this.since[q] as number;
    const sr = this.since[r] as number;
    if (sq !== sr) return sq < sr;
    const oq = this.qOwner[q] as number;
    const or = this.qOwner[r] as number;
    if (oq !== or) return (this.names[oq] as string) < (this.names[or] as string);
    return (this.classRank[q] as number) > (this.classRank[r] as number);
  }

  /** Whether owner x comes before owner y now: a higher value, or the same and ahead in the tie order. */
  private better(x: number, y: number, inv: number): boolean {
    const vx = (this.key[x] as number) - (this.b[x] as number) * inv;
    const vy = (this.key[y] as number) - (this.b[y] as number) * inv;
    return vx > vy || (vx === vy && this.ahead(this.bestQ[x] as number, this.bestQ[y] as number));
  }

  /** The k-th best of the first n live owners (1 ≤ k ≤ n), with a heap of the best k, worst on top. */
  private kthBest(n: number, k: number, inv: number): number {
    const heap = this.heap;
    let size = 0;
    for (let i = 0; i < n; i++) {
      const o = this.live[i] as number;
      if (size < k) {
        let j = size++;
        while (j > 0) {
          const parent = (j - 1) >> 1;
          if (!this.better(heap[parent] as number, o, inv)) break;
          heap[j] = heap[parent] as number;
          j = parent;
        }
        heap[j] = o;
      } else if (this.better(o, heap[0] as number, inv)) {
        let j = 0;
        for (;;) {
          const l = 2 * j + 1;
          if (l >= k) break;
          const r = l + 1;
          const c = r < k && this.better(heap[l] as number, heap[r] as number, inv) ? r : l;
          if (!this.better(o, heap[c] as number, inv)) break;
          heap[j] = heap[c] as number;
          j = c;
        }
        heap[j] = o;
      }
    }
    return heap[0] as number;
  }
}

/** 0.5^(elapsed / halfLife); 1 for an interval that is not positive (as `decayFactor`, unchecked). */
function decay(elapsedMs: number, halfLifeMs: number): number {
  return elapsedMs > 0 ? Math.exp((-Math.LN2 * elapsedMs) / halfLifeMs) : 1;
}

import type { ClaimedUnit, ClaimRequest, QueueSnapshot } from '../store/index.js';
import { DEFAULT_POOL } from '../store/index.js';
import { charge, ClaimPlanner, planClaims, runningSeconds, type OwnerState, type Policy, type QueueState } from '../schedule/index.js';

/** The planner's view of the owners: stored usage plus the provisional charge of their running units. */
export function ownerStates(snapshot: QueueSnapshot, now: number, policy: Policy): OwnerState[] {
  const running = new Map<string, Array<{ class: QueueState['class']; startedAt: number }>>();
  for (const r of snapshot.running) {
    let list = running.get(r.owner);
    if (!list) running.set(r.owner, (list = []));
    list.push({ class: r.class, startedAt: r.started_at });
  }
  return snapshot.owners.map((o) => {
    // An owner whose units have ended is charged what its units typically take, not the policy's guess.
    const estimateSeconds = o.unit_seconds ?? policy.estimateSeconds;
    return {
      owner: o.owner,
      share: o.share,
      rank: o.rank,
      usage: { value: o.usage, at: o.usage_at },
      runningSeconds: runningSeconds(running.get(o.owner) ?? [], now, { estimateSeconds }),
      estimateSeconds,
    };
  });
}

type SnapQueue = QueueSnapshot['queues'][number];

/** A view is read again after this long (a change in the store, or no unit claimed, drops it sooner)... */
export const SNAPSHOT_MS = 50;
/** ...or, where reading it and preparing the planner took longer than SNAPSHOT_MS / this, after this many times that. */
const SNAPSHOT_COST_FACTOR = 10;

/**
 * Whether a view read at `readAt`, whose reading took `costMs`, is due to be read again. With many
 * owners a snapshot takes milliseconds to read and prepare (about 25 ms at 10,000 owners): read
 * every 50 ms, it would take half the worker's time; so a view is kept ten times as long as it took.
 */
export function viewExpired(readAt: number, costMs: number, now: number): boolean {
  return now - readAt > Math.max(SNAPSHOT_MS, SNAPSHOT_COST_FACTOR * costMs);
}

/**
 * The planner's view of one snapshot, built once per snapshot read (not per claim): the queues
 * split by exclusivity, the owners' fair-share state, indexes by name. Between reads it is kept
 * roughly true by `noteClaimed`.
 *
 * Exclusive units (cpu-exec) go only to workers that may run them, and run alone there. While one
 * waits, such a worker claims nothing else: it drains, then takes the exclusive unit (as sioworkersd
 * blocks a CPU-capable worker for a waiting real-CPU task), so a stream of ordinary work cannot
 * keep exclusive units waiting forever.
 */
export class PlannerView {
  private readonly ordinary: SnapQueue[];
  private readonly exclusive: SnapQueue[];
  private readonly owners: OwnerState[];
  private readonly byOwner: Map<string, OwnerState>;
  private readonly preparedAt: number;
  /** the ordinary queues' planner, prepared at the first plan (for the owner a private pool's worker serves) */
  private planner: { owner: string | undefined; planner: ClaimPlanner } | undefined;
  /** the queues the last plan picked, by key, with their index in the planner (none for exclusive ones) */
  private picked = new Map<string, { queue: SnapQueue; index: number | undefined }>();

  constructor(snapshot: QueueSnapshot, now: number, private readonly policy: Policy) {
    this.ordinary = snapshot.queues.filter((q) => !q.exclusive);
    this.exclusive = snapshot.queues.filter((q) => q.exclusive);
    this.owners = ownerStates(snapshot, now, policy);
    this.byOwner = new Map(this.owners.map((o) => [o.owner, o]));
    this.preparedAt = now;
  }

  /** `worker.owner`: a private pool's worker, which takes only that owner's units (and waits for no one else's). */
  plan(slots: number, now: number, worker: { exclusiveCapable: boolean; idle: boolean; owner?: string }): ClaimRequest['picks'] {
    this.picked = new Map();
    if (slots <= 0) return [];
    const mine = (queues: SnapQueue[]) => (worker.owner === undefined ? queues : queues.filter((q) => q.owner === worker.owner));
    if (worker.exclusiveCapable && this.exclusive.some((q) => q.queued > 0 && (worker.owner === undefined || q.owner === worker.owner))) {
      if (!worker.idle) return [];
      const exclusive = mine(this.exclusive);
      const picks = planClaims(exclusive, this.owners, 1, now, this.policy);
      for (const p of picks) {
        const queue = exclusive.find((q) => q.owner === p.owner && q.class === p.class && q.pool === (p.pool ?? DEFAULT_POOL));
        if (queue) this.picked.set(queueKey(queue.pool, queue.owner, queue.class, true), { queue, index: undefined });
      }
      return group(picks, true);
    }
    if (this.owners.some((o) => o.rank)) {
      // Strict ranks (sioworkersd's contest_priority) are planClaims' own: a pass per rank, rare enough not to keep.
      const ordinary = mine(this.ordinary);
      const picks = planClaims(ordinary, this.owners, slots, now, this.policy);
      for (const p of picks) {
        const queue = ordinary.find((q) => q.owner === p.owner && q.class === p.class && q.pool === (p.pool ?? DEFAULT_POOL));
        if (queue) this.picked.set(queueKey(queue.pool, queue.owner, queue.class, false), { queue, index: undefined });
      }
      return group(picks, false);
    }
    if (!this.planner || this.planner.owner !== worker.owner) {
      this.planner = { owner: worker.owner, planner: new ClaimPlanner(mine(this.ordinary), this.owners, this.preparedAt, this.policy) };
    }
    const planner = this.planner.planner;
    const picks: Array<{ owner: string; class: QueueState['class']; pool: string }> = [];
    for (const index of planner.pick(slots, now)) {
      const queue = planner.queue(index) as SnapQueue;
      picks.push({ owner: queue.owner, class: queue.class, pool: queue.pool });
      this.picked.set(queueKey(queue.pool, queue.owner, queue.class, false), { queue, index });
    }
    return group(picks, false);
  }

  /**
   * Units that finished and are about to be recorded still run in the snapshot: their owners are
   * charged what they really used instead of the provisional charge. Without this, each time a slot
   * frees, the owner of the unit that just finished looks busier than it is.
   */
  noteFinished(units: Array<{ owner: string; class: QueueState['class']; startedAt: number; charge: number }>, now: number): void {
    for (const u of units) {
      const owner = this.byOwner.get(u.owner);
      if (!owner) continue;
      const provisional = runningSeconds([{ class: u.class, startedAt: u.startedAt }], now, { estimateSeconds: owner.estimateSeconds ?? this.policy.estimateSeconds });
      owner.runningSeconds = Math.max(0, owner.runningSeconds - provisional);
      owner.usage = charge(owner.usage, u.charge, now, this.policy.halfLifeMs);
      this.planner?.planner.ownerChanged(owner);
    }
  }

  /** The last plan's queues shrink (and empty ones go), their owners are charged provisionally for the new units. */
  noteClaimed(request: ClaimRequest, claimed: ClaimedUnit[], now: number): void {
    const got = new Map<string, number>();
    for (const u of claimed) {
      const key = queueKey(u.pool, u.account, u.class, u.exclusive);
      got.set(key, (got.get(key) ?? 0) + 1);
      const owner = this.byOwner.get(u.account);
      if (!owner) continue;
      owner.runningSeconds += runningSeconds([{ class: u.class, startedAt: now }], now, { estimateSeconds: owner.estimateSeconds ?? this.policy.estimateSeconds });
      this.planner?.planner.ownerChanged(owner);
    }
    for (const pick of request.picks) {
      const key = queueKey(pick.pool, pick.owner, pick.class, pick.exclusive);
      const found = this.picked.get(key);
      if (!found) continue;
      const { queue, index } = found;
      const n = got.get(key) ?? 0;
      queue.queued = n < pick.count ? 0 : Math.max(0, queue.queued - n);
      if (n) queue.since = now;
      if (index !== undefined) this.planner?.planner.queueChanged(index);
    }
  }
}

function queueKey(pool: string, owner: string, cls: string, exclusive: boolean): string {
  return `${pool}\u0000${owner}\u0000${cls}\u0000${exclusive ? 1 : 0}`;
}

/** Consecutive picks of one queue become one pick with a count (one claim statement). */
function group(picks: Array<{ owner: string; class: QueueState['class']; pool?: string }>, exclusive: boolean): ClaimRequest['picks'] {
  const out: ClaimRequest['picks'] = [];
  for (const p of picks) {
    const pool = p.pool ?? DEFAULT_POOL;
    const last = out.at(-1);
    if (last && last.owner === p.owner && last.class === p.class && last.pool === pool) last.count += 1;
    else out.push({ pool, owner: p.owner, class: p.class, exclusive, count: 1 });
  }
  return out;
}

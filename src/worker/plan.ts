import type { ClaimRequest, QueueSnapshot } from '../store/index.js';
import { planClaims, runningSeconds, type OwnerState, type Policy, type QueueState } from '../schedule/index.js';

/** The planner's view of the owners: stored usage plus the provisional charge of their running units. */
export function ownerStates(snapshot: QueueSnapshot, now: number, policy: Policy): OwnerState[] {
  const running = new Map<string, Array<{ class: QueueState['class']; startedAt: number }>>();
  for (const r of snapshot.running) {
    let list = running.get(r.owner);
    if (!list) running.set(r.owner, (list = []));
    list.push({ class: r.class, startedAt: r.started_at });
  }
  return snapshot.owners.map((o) => ({
    owner: o.owner,
    share: o.share,
    usage: { value: o.usage, at: o.usage_at },
    runningSeconds: runningSeconds(running.get(o.owner) ?? [], now, policy),
  }));
}

/**
 * Turns the store's queue snapshot into claim picks with the fair-share planner (schedule/).
 * Exclusive units (cpu-exec) go only to workers that may run them, and run alone there. While one
 * waits, such a worker claims nothing else: it drains, then takes the exclusive unit (as sioworkersd
 * blocks a CPU-capable worker for a waiting real-CPU task), so a stream of ordinary work cannot
 * keep exclusive units waiting forever.
 */
export function planPicks(snapshot: QueueSnapshot, slots: number, now: number, exclusive: { capable: boolean; idle: boolean }, policy: Policy): ClaimRequest['picks'] {
  if (slots <= 0) return [];
  const owners = ownerStates(snapshot, now, policy);
  const pick = (exclusive: boolean, n: number) => {
    const queues: QueueState[] = snapshot.queues
      .filter((q) => q.exclusive === exclusive)
      .map((q) => ({ owner: q.owner, class: q.class, queued: q.queued, since: q.since }));
    if (!queues.length) return [];
    return group(planClaims(queues, owners, n, now, policy), exclusive);
  };
  if (exclusive.capable && snapshot.queues.some((q) => q.exclusive && q.queued > 0)) {
    return exclusive.idle ? pick(true, 1) : [];
  }
  return pick(false, slots);
}

/** Consecutive picks of one queue become one pick with a count (one claim statement). */
function group(picks: Array<{ owner: string; class: QueueState['class'] }>, exclusive: boolean): ClaimRequest['picks'] {
  const out: ClaimRequest['picks'] = [];
  for (const p of picks) {
    const last = out.at(-1);
    if (last && last.owner === p.owner && last.class === p.class) last.count += 1;
    else out.push({ owner: p.owner, class: p.class, exclusive, count: 1 });
  }
  return out;
}

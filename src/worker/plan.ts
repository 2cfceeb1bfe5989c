import type { ClaimRequest, QueueSnapshot } from '../store/index.js';
import { planClaims, type OwnerState, type Policy, type QueueState } from '../schedule/index.js';

/**
 * Turns the store's queue snapshot into claim picks with the fair-share planner (schedule/).
 * An empty worker that may run exclusive work takes one exclusive unit first if any waits (as
 * sioworkersd gives real-CPU tasks the empty CPU-capable workers); exclusive units go nowhere else.
 */
export function planPicks(snapshot: QueueSnapshot, slots: number, now: number, exclusiveFree: boolean, policy: Policy): ClaimRequest['picks'] {
  if (slots <= 0) return [];
  const owners: OwnerState[] = snapshot.owners.map((o) => ({
    owner: o.owner,
    share: o.share,
    usage: { value: o.usage, at: o.usage_at },
    runningSeconds: Math.max(o.running_ms / 1000, o.running * policy.estimateSeconds),
  }));
  const pick = (exclusive: boolean, n: number) => {
    const queues: QueueState[] = snapshot.queues
      .filter((q) => q.exclusive === exclusive)
      .map((q) => ({ owner: q.owner, class: q.class, queued: q.queued, since: q.since }));
    if (!queues.length) return [];
    return group(planClaims(queues, owners, n, now, policy), exclusive);
  };
  if (exclusiveFree) {
    const exclusive = pick(true, 1);
    if (exclusive.length) return exclusive;
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

import { formatLocalTime } from '../environ/index.js';
import type { NodeInfo, QueueSnapshot, Store } from '../store/index.js';
import { TERMINAL } from '../store/index.js';
import { CLASS_WEIGHT, decayed, ownerFactors, score, whyImpossible, type Policy } from '../schedule/index.js';
import { ownerStates } from '../worker/plan.js';
import type { FairshareRow } from './types.js';

/** Fair-share state as people read it: each owner's share, decayed usage, factor, running and queued units. */
/** The pools with queued or running units, by name. */
export function activePools(snapshot: QueueSnapshot): string[] {
  return [...new Set([...snapshot.queues.map((q) => q.pool), ...snapshot.running.map((r) => r.pool)])].sort();
}

/** One pool's snapshot as fair-share rows (the pool is the caller's to add). */
export function fairshareRows(snapshot: QueueSnapshot, now: number, policy: Policy): Array<Omit<FairshareRow, 'pool'>> {
  const states = ownerStates(snapshot, now, policy);
  const factors = ownerFactors(states, now, policy);
  const queued = new Map<string, number>();
  for (const q of snapshot.queues) queued.set(q.owner, (queued.get(q.owner) ?? 0) + q.queued);
  // Each owner's best queue: what the claim order takes first of theirs, and why (schedule/order.ts's score).
  const next = new Map<string, NonNullable<FairshareRow['next']>>();
  for (const q of snapshot.queues) {
    if (q.queued <= 0) continue;
    const s = score(q, factors.get(q.owner) ?? 1, now, policy);
    if ((next.get(q.owner)?.score ?? -1) >= s) continue;
    const age = now - q.since;
    next.set(q.owner, { pool: q.pool, class: q.class, waited_ms: Math.max(0, age), score: s, weight: CLASS_WEIGHT[q.class], age_bonus: age > 0 ? 1 + age / policy.ageMs : 1 });
  }
  return states
    .map((o, i) => ({
      owner: o.owner,
      share: o.share,
      usage: decayed(o.usage, now, policy.halfLifeMs) + o.runningSeconds,
      factor: factors.get(o.owner) ?? 1,
      running: snapshot.owners[i]!.running,
      queued: queued.get(o.owner) ?? 0,
      rank: o.rank ?? 0,
      next: next.get(o.owner) ?? null,
    }))
    // As the planner serves them: by rank, then by factor.
    .sort((a, b) => b.rank - a.rank || b.factor - a.factor || a.owner.localeCompare(b.owner));
}

/**
 * Why each queued job waits, in one line: a reason the store noted, a need no live worker can meet
 * (said at once, from the workers alive now), a start time in the future (a delay or a retry's
 * backoff), no live worker, or the units ranked ahead of its queue by the fair-share order.
 */
export async function waitReasons(store: Store, infos: NodeInfo[], aliveMs: number, policy: Policy): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const info of infos.filter((i) => i.type === 'job' && i.status === 'Waiting')) out.set(info.id, await waitingFor(store, info.id));
  const queued = infos.filter((i) => i.type === 'job' && i.status === 'Queued');
  if (!queued.length) return out;
  const now = Date.now();
  const [workers, snapshot] = await Promise.all([store.liveWorkers(aliveMs), store.queueSnapshot()]);
  const factors = ownerFactors(ownerStates(snapshot, now, policy), now, policy);
  const scored = snapshot.queues.map((q) => ({ q, s: score(q, factors.get(q.owner) ?? 1, now, policy) }));
  for (const info of queued) {
    if (info.error) {
      out.set(info.id, info.error);
      continue;
    }
    const units = await store.units(info.id);
    const later = units.filter((u) => u.state === 'delayed' && u.run_after !== null && u.run_after > now);
    if (later.length) {
      out.set(info.id, `delayed until ${formatLocalTime(Math.min(...later.map((u) => u.run_after!)))}`);
      continue;
    }
    if (!workers.length) {
      out.set(info.id, 'no worker is running (start one with: sluice worker)');
      continue;
    }
    const serving = workers.filter((w) => w.pools.includes(info.context));
    if (!serving.length) {
      out.set(info.id, `no live worker serves pool ${info.context} (start one with: sluice worker --pool ${info.context})`);
      continue;
    }
    const offers = serving.map((w) => ({ concurrency: w.concurrency, ramMb: w.ram_mb, exclusive: w.exclusive }));
    const waiting = units.find((u) => u.state === 'queued');
    const impossible = waiting ? whyImpossible({ ramMb: waiting.ram_mb, exclusive: waiting.exclusive }, offers) : null;
    if (impossible) {
      out.set(info.id, `cannot run yet: ${impossible}`);
      continue;
    }
    const mine = scored.find((x) => x.q.pool === info.context && x.q.owner === info.owner && x.q.class === info.class);
    if (!mine) {
      out.set(info.id, 'about to start');
      continue;
    }
    const ahead = scored.filter((x) => x !== mine && x.q.pool === info.context && x.s > mine.s);
    const aheadUnits = ahead.reduce((n, x) => n + x.q.queued, 0);
    const factor = (factors.get(info.owner) ?? 1).toFixed(2);
    out.set(
      info.id,
      ahead.length
        ? `behind ${aheadUnits} unit(s) of ${new Set(ahead.map((x) => x.q.owner)).size} owner(s) ranked ahead (fair-share factor ${factor}, class ${info.class})`
        : `next in the fair-share order (factor ${factor}, class ${info.class}); waiting for a free worker slot`,
    );
  }
  return out;
}

/** What a Waiting job waits for, in one line: the jobs that have not ended, with where they stand. */
async function waitingFor(store: Store, id: string): Promise<string> {
  const deps = await store.dependencies(id);
  const open = deps.filter((d) => !TERMINAL.has(d.status));
  return `waiting for ${open.length} of ${deps.length} job(s) to end: ${open.map((d) => `${d.id} (${d.status})`).join(', ')}`;
}

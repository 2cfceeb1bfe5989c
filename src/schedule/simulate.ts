/**
 * A discrete-event simulation of the policy: workers with `slots` slots in all, jobs of equal-length
 * units submitted at given times, and `planClaims` choosing what starts whenever slots are free,
 * exactly as a worker would (running units charged provisionally, finished units charged at their
 * real duration with `charge()`). Pure and deterministic: simulated time, no I/O. Used by the tests
 * and by `bench/schedule.mjs`, and handy to try a policy before deploying it.
 */
import { CLASS_CHARGE, DEFAULT_CLASS, type PriorityClass } from './classes.js';
import { DEFAULT_SHARE, learnUnitSeconds, runningSeconds, type OwnerState, type RunningUnit } from './fairshare.js';
import { planClaims, resolvePolicy, type Policy, type QueueState } from './order.js';
import { charge, NO_USAGE, type Usage } from './usage.js';

export interface SimJob {
  owner: string;
  class?: PriorityClass;
  /** Submission time, ms. */
  at: number;
  /** Number of units (default 1). */
  units?: number;
  /** Duration of each unit, ms. */
  durationMs: number;
}

export interface SimOptions {
  /** Worker slots in all. */
  slots: number;
  jobs: readonly SimJob[];
  /** Shares per owner (default `DEFAULT_SHARE` each). */
  shares?: Readonly<Record<string, number>>;
  policy?: Partial<Policy>;
  /** Slot i comes online at `i × staggerMs` (default 0: all at once). */
  staggerMs?: number;
  /** Stop at this simulated time (default: when every unit has finished). */
  until?: number;
}

export interface SimUnit {
  /** Index of its job in `jobs`. */
  job: number;
  owner: string;
  class: PriorityClass;
  queuedAt: number;
  startedAt: number;
  /** NaN while still running when the simulation stopped. */
  finishedAt: number;
  slot: number;
}

export interface SimResult {
  /** Units in the order they started. */
  started: SimUnit[];
  /** Units in the order they finished. */
  finished: SimUnit[];
  /** Usage per owner at the end. */
  usage: Map<string, Usage>;
  /** Simulated time at the end, ms. */
  end: number;
}

interface Chunk { job: number; left: number; queuedAt: number }
interface SimQueue { owner: string; class: PriorityClass; chunks: Chunk[]; head: number; queued: number; lastClaim: number }
interface SimOwner { usage: Usage; running: Map<SimUnit, RunningUnit>; unitSeconds: number | null }

export function simulate(options: SimOptions): SimResult {
  const policy = resolvePolicy(options.policy);
  const until = options.until ?? Infinity;
  const stagger = options.staggerMs ?? 0;
  const jobs = options.jobs.map((j, i) => ({ ...j, index: i })).sort((a, b) => a.at - b.at || a.index - b.index);
  const queues = new Map<string, SimQueue>();
  const owners = new Map<string, SimOwner>();
  const ownerOf = (name: string): SimOwner => {
    let o = owners.get(name);
    if (!o) owners.set(name, (o = { usage: NO_USAGE, running: new Map(), unitSeconds: null }));
    return o;
  };
  const slots: Array<SimUnit | null> = new Array<SimUnit | null>(options.slots).fill(null);
  const online = (i: number): number => i * stagger;
  const started: SimUnit[] = [];
  const finished: SimUnit[] = [];
  let nextJob = 0;
  let now = 0;

  for (;;) {
    // The next event: a submission, a finish, or a slot coming online.
    let t = Infinity;
    if (nextJob < jobs.length) t = (jobs[nextJob] as (typeof jobs)[number]).at;
    slots.forEach((u, i) => {
      if (u) t = Math.min(t, u.finishedAt);
      else if (online(i) > now) t = Math.min(t, online(i));
    });
    if (t === Infinity || t > until) break;
    now = Math.max(now, t);

    slots.forEach((u, i) => {
      if (!u || u.finishedAt > now) return;
      const o = ownerOf(u.owner);
      o.running.delete(u);
      const seconds = (u.finishedAt - u.startedAt) / 1000;
      o.usage = charge(o.usage, seconds * CLASS_CHARGE[u.class], now, policy.halfLifeMs);
      o.unitSeconds = learnUnitSeconds(o.unitSeconds, seconds);
      finished.push(u);
      slots[i] = null;
    });
    while (nextJob < jobs.length && (jobs[nextJob] as (typeof jobs)[number]).at <= now) {
      const j = jobs[nextJob++] as (typeof jobs)[number];
      const cls = j.class ?? DEFAULT_CLASS;
      const key = `${j.owner}\u0000${cls}`;
      let q = queues.get(key);
      if (!q) queues.set(key, (q = { owner: j.owner, class: cls, chunks: [], head: 0, queued: 0, lastClaim: -Infinity }));
      const units = j.units ?? 1;
      q.chunks.push({ job: j.index, left: units, queuedAt: j.at });
      q.queued += units;
      ownerOf(j.owner);
    }

    const free: number[] = [];
    slots.forEach((u, i) => {
      if (!u && online(i) <= now) free.push(i);
    });
    if (free.length === 0) continue;
    const qs: QueueState[] = [];
    for (const q of queues.values()) {
      if (q.queued > 0) qs.push({ owner: q.owner, class: q.class, queued: q.queued, since: Math.max(q.lastClaim, (q.chunks[q.head] as Chunk).queuedAt) });
    }
    if (qs.length === 0) continue;
    const active: OwnerState[] = [];
    for (const [name, o] of owners) {
      const queued = queues.get(`${name}\u0000nice`)?.queued || queues.get(`${name}\u0000normal`)?.queued || queues.get(`${name}\u0000urgent`)?.queued;
      if (!queued && o.running.size === 0) continue;
      // As a worker does (worker/plan.ts): an owner whose units have ended is charged their learned length.
      const estimateSeconds = o.unitSeconds ?? policy.estimateSeconds;
      active.push({ owner: name, share: options.shares?.[name] ?? DEFAULT_SHARE, usage: o.usage, runningSeconds: runningSeconds(o.running.values(), now, { estimateSeconds }), estimateSeconds });
    }
    for (const pick of planClaims(qs, active, free.length, now, policy)) {
      const q = queues.get(`${pick.owner}\u0000${pick.class}`) as SimQueue;
      const chunk = q.chunks[q.head] as Chunk;
      const job = options.jobs[chunk.job] as SimJob;
      const slot = free.shift() as number;
      const unit: SimUnit = { job: chunk.job, owner: q.owner, class: q.class, queuedAt: chunk.queuedAt, startedAt: now, finishedAt: now + job.durationMs, slot };
      if (--chunk.left === 0) q.head++;
      q.queued--;
      q.lastClaim = now;
      slots[slot] = unit;
      ownerOf(q.owner).running.set(unit, { class: q.class, startedAt: now });
      started.push(unit);
    }
  }
  for (const u of slots) if (u && u.finishedAt > now) u.finishedAt = NaN;
  return { started, finished, usage: new Map([...owners].map(([k, o]) => [k, o.usage])), end: now };
}

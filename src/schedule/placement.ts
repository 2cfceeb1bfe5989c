/**
 * Placement, after sioworkersd (`sio/sioworkersd/utils.py` and `scheduler/prioritizing.py`): a worker
 * says what it offers (slots, RAM, whether it may run exclusive work), a unit says what it needs (RAM,
 * whether it must run alone), and a unit goes only to a worker that can hold it now.
 */
import { UsageError } from '../environ/errors.js';
import type { Environ } from '../environ/types.js';

/** What a worker offers: `sluice worker --concurrency N --ram 8G [--exclusive]`. */
export interface WorkerOffer {
  concurrency: number;
  ramMb: number;
  /** May run exclusive units (sioworkersd's `--can-run-cpu-exec`). */
  exclusive: boolean;
}

/** What a worker is running now. */
export interface WorkerLoad {
  running: number;
  /** RAM reserved by the running units, MiB. */
  ramMb: number;
  /** One of the running units is exclusive. */
  exclusiveRunning: boolean;
}

/** What a unit needs. */
export interface UnitNeed {
  ramMb: number;
  /** Must run alone on an exclusive-capable worker (e.g. `cpu-exec`, whose timing others would disturb). */
  exclusive: boolean;
}

/** An idle worker's load. */
export const IDLE: Readonly<WorkerLoad> = Object.freeze({ running: 0, ramMb: 0, exclusiveRunning: false });

/** sioworkersd's defaults, MiB: an exec's program, its output checker, any other job type. */
export const DEFAULT_RAM_MB = Object.freeze({ exec: 64, checker: 256, other: 256 });

/** sioworkersd's defaults for particular (non-exec) job types, MiB. */
export const JOB_TYPE_RAM_MB: Readonly<Record<string, number>> = Object.freeze({ ping: 1, ingen: 256, inwer: 256, compile: 512 });

const UNITS: Readonly<Record<string, number>> = Object.freeze({
  '': 1, k: 1 / 1024, kb: 1 / 1024, kib: 1 / 1024, m: 1, mb: 1, mib: 1, g: 1024, gb: 1024, gib: 1024, t: 1024 * 1024, tb: 1024 * 1024, tib: 1024 * 1024,
});

/**
 * Parses an amount of RAM to whole MiB (rounded up): a number of MiB (`512`), or a number with a
 * unit `K`, `M`, `G`, `T` (`512M`, `8G`, `1.5G`, `65536K`; `MB`/`MiB` etc. are accepted, all binary).
 */
export function parseRam(text: string | number): number {
  if (typeof text === 'number') {
    if (!Number.isFinite(text) || text < 0) throw new UsageError(`invalid RAM amount ${text}: expected a number of MiB >= 0`);
    return Math.ceil(text);
  }
  const m = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*([a-zA-Z]*)\s*$/.exec(String(text));
  const unit = m ? UNITS[(m[2] as string).toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw new UsageError(`invalid RAM amount ${JSON.stringify(text)}: expected MiB as a number, or a size such as 512M, 8G or 1.5T (units K, M, G, T)`);
  }
  return Math.ceil(Number(m[1]) * unit);
}

function kib(environ: Environ, key: string, fallbackMb: number): number {
  const v = environ[key];
  if (v === undefined || v === null) return fallbackMb * 1024;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw new UsageError(`${key} must be a number of KiB >= 0, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * The RAM a unit needs, MiB, as sioworkersd computes it (limits in the environ are KiB):
 * - an explicit `ram` key wins: MiB as a number, or a string such as "2G" or "512M";
 * - `*exec` job types: `exec_mem_limit` (default 64 MiB); with `check_output`, the larger of that and
 *   `checker_mem_limit` (default 256 MiB), since the checker runs in the same slot;
 * - other job types: `<job_type>_mem_limit`, else ping 1, ingen and inwer 256, compile 512, others 256.
 * Rounded up to whole MiB. Malformed values are a `UsageError` naming the key.
 */
export function ramNeedMb(environ: Environ): number {
  const explicit = environ.ram;
  if (explicit !== undefined && explicit !== null) {
    if (typeof explicit !== 'number' && typeof explicit !== 'string') throw new UsageError(`ram must be MiB as a number or a size such as "2G", got ${JSON.stringify(explicit)}`);
    return parseRam(explicit);
  }
  const type = typeof environ.job_type === 'string' ? environ.job_type : '';
  let limit: number;
  if (type.endsWith('exec')) {
    limit = kib(environ, 'exec_mem_limit', DEFAULT_RAM_MB.exec);
    if (environ.check_output) limit = Math.max(limit, kib(environ, 'checker_mem_limit', DEFAULT_RAM_MB.checker));
  } else {
    const fallback = Object.hasOwn(JOB_TYPE_RAM_MB, type) ? (JOB_TYPE_RAM_MB[type] as number) : DEFAULT_RAM_MB.other;
    limit = type ? kib(environ, `${type}_mem_limit`, fallback) : fallback * 1024;
  }
  return Math.ceil(limit / 1024);
}

/**
 * A unit's need: its RAM (`ramNeedMb`) and whether its job type is one of `exclusiveJobTypes`
 * (the integrator passes `EXCLUSIVE_JOB_TYPES` from src/jobs) or the environ says `exclusive: true`.
 */
export function unitNeed(environ: Environ, exclusiveJobTypes: ReadonlySet<string>): UnitNeed {
  const type = typeof environ.job_type === 'string' ? environ.job_type : '';
  return { ramMb: ramNeedMb(environ), exclusive: exclusiveJobTypes.has(type) || environ.exclusive === true };
}

/** What a worker can accept now, in the terms a store query needs. */
export interface FreeCapacity {
  /** Free slots. */
  slots: number;
  /** The most RAM a unit may need to fit now, MiB. */
  ramMb: number;
  /** Whether an exclusive unit fits now (capable and idle). */
  exclusiveOk: boolean;
}

/**
 * Free capacity of a worker: a unit fits iff `slots > 0 && need.ramMb <= ramMb && (!need.exclusive
 * || exclusiveOk)`. Nothing fits while an exclusive unit runs.
 */
export function freeCapacity(offer: WorkerOffer, load: WorkerLoad): FreeCapacity {
  if (load.exclusiveRunning) return { slots: 0, ramMb: 0, exclusiveOk: false };
  const slots = Math.max(0, Math.floor(offer.concurrency) - load.running);
  const ramMb = slots > 0 ? Math.max(0, offer.ramMb - load.ramMb) : 0;
  return { slots, ramMb, exclusiveOk: slots > 0 && offer.exclusive && load.running === 0 };
}

/**
 * Whether a unit fits on a worker now: a free slot, enough free RAM, nothing else while an exclusive
 * unit runs, and an exclusive unit only on an exclusive-capable worker with nothing running.
 */
export function fits(offer: WorkerOffer, load: WorkerLoad, need: UnitNeed): boolean {
  const cap = freeCapacity(offer, load);
  return cap.slots > 0 && need.ramMb <= cap.ramMb && (!need.exclusive || cap.exclusiveOk);
}

/**
 * Why no live worker could ever hold this unit (even idle), or null if one could. The text is meant
 * as the queued unit's status reason, e.g. "needs 16384 MiB of RAM; the largest live worker offers
 * 8192 MiB". It is a fact about the workers alive now: a bigger worker joining makes it null again.
 */
export function whyImpossible(need: UnitNeed, liveOffers: readonly WorkerOffer[]): string | null {
  const usable = liveOffers.filter((o) => Math.floor(o.concurrency) >= 1);
  if (usable.length === 0) return 'no worker is alive (start one with: sluice worker)';
  if (usable.some((o) => fits(o, IDLE, need))) return null;
  if (need.exclusive) {
    const capable = usable.filter((o) => o.exclusive);
    if (capable.length === 0) return 'needs an exclusive-capable worker (sluice worker --exclusive); none is alive';
    const largest = Math.max(...capable.map((o) => o.ramMb));
    return `needs ${need.ramMb} MiB of RAM on an exclusive-capable worker; the largest one alive offers ${largest} MiB`;
  }
  const largest = Math.max(...usable.map((o) => o.ramMb));
  return `needs ${need.ramMb} MiB of RAM; the largest live worker offers ${largest} MiB`;
}

/** What a worker should do with the head units of its picked queues (`admit`). */
export interface Admission {
  /** Indexes into `heads` to claim now, in order. */
  claim: number[];
  /**
   * A head unit that this worker could hold, but not now, stopped the walk: claim nothing past it, and
   * let running units finish so that it fits (sioworkersd's "a waiting real-cpu task blocks a worker").
   * `blockedBy` is its index.
   */
  drain: boolean;
  blockedBy: number | null;
}

/**
 * Walks the head units of the planner's picks, best first, and decides which this worker claims:
 * - a unit that fits now is claimed (and counted against the worker's free slots and RAM);
 * - a unit this worker could never hold (too much RAM, or exclusive on a worker that may not run
 *   exclusive work) is skipped: it is for another worker, or `whyImpossible` explains it;
 * - a unit this worker could hold when idle, but not now, stops the walk (`drain`): without that, a
 *   big or exclusive unit would wait forever behind a stream of small ones filling the slots it needs.
 */
export function admit(offer: WorkerOffer, load: WorkerLoad, heads: readonly UnitNeed[]): Admission {
  const claim: number[] = [];
  const cur: WorkerLoad = { ...load };
  for (let i = 0; i < heads.length; i++) {
    const need = heads[i] as UnitNeed;
    if (fits(offer, cur, need)) {
      claim.push(i);
      cur.running++;
      cur.ramMb += need.ramMb;
      cur.exclusiveRunning ||= need.exclusive;
      continue;
    }
    if (freeCapacity(offer, cur).slots === 0) break; // full: nothing more now, and no reason to drain
    if (fits(offer, IDLE, need)) return { claim, drain: true, blockedBy: i };
  }
  return { claim, drain: false, blockedBy: null };
}

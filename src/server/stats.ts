import type { JobCounts, QueueSnapshot, StoreEvent } from '../store/index.js';
import { TERMINAL } from '../store/index.js';
import type { FairshareRow } from '../service/index.js';

/** The window the dashboard's charts cover, and its steps. */
const WINDOW_MS = 3_600_000;
const STEP_MS = 10_000;
const SAMPLE_MS = 5_000;
const SLOTS = WINDOW_MS / STEP_MS;
const SAMPLES = WINDOW_MS / SAMPLE_MS;
const CLASSES = ['nice', 'normal', 'urgent'];
/** Each sample keeps the usage of this many owners, the most used first (a bound on memory with thousands of owners). */
const SAMPLED_OWNERS = 200;

/** Counts per class in STEP_MS slots of a ring that covers the last WINDOW_MS. */
class Ring {
  private readonly counts = new Map<string, Float64Array>();
  private readonly slotOf = new Float64Array(SLOTS).fill(-1);

  add(klass: string, at: number, n = 1): void {
    const slot = Math.floor(at / STEP_MS);
    const i = slot % SLOTS;
    // A slot older than the one the ring now keeps there is out of the window.
    if (this.slotOf[i]! > slot) return;
    if (this.slotOf[i] !== slot) {
      for (const c of this.counts.values()) c[i] = 0;
      this.slotOf[i] = slot;
    }
    let c = this.counts.get(klass);
    if (!c) this.counts.set(klass, (c = new Float64Array(SLOTS)));
    c[i]! += n;
  }

  /** Oldest first: the SLOTS slots ending with the one of `now`. */
  series(now: number): Record<string, number[]> {
    const last = Math.floor(now / STEP_MS);
    const out: Record<string, number[]> = {};
    for (const klass of new Set([...CLASSES, ...this.counts.keys()])) {
      const c = this.counts.get(klass);
      const values: number[] = [];
      for (let slot = last - SLOTS + 1; slot <= last; slot++) {
        const i = slot % SLOTS;
        values.push(c && this.slotOf[i] === slot ? c[i]! : 0);
      }
      out[klass] = values;
    }
    return out;
  }
}

/**
 * What the dashboard's Throughput and Fair share charts draw (GET /api/v1/stats, docs/dashboard.md):
 * jobs started and finished per class in 10 s slots over the last hour, and every 5 s the queue
 * depth per class and each active owner's decayed usage. The counts are the store's: at start, the
 * hour before is read from the jobs' dates (indexed); from then on the event log this server follows
 * counts them (so jobs of every worker and every submitter count, and a restart loses none). The
 * queue depth and the usage are sampled by this process only: the store keeps no history of them,
 * so after a restart those two charts start again.
 */
export class Stats {
  private readonly started = new Ring();
  private readonly finished = new Ring();
  private readonly samples: Array<{ at: number; queued: Record<string, number>; usage: Record<string, number> }> = [];
  private timer: ReturnType<typeof setInterval> | undefined;
  readonly since = Date.now();

  constructor(
    private readonly sources: {
      snapshot: () => Promise<QueueSnapshot>;
      fairshare: () => Promise<FairshareRow[]>;
      counts: (since: number, before: number, stepMs: number) => Promise<JobCounts>;
    },
    private readonly log: (line: string) => void = () => {},
  ) {}

  /** Reads the last hour's counts from the store, and starts sampling the queue and the usage (one sample at once). */
  start(): void {
    void this.backfill();
    void this.sample();
    this.timer = setInterval(() => void this.sample(), SAMPLE_MS);
    this.timer.unref?.();
  }

  close(): void {
    clearInterval(this.timer);
  }

  readonly onEvents = (events: StoreEvent[]): void => {
    for (const e of events) {
      // What happened before this server started is the store's to count (backfill).
      if (e.verb === 'prune' || e.info.type !== 'job' || e.at < this.since) continue;
      const { status, date_start: start, date_end: end } = e.info;
      // As /metrics counts them: the event written at the start, and the one written at the end.
      if (status === 'Running' && start !== null && e.at === start) this.started.add(e.info.class, e.at);
      if (status && TERMINAL.has(status) && end !== null && e.at === end) this.finished.add(e.info.class, e.at);
    }
  };

  /** The window's slots before this server started, from the jobs' start and end dates. */
  private async backfill(): Promise<void> {
    const first = (Math.floor(this.since / STEP_MS) - SLOTS + 1) * STEP_MS;
    try {
      const counts = await this.sources.counts(first, this.since, STEP_MS);
      for (const r of counts.started) this.started.add(r.class, r.slot * STEP_MS, r.n);
      for (const r of counts.finished) this.finished.add(r.class, r.slot * STEP_MS, r.n);
    } catch (err) {
      this.log(`stats: reading the last hour's jobs failed: ${(err as Error).message}`);
    }
  }

  private async sample(): Promise<void> {
    try {
      const [snapshot, rows] = await Promise.all([this.sources.snapshot(), this.sources.fairshare()]);
      const queued: Record<string, number> = Object.fromEntries(CLASSES.map((c) => [c, 0]));
      for (const q of snapshot.queues) queued[q.class] = (queued[q.class] ?? 0) + q.queued;
      const top = [...rows].sort((a, b) => b.usage - a.usage).slice(0, SAMPLED_OWNERS);
      const usage = Object.fromEntries(top.map((r) => [r.owner, r.usage]));
      this.samples.push({ at: Date.now(), queued, usage });
      while (this.samples.length > SAMPLES) this.samples.shift();
    } catch (err) {
      this.log(`stats: sampling the queue failed: ${(err as Error).message}`);
    }
  }

  /** The answer of GET /api/v1/stats (times as ms here; the route sends them as ISO-8601). */
  view(now = Date.now()) {
    const slotEnd = (Math.floor(now / STEP_MS) + 1) * STEP_MS;
    const at = this.samples.map((s) => s.at);
    const byClass: Record<string, Array<number | null>> = {};
    const byOwner: Record<string, Array<number | null>> = {};
    this.samples.forEach((s, i) => {
      for (const [k, v] of Object.entries(s.queued)) (byClass[k] ??= Array<number | null>(this.samples.length).fill(null))[i] = v;
      for (const [k, v] of Object.entries(s.usage)) (byOwner[k] ??= Array<number | null>(this.samples.length).fill(null))[i] = v;
    });
    return {
      now,
      since: slotEnd - WINDOW_MS,
      tracking_since: this.since,
      step_ms: STEP_MS,
      started: this.started.series(now),
      finished: this.finished.series(now),
      queued: { step_ms: SAMPLE_MS, at, by_class: byClass },
      usage: { step_ms: SAMPLE_MS, at, by_owner: byOwner },
    };
  }
}

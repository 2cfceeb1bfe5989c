import os from 'node:os';
import type { Environ, FileAccess, Registry } from '../environ/index.js';
import { resultOf, run } from '../environ/index.js';
import type { ClaimedUnit, Store, UnitOutcome } from '../store/index.js';

export interface WorkerOptions {
  store: Store;
  registry: Registry;
  /** How many units run at once. */
  concurrency?: number;
  /** How long a claim lasts without a heartbeat; a dead worker's units are re-run after it. */
  leaseMs?: number;
  /** File access for runs (default: local paths). */
  files?: (workdir: () => string, environ: Environ) => FileAccess;
  /** Run only this job's units, unregistered, and stop when none is left (in-process `--block`). */
  onlyJob?: string;
  log?: (line: string) => void;
}

interface Running {
  unit: ClaimedUnit;
  abort: AbortController;
  aborted: boolean;
  /** given back to the queue: its outcome must not be recorded */
  released: boolean;
  done: Promise<void>;
}

export const DEFAULT_LEASE_MS = Number(process.env.SLUICE_LEASE_MS) || 15_000;
/** How often a busy worker looks for abort requests even without a wake-up. */
const ABORT_POLL_MS = 250;

/**
 * Claims units from the store, runs them through the environ runner, records results.
 *
 * Results are recorded in batches: a unit that finishes schedules one flush on the next turn of the
 * event loop, so every unit that finished meanwhile goes into the same transaction, and the next
 * claim follows it. A heartbeat extends the leases; a unit whose lease was taken away, or whose job
 * was aborted, is killed here.
 */
export class Worker {
  readonly concurrency: number;
  readonly leaseMs: number;
  id = '';
  private readonly running = new Map<number, Running>();
  private outcomes: UnitOutcome[] = [];
  private stopping = false;
  private kickPending = false;
  private wakeLoop: (() => void) | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private loopDone: Promise<void> = Promise.resolve();
  private readonly stopSignal = new AbortController();

  constructor(private readonly options: WorkerOptions) {
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? os.availableParallelism()));
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  }

  async start(): Promise<void> {
    const { store } = this.options;
    this.id = this.options.onlyJob
      ? `inline:${os.hostname()}:${process.pid}`
      : await store.registerWorker({ host: os.hostname(), pid: process.pid, concurrency: this.concurrency });
    this.heartbeatTimer = setInterval(() => void this.beat(), Math.max(100, Math.floor(this.leaseMs / 3)));
    this.heartbeatTimer.unref();
    this.loopDone = this.loop();
  }

  /** Resolves when the loop has ended (after stop(), or for an inline worker when its job is done). */
  get finished(): Promise<void> {
    return this.loopDone;
  }

  get busy(): number {
    return this.running.size;
  }

  /**
   * Stops claiming; running units get `graceMs` to finish, then are killed and given back to the
   * queue without charging an attempt.
   */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    this.stopSignal.abort();
    this.kick();
    await this.loopDone;
    const all = () => Promise.all([...this.running.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all(), new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    const leftovers = [...this.running.values()];
    for (const r of leftovers) {
      r.released = true;
      r.abort.abort();
    }
    await all();
    await this.flush();
    if (leftovers.length) await this.options.store.release(leftovers.map((r) => ({ unit: r.unit.unit, token: r.unit.token })));
    clearInterval(this.heartbeatTimer);
    if (!this.options.onlyJob) await this.options.store.unregisterWorker(this.id);
    this.log(`stopped${leftovers.length ? `; gave back ${leftovers.length} unfinished unit(s)` : ''}`);
  }

  private async loop(): Promise<void> {
    const { store, onlyJob } = this.options;
    while (!this.stopping) {
      const free = this.concurrency - this.running.size;
      let claimed: ClaimedUnit[] = [];
      if (onlyJob) {
        await this.flush();
        claimed = await store.claimJob(this.id, onlyJob, this.leaseMs);
      } else {
        // Results of the units that finished and the next claim share one transaction.
        const finished = this.takeOutcomes();
        const answer = await store.completeAndClaim(this.id, finished, free, this.leaseMs);
        this.noteUnrecorded(finished, answer.recorded);
        claimed = answer.claimed;
      }
      for (const unit of claimed) this.startUnit(unit);
      if (onlyJob && claimed.length === 0 && this.running.size === 0 && this.outcomes.length === 0) return;
      if (claimed.length === 0 || this.running.size >= this.concurrency) await this.sleep();
      if (this.running.size) await this.checkAborts();
    }
  }

  /** Waits for a unit to finish, a change in the store, or the poll interval. */
  private async sleep(): Promise<void> {
    const cancel = new AbortController();
    const onStop = () => cancel.abort();
    this.stopSignal.signal.addEventListener('abort', onStop, { once: true });
    await Promise.race([
      new Promise<void>((resolve) => (this.wakeLoop = resolve)),
      this.options.store.waitForChange(this.running.size ? ABORT_POLL_MS : 1000, cancel.signal),
    ]);
    cancel.abort();
    this.stopSignal.signal.removeEventListener('abort', onStop);
    this.wakeLoop = undefined;
  }

  private startUnit(unit: ClaimedUnit): void {
    const entry: Running = { unit, abort: new AbortController(), aborted: false, released: false, done: Promise.resolve() };
    this.running.set(unit.unit, entry);
    entry.done = this.runUnit(entry);
  }

  private async runUnit(entry: Running): Promise<void> {
    const { unit } = entry;
    const output = await run(unit.environ, {
      registry: this.options.registry,
      signal: entry.abort.signal,
      ...(this.options.files ? { files: this.options.files } : {}),
      report: (r) => void this.options.store.report(unit.unit, unit.token, r).catch((err) => this.log(`report failed: ${err.message}`)),
    });
    this.running.delete(unit.unit);
    if (!entry.released) {
      this.outcomes.push({ unit: unit.unit, token: unit.token, output, result: resultOf(unit.environ, output), ...(entry.aborted ? { aborted: true } : {}) });
    }
    this.kick();
  }

  /** Wakes the loop on the next turn, so that units finishing together are recorded together. */
  private kick(): void {
    if (this.kickPending) return;
    this.kickPending = true;
    setImmediate(() => {
      this.kickPending = false;
      this.wakeLoop?.();
    });
  }

  private takeOutcomes(): UnitOutcome[] {
    const batch = this.outcomes;
    this.outcomes = [];
    return batch;
  }

  private async flush(): Promise<void> {
    const batch = this.takeOutcomes();
    if (batch.length) this.noteUnrecorded(batch, await this.options.store.complete(batch));
  }

  private noteUnrecorded(batch: UnitOutcome[], recorded: boolean[]): void {
    recorded.forEach((ok, i) => {
      if (!ok) this.log(`unit ${batch[i]!.unit}: result not recorded (the unit was taken back or aborted meanwhile)`);
    });
  }

  private async checkAborts(): Promise<void> {
    for (const id of await this.options.store.abortRequests(this.id)) this.abortUnit(id);
  }

  private abortUnit(id: number, released = false): void {
    const entry = this.running.get(id);
    if (!entry || entry.abort.signal.aborted) return;
    entry.aborted = true;
    entry.released = released;
    entry.abort.abort();
  }

  private async beat(): Promise<void> {
    try {
      const { held, abort } = await this.options.store.heartbeat(this.id, this.leaseMs);
      for (const id of abort) this.abortUnit(id);
      const heldSet = new Set(held);
      for (const id of this.running.keys()) {
        // Our lease ran out and another worker may have the unit now: stop, and record nothing.
        if (!heldSet.has(id)) this.abortUnit(id, true);
      }
      await this.options.store.reapExpired();
    } catch (err) {
      this.log(`heartbeat failed: ${(err as Error).message}`);
    }
  }

  private log(line: string): void {
    this.options.log?.(`worker ${this.id}: ${line}`);
  }
}

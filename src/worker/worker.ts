import os from 'node:os';
import type { Environ, FileAccess, Registry } from '../environ/index.js';
import { DEFAULTS, Inbox, resultOf, run } from '../environ/index.js';
import type { ClaimedUnit, ClaimRequest, UnitOutcome, WorkerStore } from '../store/index.js';
import { DEFAULT_POOL, TERMINAL } from '../store/index.js';
import { CLASS_CHARGE, DEFAULT_POLICY, type Policy } from '../schedule/index.js';
import { PlannerView, viewExpired } from './plan.js';

export interface WorkerOptions {
  /** a store in this process, or a server's worker protocol (service/workerClient.ts) */
  store: WorkerStore;
  registry: Registry;
  /** How many units run at once. */
  concurrency?: number;
  /** How long a claim lasts without a heartbeat; a dead worker's units are re-run after it. */
  leaseMs?: number;
  /** File access for runs (default: local paths). */
  files?: (workdir: () => string, environ: Environ) => FileAccess;
  /** RAM this worker offers to units, MiB (default: the machine's memory). */
  ramMb?: number;
  /** Whether this worker may run exclusive units (cpu-exec), each alone. */
  exclusive?: boolean;
  /** The fair-share policy (default: schedule/'s DEFAULT_POLICY with the store's half-life). */
  policy?: Policy;
  /** Take only this owner's units (a private pool, `sluice worker --owner`). */
  owner?: string;
  /** The worker pools it serves (moi's contexts; default `default`): it takes units of these pools only. */
  pools?: string[];
  /** What it says of itself in the store (e.g. the Slurm job of a pool), shown by `sluice workers`. */
  labels?: Record<string, string>;
  /** Run only this job's units, unregistered, and stop when none is left (in-process `--block`). */
  onlyJob?: string;
  /** Where units' private folders are made (SLUICE_TMPDIR); default the system's temp folder. */
  tmpdir?: string | undefined;
  log?: (line: string) => void;
  /** Told how long each claim cycle's store work took, seconds (record and claim; not the sleep): metrics. */
  onCycle?: (seconds: number) => void;
  /** Told of each store error the worker survives: metrics. */
  onStoreError?: (err: unknown) => void;
}

interface Running {
  unit: ClaimedUnit;
  abort: AbortController;
  aborted: boolean;
  /** given back to the queue: its outcome must not be recorded */
  released: boolean;
  done: Promise<void>;
  startedAt: number;
  /** its control messages, passed on to the run */
  inbox: Inbox;
}

/** How often a busy worker looks for abort requests even without a wake-up. */
const ABORT_POLL_MS = 250;
/** After a store error the loop waits this long, doubling up to STORE_RETRY_MAX_MS, before it tries again. */
const STORE_RETRY_MS = 100;
const STORE_RETRY_MAX_MS = 5000;

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
  readonly ramMb: number;
  readonly pools: string[];
  id = '';
  private readonly policy: Policy;
  private usedRamMb = 0;
  private idleAt = Date.now();
  private exclusiveRunning = false;
  private view: PlannerView | undefined;
  private viewAt = 0;
  /** how long reading the last view took: a view that is costly to read is kept longer (plan.ts) */
  private viewCostMs = 0;
  private abortsCheckedAt = 0;
  private readonly running = new Map<number, Running>();
  /** units that failed while the worker stopped: given back, not recorded (see runUnit) */
  private readonly failedWhileStopping: Array<{ unit: number; token: number }> = [];
  private outcomes: UnitOutcome[] = [];
  /** who ran the finished units not yet recorded, and since when (the planner's view charges them for real) */
  private readonly finishedBy = new Map<number, { owner: string; class: ClaimedUnit['class']; startedAt: number; charge: number }>();
  private stopping = false;
  private kickPending = false;
  /** a kick came while the loop was not asleep: the next sleep returns at once */
  private kickWaiting = false;
  private wakeLoop: (() => void) | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private loopDone: Promise<void> = Promise.resolve();
  private readonly stopSignal = new AbortController();
  /** the store's change mark after our last write: we sleep until someone else changes something */
  private mark: number | undefined;
  /** consecutive store errors of the loop and of the heartbeat (for backoff and for logging less) */
  private loopFailures = 0;
  private beatFailures = 0;

  constructor(private readonly options: WorkerOptions) {
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? os.availableParallelism()));
    this.leaseMs = options.leaseMs ?? DEFAULTS.leaseMs;
    this.ramMb = Math.floor(options.ramMb ?? os.totalmem() / 2 ** 20);
    this.pools = options.pools?.length ? [...new Set(options.pools)] : [DEFAULT_POOL];
    this.policy = options.policy ?? DEFAULT_POLICY;
  }

  async start(): Promise<void> {
    const { store } = this.options;
    this.id = this.options.onlyJob
      ? `inline:${os.hostname()}:${process.pid}`
      : await store.registerWorker({
          host: os.hostname(), pid: process.pid, concurrency: this.concurrency, ram_mb: this.ramMb, exclusive: this.options.exclusive ?? false,
          pools: this.pools, labels: this.options.labels ?? {},
        });
    this.heartbeatTimer = setInterval(() => void this.beat(), Math.max(100, Math.floor(this.leaseMs / 3)));
    this.heartbeatTimer.unref();
    this.loopDone = this.loop();
  }

  /** Since when no unit has run here (ms since the epoch), or null while some run: `--idle-exit` reads it. */
  get idleSince(): number | null {
    return this.running.size ? null : this.idleAt;
  }

  /** Resolves when the loop has ended (after stop(), or for an inline worker when its job is done). */
  get finished(): Promise<void> {
    return this.loopDone;
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
    await this.settle('record the last results', () => this.flush());
    const back = [...this.failedWhileStopping, ...leftovers.map((r) => ({ unit: r.unit.unit, token: r.unit.token }))];
    if (back.length) await this.settle('give back the unfinished units', () => this.options.store.release(back));
    clearInterval(this.heartbeatTimer);
    if (!this.options.onlyJob) await this.settle('unregister', () => this.options.store.unregisterWorker(this.id));
    this.log(`stopped${back.length ? `; gave back ${back.length} unfinished unit(s)` : ''}`);
  }

  /** A last write on the way out: tried a few times; if the store stays away, leases let others re-run what this one held. */
  private async settle(what: string, write: () => Promise<unknown>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await write();
        return;
      } catch (err) {
        if (attempt === 5) {
          this.log(`could not ${what}: ${(err as Error).message}; other workers take over its units when their leases run out`);
          return;
        }
        await new Promise((r) => setTimeout(r, STORE_RETRY_MS * 2 ** attempt));
      }
    }
  }

  /**
   * Claims, runs and records until stopped. A store error (a full disk, a lock held too long, a lost
   * database connection) never ends the loop: it is logged once, the loop backs off and tries again,
   * running units go on, and results not yet recorded stay here until the store takes them (their
   * tokens still fence them).
   */
  private async loop(): Promise<void> {
    while (!this.stopping) {
      try {
        if ((await this.cycle()) === 'done') return;
        this.storeAnswers();
      } catch (err) {
        this.options.onStoreError?.(err);
        this.loopFailures++;
        const waitMs = Math.min(STORE_RETRY_MAX_MS, STORE_RETRY_MS * 2 ** (this.loopFailures - 1));
        if (this.loopFailures === 1 || this.loopFailures % 20 === 0) {
          this.log(`store error (attempt ${this.loopFailures}): ${(err as Error).message}; trying again every ${waitMs / 1000}s or sooner`);
        }
        await this.pause(waitMs);
      }
    }
  }

  /** After store errors, a write went through: said at once (not after the cycle's sleep). */
  private storeAnswers(): void {
    if (!this.loopFailures) return;
    this.log(`the store answers again after ${this.loopFailures} failed attempt(s); carrying on`);
    this.loopFailures = 0;
  }

  /** One claim cycle: record what finished, claim, start, then sleep until there is something to do. */
  private async cycle(): Promise<'done' | 'more'> {
    const { store, onlyJob } = this.options;
    let claimed: ClaimedUnit[] = [];
    if (onlyJob) {
      await this.flush();
      // Taken before the claim: a change after it must wake us (our own claim may wake us once, harmlessly).
      this.mark = store.changeMark();
      claimed = await store.claimJob(this.id, onlyJob, this.freeSlots(), this.leaseMs);
    } else {
      // Results of the units that finished and the next claim share one transaction.
      const finished = this.takeOutcomes();
      let answer;
      try {
        const began = performance.now();
        const request = await this.plan(finished);
        answer = await store.completeAndClaim(this.id, finished, request);
        if (finished.length || request) this.options.onCycle?.((performance.now() - began) / 1000);
        if (request) this.noteClaimed(request, answer.claimed);
      } catch (err) {
        this.outcomes.unshift(...finished); // not recorded: keep them for the next try
        this.view = undefined; // and read the queues afresh then
        throw err;
      }
      this.noteUnrecorded(finished, answer.recorded);
      claimed = answer.claimed;
      this.mark = answer.mark;
    }
    this.storeAnswers();
    for (const unit of claimed) this.startUnit(unit);
    // An in-process run ends with its job (a unit waiting for a retry keeps it going).
    if (onlyJob && claimed.length === 0 && this.running.size === 0 && this.outcomes.length === 0 && (await this.jobEnded(onlyJob))) return 'done';
    let changed = false;
    if (claimed.length === 0 || this.freeSlots() === 0) {
      // Woken by someone else's change: the planner's view of the queues is out of date.
      changed = (await this.sleep()) === 'change';
      if (changed) this.view = undefined;
    }
    // Aborts come from others: look when one wrote, and at least every ABORT_POLL_MS.
    if (this.running.size && (changed || Date.now() - this.abortsCheckedAt >= ABORT_POLL_MS)) await this.checkAborts();
    return 'more';
  }

  /** Waits `ms`, or less if the worker is stopped or a unit finishes. */
  private async pause(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      this.wakeLoop = done;
      this.stopSignal.signal.addEventListener('abort', done, { once: true });
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
    this.wakeLoop = undefined;
  }

  private async jobEnded(id: string): Promise<boolean> {
    const status = (await this.options.store.get(id))?.status;
    return !status || TERMINAL.has(status);
  }

  private freeSlots(): number {
    return this.exclusiveRunning ? 0 : this.concurrency - this.running.size;
  }

  /** What to ask the store for: the fair-share planner's picks for the free slots, `finished` being recorded with the claim. */
  private async plan(finished: UnitOutcome[]): Promise<ClaimRequest | null> {
    const slots = this.freeSlots();
    const now = Date.now();
    if (slots <= 0) {
      this.view?.noteFinished(finished.flatMap((o) => this.finishedBy.get(o.unit) ?? []), now);
      return null;
    }
    if (!this.view || viewExpired(this.viewAt, this.viewCostMs, now)) {
      // Only the queues of its pools: fair share holds within them, and units never cross pools.
      this.view = new PlannerView(await this.options.store.queueSnapshot(this.pools), now, this.policy);
      this.viewAt = now;
      this.viewCostMs = Date.now() - now;
    }
    this.view.noteFinished(finished.flatMap((o) => this.finishedBy.get(o.unit) ?? []), now);
    const picks = this.view.plan(slots, now, {
      exclusiveCapable: this.options.exclusive ?? false, idle: this.running.size === 0, ...(this.options.owner === undefined ? {} : { owner: this.options.owner }),
    });
    return picks.length ? { picks, freeRamMb: this.ramMb - this.usedRamMb, leaseMs: this.leaseMs } : null;
  }

  /** Keeps the planner's view roughly true until the next read. */
  private noteClaimed(request: ClaimRequest, claimed: ClaimedUnit[]): void {
    this.view?.noteClaimed(request, claimed, Date.now());
  }

  /** Waits for a unit to finish ('kick'), a change in the store or the poll interval ('change'). */
  private async sleep(): Promise<'kick' | 'change'> {
    // A unit that finished while the last cycle was busy kicked nobody: record it now, not at the next poll.
    if (this.kickWaiting) {
      this.kickWaiting = false;
      return 'kick';
    }
    const cancel = new AbortController();
    const onStop = () => cancel.abort();
    this.stopSignal.signal.addEventListener('abort', onStop, { once: true });
    const why = await Promise.race([
      new Promise<'kick'>((resolve) => (this.wakeLoop = () => resolve('kick'))),
      this.options.store.waitForChange(this.running.size ? ABORT_POLL_MS : 1000, cancel.signal, this.mark).then(() => 'change' as const),
    ]);
    cancel.abort();
    this.stopSignal.signal.removeEventListener('abort', onStop);
    this.wakeLoop = undefined;
    return why;
  }

  private startUnit(unit: ClaimedUnit): void {
    const entry: Running = { unit, abort: new AbortController(), aborted: false, released: false, done: Promise.resolve(), startedAt: Date.now(), inbox: new Inbox() };
    this.running.set(unit.unit, entry);
    this.usedRamMb += unit.ramMb;
    if (unit.exclusive) this.exclusiveRunning = true;
    entry.done = this.runUnit(entry);
  }

  private async runUnit(entry: Running): Promise<void> {
    const { unit } = entry;
    const output = await run(unit.environ, {
      registry: this.options.registry,
      signal: entry.abort.signal,
      identity: { job: unit.job, unit: unit.index, owner: unit.owner },
      inbox: entry.inbox,
      tmpdir: this.options.tmpdir,
      ...(this.options.files ? { files: this.options.files } : {}),
      report: (r) => void this.options.store.report(unit.unit, unit.token, r).catch((err) => this.log(`report failed: ${err.message}`)),
    });
    this.running.delete(unit.unit);
    if (this.running.size === 0) this.idleAt = Date.now();
    this.usedRamMb -= unit.ramMb;
    if (unit.exclusive) this.exclusiveRunning = false;
    // A failure while stopping is the stop's doing more likely than the unit's: in a batch allocation the
    // scheduler signals every process of it, units included. Given back, not recorded: a unit that
    // really failed fails again elsewhere, and counts there.
    if (this.stopping && !entry.released && !entry.aborted && output.result === 'FAILURE') {
      entry.released = true;
      this.failedWhileStopping.push({ unit: unit.unit, token: unit.token });
    }
    if (!entry.released) {
      // Usage is CPU time where the job measured it (exec's time_used), else wall time; urgent work costs more.
      const seconds = (typeof output.time_used === 'number' ? output.time_used : Date.now() - entry.startedAt) / 1000;
      this.finishedBy.set(unit.unit, { owner: unit.account, class: unit.class, startedAt: entry.startedAt, charge: seconds * CLASS_CHARGE[unit.class] });
      this.outcomes.push({
        unit: unit.unit, token: unit.token, output, result: resultOf(unit.environ, output), charge: seconds * CLASS_CHARGE[unit.class], seconds,
        ...(entry.aborted ? { aborted: true } : {}),
      });
    }
    this.kick();
  }

  /** Wakes the loop on the next turn, so that units finishing together are recorded together. */
  private kick(): void {
    if (this.kickPending) return;
    this.kickPending = true;
    setImmediate(() => {
      this.kickPending = false;
      if (this.wakeLoop) this.wakeLoop();
      else this.kickWaiting = true;
    });
  }

  private takeOutcomes(): UnitOutcome[] {
    // The kicks of these outcomes are answered by taking them.
    this.kickWaiting = false;
    const batch = this.outcomes;
    this.outcomes = [];
    return batch;
  }

  private async flush(): Promise<void> {
    const batch = this.takeOutcomes();
    if (batch.length) this.noteUnrecorded(batch, await this.options.store.complete(batch));
  }

  private noteUnrecorded(batch: UnitOutcome[], recorded: boolean[]): void {
    for (const o of batch) this.finishedBy.delete(o.unit);
    recorded.forEach((ok, i) => {
      if (!ok) this.log(`unit ${batch[i]!.unit}: result not recorded (the unit was taken back or aborted meanwhile)`);
    });
  }

  /** Aborts and control messages come from others: both are looked for at once. */
  private async checkAborts(): Promise<void> {
    this.abortsCheckedAt = Date.now();
    for (const id of await this.options.store.abortRequests(this.id)) this.abortUnit(id);
    const units = [...this.running.values()].map((r) => ({ unit: r.unit.unit, token: r.unit.token }));
    for (const m of await this.options.store.takeMessages(this.id, units)) this.running.get(m.unit)?.inbox.push(m.body);
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
      const sent = [...this.running.keys()];
      const { held, abort } = await this.options.store.heartbeat(this.id, this.leaseMs, sent);
      for (const id of abort) this.abortUnit(id);
      const heldSet = new Set(held);
      // Only the units the heartbeat asked about: one claimed while it was on its way is ours all the same.
      for (const id of sent) {
        // Our lease ran out and another worker may have the unit now: stop, and record nothing.
        if (!heldSet.has(id)) this.abortUnit(id, true);
      }
      await this.options.store.reapExpired();
      if (this.beatFailures) this.log(`heartbeats go through again after ${this.beatFailures} failure(s)`);
      this.beatFailures = 0;
    } catch (err) {
      this.options.onStoreError?.(err);
      this.beatFailures++;
      if (this.beatFailures === 1 || this.beatFailures % 20 === 0) this.log(`heartbeat failed (${this.beatFailures} in a row): ${(err as Error).message}`);
    }
  }

  private log(line: string): void {
    this.options.log?.(`worker ${this.id}: ${line}`);
  }
}

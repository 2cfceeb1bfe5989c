import { randomUUID } from 'node:crypto';
import type { Report } from '../environ/index.js';
import { ConflictError, NotFoundError, UsageError } from '../environ/index.js';
import type {
  ClaimedUnit, ClaimRequest, CompleteAndClaimAnswer, HeartbeatAnswer, JobCounts, JobFilter, JobRecord, JobStatus, NewJob, NodeInfo, OutboxItem, PruneReport, QueueSnapshot,
  Role, Store, StoreEvent, StoreOptions, UnitInfo, UnitMessage, UnitOutcome, UserInfo, WorkerInfo,
} from './types.js';
import { ROLES, TERMINAL } from './types.js';
import type { ClaimedRow, Driver, JobRow, QueueKey, UnitFinish, WriteTx } from './driver.js';
import { defaultName, DEFAULT_POOL } from './info.js';
import { uuid7 } from './ids.js';
import { backoffMs, groupPathParts, validateNewJob, DEFAULT_STORE_OPTIONS } from './rules.js';
import { emptyBatch, endsJob, jobUpdate, type JobBatch } from './decide/jobs.js';
import { chargedOwners, type OwnerUse } from './decide/usage.js';
import { deltasOf, mergePicks, packByRam } from './decide/claims.js';
import { lostTooOften, unplaceableNote } from './decide/notes.js';

/** How many ended jobs (and five times as many events) one pruning transaction removes: a few ms of lock each. */
const PRUNE_BATCH = 500;
/**
 * The pause between pruning transactions. A waiting writer may sleep in growing steps (SQLite's busy
 * handler: up to 100 ms): back-to-back transactions would keep a worker waiting far longer than any
 * one of them holds the lock. A gap lets it in.
 */
const PRUNE_GAP_MS = 10;

/**
 * The store: every decision every backend shares (validation, group ownership, retries, tallies and
 * job status, fail-fast, charging, placement notes, lost workers, pruning), made here inside one
 * driver transaction, over a driver that keeps only its database's statements (driver.ts).
 */
export class DriverStore implements Store {
  readonly options: StoreOptions;
  /** events noted by an open transaction, appended when it ends */
  private readonly pendingEvents = new Map<WriteTx, Array<{ verb: 'add' | 'update'; id: string; at: number }>>();

  constructor(
    readonly driver: Driver,
    options: Partial<StoreOptions> = {},
  ) {
    this.options = { ...DEFAULT_STORE_OPTIONS, ...options };
  }

  get description(): string {
    return this.driver.description;
  }

  async submit(jobs: NewJob[]): Promise<string[]> {
    for (const job of jobs) validateNewJob(job, this.options);
    const now = Date.now();
    return this.transact(async (tx) => {
      const groups = new Map<string, string>();
      const rows: JobRow[] = [];
      for (const job of jobs) {
        const retries = job.retries ?? 0;
        // The group first: ids follow creation, so a listing by date and id shows a group before what it holds.
        const parent = await this.ensureGroups(tx, job.owner, job.group, now, groups);
        rows.push({
          id: uuid7(now),
          owner: job.owner,
          name: job.name ?? defaultName(job.owner, job.environ),
          parent,
          jobType: typeof job.environ.job_type === 'string' ? job.environ.job_type : null,
          tags: job.tags ?? [],
          priority: job.priority ?? 0,
          class: job.class ?? 'normal',
          maxAttempts: 1 + retries,
          maxLost: job.maxLost ?? this.options.maxLost,
          retries,
          environ: job.environ,
          inputs: job.inputs ?? null,
          failFast: job.failFast ?? false,
          exclusive: job.exclusive ?? false,
          ramMb: job.ramMb ?? 0,
          runAfter: job.runAfter ?? null,
          keepMs: job.keepMs ?? null,
          pool: job.pool ?? DEFAULT_POOL,
          callbackUrl: job.callbackUrl ?? null,
          notify: job.notify ? { address: job.notify.address, now: job.notify.now ?? false, onlyFailures: job.notify.onlyFailures ?? false } : null,
          after: job.after ?? [],
          afterAny: job.afterAny ?? false,
          waiting: Boolean(job.after?.length),
          account: job.account ?? null,
        });
      }
      await this.checkDependencies(tx, rows);
      await tx.insertJobs(rows, now);
      const queued = rows.filter((r) => !r.waiting && (r.runAfter === null || r.runAfter <= now));
      await this.queueDelta(tx, 
        deltasOf(queued.flatMap((r) => Array.from({ length: r.inputs?.length ?? 1 }, () => ({ pool: r.pool, owner: r.account ?? r.owner, class: r.class, exclusive: r.exclusive, ramMb: r.ramMb }))), 1),
        now,
        false,
      );
      const ids = rows.map((r) => r.id);
      await this.events(tx, 'add', ids, now);
      // What waits for jobs that have already ended is released (or ended) at once.
      await this.settleWaiting(tx, rows.filter((r) => r.waiting).map((r) => r.id), now);
      return ids;
    });
  }

  async get(id: string): Promise<JobRecord | NodeInfo | null> {
    const node = await this.driver.read.getNode(id);
    if (!node || node.type !== 'job') return node ?? null;
    // Beside the fixed record: its callback's delivery and its e-mail notice, as they stand.
    const record = { ...(node as JobRecord) };
    for (const item of await this.driver.read.outboxOf(id)) {
      const { kind, url, only_failures, ...state } = item;
      if (kind === 'callback') record.delivery = { url, ...state };
      else record.notify = { address: url, mode: kind === 'mail' ? 'now' : 'digest', on: only_failures ? 'failure' : 'always', ...state };
    }
    return record;
  }

  async control(job: string, message: unknown): Promise<{ seq: number }> {
    let body: string;
    try {
      body = JSON.stringify(message);
    } catch {
      throw new UsageError('a control message must be JSON');
    }
    if (body === undefined) throw new UsageError('a control message must be JSON');
    if (Buffer.byteLength(body) > this.options.maxEnvironBytes) throw new UsageError(`a control message is at most ${this.options.maxEnvironBytes} bytes of JSON (SLUICE_MAX_ENVIRON)`);
    const now = Date.now();
    return this.transact(async (tx) => {
      const node = await tx.getNode(job);
      if (!node) throw new NotFoundError(`no job with id ${job}`);
      if (node.type !== 'job') throw new UsageError(`${job} is a group, not a job`);
      if (node.status && TERMINAL.has(node.status)) throw new ConflictError(`job ${job} has ended (${node.status}); a control message needs a job that is queued or running`);
      const seq = await tx.insertMessage(job, message, now);
      // Its worker, wherever it is, looks for messages when something changes.
      tx.notifyChange();
      return { seq };
    });
  }

  async takeMessages(_worker: string, units: Array<{ unit: number; token: number }>): Promise<UnitMessage[]> {
    if (!units.length) return [];
    // A read first: most of the time there is nothing, and nothing needs writing.
    const pending = await this.driver.read.pendingMessages(units);
    if (!pending.length) return [];
    const tokens = new Map(units.map((u) => [u.unit, u.token]));
    const last = new Map<number, number>();
    for (const m of pending) last.set(m.unit, Math.max(last.get(m.unit) ?? 0, m.seq));
    await this.transact((tx) => tx.advanceMessages([...last].map(([unit, seq]) => ({ unit, token: tokens.get(unit)!, seq }))));
    return pending;
  }

  async claimOutbox(kind: string, limit: number, leaseMs: number, dueBy?: number): Promise<OutboxItem[]> {
    const now = Date.now();
    return this.transact((tx) => tx.claimOutbox(kind, limit, now + leaseMs, dueBy ?? now, now));
  }

  async finishOutbox(id: number, outcome: { ok: true; digestOf?: number } | { ok: false; error: string; retryAt: number | null }): Promise<void> {
    const now = Date.now();
    await this.transact((tx) =>
      outcome.ok
        ? tx.finishOutbox(id, 'done', null, null, now, outcome.digestOf ?? null)
        : tx.finishOutbox(id, outcome.retryAt === null ? 'failed' : 'due', outcome.error, outcome.retryAt, now, null),
    );
  }

  async postponeOutbox(id: number, nextAt: number): Promise<void> {
    await this.transact((tx) => tx.postponeOutbox(id, nextAt));
  }

  digestSent(address: string, at: number): Promise<boolean> {
    return this.driver.read.digestSent(address, at);
  }

  async createUser(user: Parameters<Store['createUser']>[0]): Promise<void> {
    checkUserName(user.name);
    checkRole(user.role);
    const now = Date.now();
    await this.transact(async (tx) => {
      if (await tx.userWhere('name', user.name)) throw new ConflictError(`user ${user.name} exists already`);
      await tx.insertUser({ name: user.name, role: user.role, email: user.email ?? null, accounts: user.accounts ?? [], tokenHash: user.tokenHash }, now);
    });
  }

  listUsers(): Promise<UserInfo[]> {
    return this.driver.read.listUsers();
  }

  async getUser(name: string): Promise<UserInfo | null> {
    return (await this.driver.read.userWhere('name', name)) ?? null;
  }

  async userByTokenHash(hash: string): Promise<UserInfo | null> {
    return (await this.driver.read.userWhere('token', hash)) ?? null;
  }

  async updateUser(name: string, patch: Parameters<Store['updateUser']>[1]): Promise<UserInfo> {
    if (patch.role !== undefined) checkRole(patch.role);
    return this.transact(async (tx) => {
      if (!(await tx.updateUser(name, patch))) throw new NotFoundError(`no user ${name}`);
      return (await tx.userWhere('name', name))!;
    });
  }

  async deleteUser(name: string): Promise<void> {
    await this.transact(async (tx) => {
      if (!(await tx.deleteUser(name))) throw new NotFoundError(`no user ${name}`);
    });
  }

  list(filter: JobFilter = {}): Promise<NodeInfo[]> {
    return this.driver.read.listNodes(filter);
  }

  async group(pathText: string): Promise<NodeInfo | null> {
    let parent: string | null = null;
    for (const name of groupPathParts(pathText)) {
      const found = await this.driver.read.findGroup(parent, name);
      if (!found) return null;
      parent = found.id;
    }
    return parent ? ((await this.get(parent)) as NodeInfo) : null;
  }

  async dependencies(job: string): Promise<Array<{ id: string; status: JobStatus }>> {
    return (await this.driver.read.depStates(job)).deps.map((d) => ({ id: d.dep, status: d.status }));
  }

  units(job: string): Promise<UnitInfo[]> {
    return this.driver.read.units(job);
  }

  users(): Promise<Array<{ owner: string; group: string | null; jobs: number }>> {
    return this.driver.read.users();
  }

  async abort(id: string): Promise<JobRecord> {
    const now = Date.now();
    await this.transact(async (tx) => {
      const node = await tx.getNode(id);
      if (!node) throw new NotFoundError(`no job with id ${id}`);
      if (node.type !== 'job') throw new UsageError(`${id} is a group, not a job`);
      if (node.status && TERMINAL.has(node.status)) return;
      await this.stopWaiting(tx, id, now);
      await tx.flagRunningUnits(id);
      await tx.setAborted(id, 'aborted by request', now);
      await this.jobsEnded(tx, [id], now);
      await this.events(tx, 'update', [id], now);
    });
    return (await this.get(id)) as JobRecord;
  }

  async setShare(owner: string, share: number, rank?: number): Promise<void> {
    if (!(share > 0) || !Number.isFinite(share)) throw new UsageError(`a share must be a number above 0, got ${share}`);
    if (rank !== undefined && !(Number.isInteger(rank) && Math.abs(rank) <= 2 ** 31 - 1)) throw new UsageError(`a rank must be a whole number (a 32-bit integer), got ${rank}`);
    await this.transact(async (tx) => {
      await tx.setShare(owner, share, rank);
      tx.notifyChange();
    });
  }

  async registerWorker(info: Parameters<Store['registerWorker']>[0]): Promise<string> {
    const id = info.id ?? `${info.host}:${info.pid}:${randomUUID().slice(0, 8)}`;
    const now = Date.now();
    const worker: WorkerInfo = { ...info, id, pools: info.pools ?? [DEFAULT_POOL], labels: info.labels ?? {}, started_at: now, heartbeat_at: now };
    await this.transact((tx) => tx.insertWorker(worker));
    return id;
  }

  async unregisterWorker(id: string): Promise<void> {
    await this.transact((tx) => tx.deleteWorker(id));
  }

  async heartbeat(worker: string, leaseMs: number, units: number[]): Promise<HeartbeatAnswer> {
    const now = Date.now();
    const rows = await this.transact((tx) => tx.heartbeat(worker, units, now + leaseMs, now));
    return { held: rows.map((r) => r.id), abort: rows.filter((r) => r.abortRequested).map((r) => r.id) };
  }

  liveWorkers(withinMs: number): Promise<WorkerInfo[]> {
    return this.driver.read.liveWorkers(Date.now() - withinMs);
  }

  workerLoads(): Promise<Array<{ worker: string; running: number; ramMb: number }>> {
    return this.driver.read.workerLoads();
  }

  jobCounts(since: number, before: number, stepMs: number): Promise<JobCounts> {
    return this.driver.read.jobCounts(since, before, stepMs);
  }

  abortRequests(worker: string): Promise<number[]> {
    return this.driver.read.abortRequests(worker);
  }

  async queueSnapshot(pools?: string[]): Promise<QueueSnapshot> {
    const now = Date.now();
    // One consistent read (one statement on PostgreSQL). Delayed units whose time has come join their
    // queues first: claims rely on it, they take only what a snapshot showed the planner.
    let state = await this.driver.read.queueState(now);
    if (state.due) {
      await this.transact((tx) => this.promoteDue(tx, now));
      state = await this.driver.read.queueState(now);
    }
    const mine = pools ? new Set(pools) : undefined;
    {
      // Fair share holds within the pools asked for: their queues and running units only.
      const queues = state.queues.filter((q) => !mine || mine.has(q.pool));
      const running = state.running.filter((r) => !mine || mine.has(r.pool));
      const names = [...new Set([...queues.map((q) => q.owner), ...running.map((r) => r.owner)])];
      const stored = new Map(state.owners.map((o) => [o.owner, o]));
      const runningBy = new Map<string, number>();
      for (const r of running) runningBy.set(r.owner, (runningBy.get(r.owner) ?? 0) + 1);
      return {
        queues,
        owners: names.map((owner) => {
          const o = stored.get(owner);
          return { owner, share: o?.share ?? 1, usage: o?.usage ?? 0, usage_at: o?.usageAt ?? now, running: runningBy.get(owner) ?? 0, unit_seconds: o?.unitSeconds ?? null, rank: o?.rank ?? 0 };
        }),
        running: running.map((r) => ({ pool: r.pool, owner: r.owner, class: r.class, started_at: r.startedAt })),
      };
    }
  }

  claim(worker: string, request: ClaimRequest): Promise<ClaimedUnit[]> {
    return this.transact((tx) => this.claimIn(tx, worker, request, Date.now()));
  }

  async completeAndClaim(worker: string, finished: UnitOutcome[], request: ClaimRequest | null): Promise<CompleteAndClaimAnswer> {
    const now = Date.now();
    const { result, mark } = await this.transactWithMark(async (tx) => ({
      recorded: await this.completeIn(tx, finished, now),
      claimed: request ? await this.claimIn(tx, worker, request, now) : [],
    }));
    return { ...result, mark };
  }

  async claimJob(worker: string, job: string, limit: number, leaseMs: number): Promise<ClaimedUnit[]> {
    if (limit <= 0) return [];
    const now = Date.now();
    return this.transact(async (tx) => {
      await this.promoteDue(tx, now);
      const rows = await tx.claimJobUnits(worker, job, limit, now + leaseMs, now);
      const units = await this.started(tx, rows, now);
      await this.queueDelta(tx, deltasOf(rows, -1), now, true);
      return units;
    });
  }

  complete(outcomes: UnitOutcome[]): Promise<boolean[]> {
    if (!outcomes.length) return Promise.resolve([]);
    return this.transact((tx) => this.completeIn(tx, outcomes, Date.now()));
  }

  async release(units: Array<{ unit: number; token: number }>): Promise<void> {
    const now = Date.now();
    await this.transact(async (tx) => {
      const jobs = new Set<string>();
      const back: Array<QueueKey & { ramMb: number }> = [];
      for (const u of units) {
        const row = await tx.releaseUnit(u.unit, u.token, now);
        if (!row) continue;
        jobs.add(row.job);
        back.push(row);
      }
      await this.queueDelta(tx, deltasOf(back, 1), now, false);
      for (const job of jobs) await tx.requeueJob(job);
      await this.events(tx, 'update', [...jobs], now);
    });
  }

  async report(unit: number, token: number, report: Report): Promise<void> {
    const now = Date.now();
    await this.transact(async (tx) => {
      const job =
        report.kind === 'progress'
          ? await tx.setProgress(unit, token, { done: report.done, total: report.total, ...(report.message === undefined ? {} : { message: report.message }) })
          : await tx.setStatusText(unit, token, report.text);
      if (job) await this.events(tx, 'update', [job], now);
    });
  }

  reapExpired(): Promise<number> {
    const now = Date.now();
    return this.transact(async (tx) => {
      const expired = await tx.expiredUnits(now);
      const touched = new Set<string>();
      const failed = new Map<string, JobBatch>();
      for (const unit of expired) {
        touched.add(unit.job);
        if (unit.abortRequested) {
          await tx.abortUnit(unit.id);
        } else if (unit.lost + 1 >= unit.maxLost) {
          const reason = lostTooOften(unit.lost + 1);
          const idx = await tx.failLostUnit(unit.id, reason, now);
          await tx.noteLost(unit.job);
          const b = failed.get(unit.job) ?? emptyBatch();
          b.done += 1;
          b.failed += 1;
          b.result = reason;
          b.error = reason;
          b.unit = idx;
          failed.set(unit.job, b);
        } else {
          await this.queueDelta(tx, deltasOf([await tx.requeueLostUnit(unit.id, now)], 1), now, false);
          await tx.noteLost(unit.job);
          await tx.requeueJob(unit.job);
        }
      }
      await this.finishJobs(tx, failed, now);
      await this.noteUnplaceable(tx, now, touched);
      await this.events(tx, 'update', [...touched], now);
      return expired.length;
    });
  }

  async prune(options: { olderThanMs?: number; dryRun?: boolean } = {}): Promise<PruneReport> {
    const now = Date.now();
    const keep = options.olderThanMs ?? this.options.retentionMs;
    const eventCutoff = now - Math.max(keep, 0);
    const read = this.driver.read;
    const report: PruneReport = { jobs: 0, groups: 0, events: 0, through: await this.prunedThrough(), dryRun: Boolean(options.dryRun) };
    const eventsThrough = async () => {
      const first = await read.firstEventAfter(eventCutoff);
      return first === undefined ? await read.lastSeq() : first - 1;
    };
    if (options.dryRun) {
      report.jobs = (await read.expiredJobs(now, keep, Number.MAX_SAFE_INTEGER)).length;
      const last = await eventsThrough();
      report.events = last > report.through ? await read.countEventsThrough(last) : 0;
      return report;
    }
    // Small transactions: a worker waits for one batch at most, never for the whole pruning.
    for (;;) {
      const removed = await this.transact(async (tx) => {
        const ids = await tx.expiredJobs(now, keep, PRUNE_BATCH);
        if (!ids.length) return 0;
        // The groups that held them go too once empty, and then their parents if emptied in turn.
        let parents = new Set(await tx.deleteJobs(ids));
        while (parents.size) {
          const next = new Set<string | null>();
          for (const group of parents) {
            if (group === null) continue;
            const parent = await tx.deleteGroupIfEmpty(group);
            if (parent === undefined) continue;
            report.groups++;
            next.add(parent);
          }
          parents = next;
        }
        return ids.length;
      });
      report.jobs += removed;
      if (removed < PRUNE_BATCH) break;
      await pause(PRUNE_GAP_MS);
    }
    const through = await eventsThrough();
    if (through > report.through) {
      for (;;) {
        const removed = await this.transact((tx) => tx.deleteEventsThrough(through, PRUNE_BATCH * 5));
        report.events += removed;
        if (removed < PRUNE_BATCH * 5) break;
        await pause(PRUNE_GAP_MS);
      }
    }
    report.through = Math.max(report.through, through);
    // A pruning that found nothing writes nothing (many workers may prune the same store).
    if (!report.jobs && !report.events && !report.groups) return report;
    await this.transact(async (tx) => {
      await tx.setMeta('pruned_through', String(report.through));
      await tx.appendPruneEvent(report.through, report.jobs, now);
      tx.notifyChange();
    });
    return report;
  }

  async prunedThrough(): Promise<number> {
    return Number((await this.driver.read.getMeta('pruned_through')) ?? 0);
  }

  eventsAfter(seq: number, limit = 1000): Promise<StoreEvent[]> {
    return this.driver.read.eventsAfter(seq, limit);
  }

  eventsOf(node: string, limit = 1000): Promise<StoreEvent[]> {
    return this.driver.read.eventsOf(node, limit);
  }

  async hide(owner: string, nodes: string[]): Promise<void> {
    if (nodes.length) await this.transact((tx) => tx.hideNodes(owner, nodes));
  }

  hidden(owner: string): Promise<string[]> {
    return this.driver.read.hiddenNodes(owner);
  }

  lastSeq(): Promise<number> {
    return this.driver.read.lastSeq();
  }

  jobStats() {
    return this.driver.read.jobStats();
  }

  changeMark(): number {
    return this.driver.changeMark();
  }

  waitForChange(timeoutMs: number, signal?: AbortSignal, since?: number): Promise<void> {
    return this.driver.waitForChange(timeoutMs, signal, since);
  }

  close(): Promise<void> {
    return this.driver.close();
  }

  /** Takes the head units of each picked queue, in pick order, while they fit the worker's free RAM. */
  private async claimIn(tx: WriteTx, worker: string, request: ClaimRequest, now: number): Promise<ClaimedUnit[]> {
    // No promotion of due units here: the picks come from a queue snapshot, which promoted them
    // (a statement per claim cycle saved; a unit due since then waits for the next snapshot, 50 ms).
    const picks = mergePicks(request.picks);
    const lease = now + request.leaseMs;
    // Queues picked once (many owners) are claimed by one statement; a queue picked n times by its own.
    const single = picks.filter((p) => p.count === 1);
    const rows: ClaimedRow[] = single.length ? await tx.claimHeads(worker, single, request.freeRamMb, lease, now) : [];
    for (const pick of picks) {
      if (pick.count > 1) rows.push(...(await tx.claimFromQueue(worker, pick, pick.count, request.freeRamMb, lease, now)));
    }
    const { claimed, back } = packByRam(rows, picks, request.freeRamMb);
    for (const row of back) await tx.unclaim(row.id);
    // Jobs before queues, in every transaction: two workers never lock the same rows in opposite orders.
    const units = await this.started(tx, claimed, now);
    await this.queueDelta(tx, deltasOf(claimed, -1), now, true);
    return units;
  }

  /** Marks claimed units' jobs Running and hands out their environs, in claim order. */
  private async started(tx: WriteTx, units: ClaimedRow[], now: number): Promise<ClaimedUnit[]> {
    if (!units.length) return [];
    const attempts = new Map<string, number>();
    for (const u of units) attempts.set(u.job, Math.max(attempts.get(u.job) ?? 0, u.attempts));
    const environs = await tx.startJobs([...attempts].map(([job, a]) => ({ job, attempts: a })), now);
    await this.events(tx, 'update', [...attempts.keys()], now);
    return units.map((u) => {
      const started = environs.get(u.job);
      const environ = { ...(started?.environ ?? {}) };
      if (u.input !== null && u.input !== undefined) environ.input = u.input;
      // A unit's queue is its fair-share account's (u.owner); who it runs for is its job's owner.
      return { unit: u.id, token: u.token, job: u.job, index: u.idx, environ, attempt: u.attempts, pool: u.pool, owner: started?.owner ?? u.owner, account: u.owner, class: u.class, ramMb: u.ramMb, exclusive: u.exclusive };
    });
  }

  private async completeIn(tx: WriteTx, outcomes: UnitOutcome[], now: number): Promise<boolean[]> {
    if (!outcomes.length) return [];
    const finishes: UnitFinish[] = outcomes.map((o) => {
      const failed = !o.aborted && o.output.result !== 'SUCCESS';
      return {
        unit: o.unit,
        token: o.token,
        state: o.aborted ? 'aborted' : failed ? 'failed' : 'done',
        result: failed ? (o.output.traceback ?? o.output.exception ?? null) : (o.result ?? null),
        error: failed ? (o.output.exception ?? 'failed') : null,
      };
    });
    // Units whose token is stale (taken back, or aborted meanwhile) are not in the answer: nothing is recorded for them.
    const finished = await tx.finishUnits(finishes, now);
    const byUnit = new Map(outcomes.map((o, i) => [o.unit, { o, f: finishes[i]! }]));
    const batches = new Map<string, JobBatch>();
    const used = new Map<string, OwnerUse>();
    const retries: Array<{ unit: number; runAfter: number; job: string; error: string }> = [];
    for (const unit of finished) {
      const { o, f } = byUnit.get(unit.id)!;
      if (o.charge !== undefined || o.seconds !== undefined) {
        const u = used.get(unit.owner) ?? { charge: 0, seconds: 0, units: 0 };
        u.charge += o.charge ?? 0;
        if (o.seconds !== undefined) {
          u.seconds += o.seconds;
          u.units += 1;
        }
        used.set(unit.owner, u);
      }
      const aborted = Boolean(o.aborted) || unit.abortRequested;
      const failed = f.state === 'failed' && !aborted;
      if (failed && unit.retriesLeft > 0) {
        retries.push({ unit: unit.id, runAfter: now + backoffMs(unit.attempts), job: unit.job, error: f.error ?? 'failed' });
        continue;
      }
      const b = batches.get(unit.job) ?? emptyBatch();
      b.done += 1;
      b.failed += failed ? 1 : 0;
      b.aborted ||= aborted;
      b.output = o.output;
      b.result = f.result;
      if (failed) {
        b.error = f.error;
        b.unit = unit.idx;
      }
      batches.set(unit.job, b);
    }
    if (retries.length) {
      await tx.retryUnits(retries);
      for (const r of retries) await tx.noteRetry(r.job, `${r.error} (retrying at ${new Date(r.runAfter).toISOString()})`);
    }
    await this.finishJobs(tx, batches, now);
    // The owners' rows came with the finished units (one statement less per cycle).
    if (used.size) {
      const owners = new Map(finished.flatMap((u) => (u.ownerRow && used.has(u.owner) ? [[u.owner, u.ownerRow] as const] : [])));
      await tx.writeUsage(chargedOwners([...owners.values()], used, now, this.options.halfLifeMs));
    }
    await this.events(tx, 'update', [...new Set([...batches.keys(), ...retries.map((r) => r.job)])], now);
    const recorded = new Set(finished.map((u) => u.id));
    return outcomes.map((o) => recorded.has(o.unit));
  }

  /** Applies batches of finished units to their jobs; a job that has ended is not touched (its record is fixed). */
  private async finishJobs(tx: WriteTx, batches: Map<string, JobBatch>, now: number): Promise<void> {
    if (!batches.size) return;
    const tallies = (await tx.jobTallies([...batches.keys()])).filter((t) => !TERMINAL.has(t.status));
    const endingMaps = tallies.filter((t) => t.map && endsJob(t, batches.get(t.id)!)).map((t) => t.id);
    const outcomes = new Map<string, Awaited<ReturnType<WriteTx['unitOutcomes']>>>();
    for (const row of endingMaps.length ? await tx.unitOutcomes(endingMaps) : []) {
      let list = outcomes.get(row.job);
      if (!list) outcomes.set(row.job, (list = []));
      list.push(row);
    }
    const updates = tallies.map((t) => jobUpdate(t, batches.get(t.id)!, outcomes.get(t.id), now));
    // Most jobs have no outbox item and nothing waiting for them: the update says which do, and for
    // the others two statements are saved.
    await this.jobsEnded(tx, await tx.updateJobs(updates), now);
    for (const u of updates) {
      if (u.status === 'Failed' && tallies.find((t) => t.id === u.id)!.failFast) {
        await this.stopWaiting(tx, u.id, now);
        await tx.flagRunningUnits(u.id);
      }
    }
  }

  /** Jobs that just ended: their outbox items are due, and what waits for them may go. */
  private async jobsEnded(tx: WriteTx, ids: string[], now: number): Promise<void> {
    if (!ids.length) return;
    await tx.outboxDue(ids, now);
    const waiting = await tx.dependentsOf(ids);
    if (waiting.length) await this.settleWaiting(tx, [...new Set(waiting.map((w) => w.job))], now);
  }

  /**
   * Waiting jobs whose dependencies have all ended: released (their environ gets `after`: each
   * dependency's status, result and output) when they all succeeded or the job runs after any;
   * otherwise ended, Aborted when one was aborted, else Failed, naming it. Ending one may settle
   * what waits for it in turn.
   */
  private async settleWaiting(tx: WriteTx, jobs: string[], now: number): Promise<void> {
    for (const job of jobs) {
      const node = (await tx.getNode(job)) as JobRecord | undefined;
      if (!node || node.status !== 'Waiting') continue;
      const { afterAny, deps } = await tx.depStates(job);
      if (deps.some((d) => !TERMINAL.has(d.status))) continue;
      const bad = deps.find((d) => d.status !== 'Success');
      if (bad && !afterAny) {
        const status = bad.status === 'Aborted' ? 'Aborted' : 'Failed';
        await tx.endWaiting(job, status, `it waited for job ${bad.dep}, which ended ${bad.status}`, now);
        await this.events(tx, 'update', [job], now);
        await this.jobsEnded(tx, [job], now);
        continue;
      }
      const after = Object.fromEntries(deps.map((d) => [d.dep, { status: d.status, result: d.result, output: d.output }]));
      const back = await tx.releaseWaiting(job, { ...node.environ, after }, now);
      await this.queueDelta(tx, deltasOf(back, 1), now, false);
      await this.events(tx, 'update', [job], now);
    }
  }

  /** Every job waited for exists, is a job, and belongs to the submitter (the service checks wider rights before). */
  private async checkDependencies(tx: WriteTx, rows: JobRow[]): Promise<void> {
    for (const row of rows) if (!row.after.every((d) => typeof d === 'string' && d !== '')) throw new UsageError('after must list job ids');
    const deps = [...new Set(rows.flatMap((r) => r.after))];
    // Held to the commit: a dependency that ends meanwhile either ends before we read it (and we
    // release the job ourselves) or waits until our job is in (and the end releases it).
    if (deps.length) await tx.lockNodes(deps);
    for (const row of rows) {
      if (!row.after.length) continue;
      for (const dep of new Set(row.after)) {
        const node = await tx.getNode(dep);
        if (!node) throw new UsageError(`a job waits for ${dep}, which does not exist`);
        if (node.type !== 'job') throw new UsageError(`a job waits for ${dep}, which is a group, not a job`);
      }
      row.after = [...new Set(row.after)];
    }
  }

  /** Delayed units whose time has come join their queues. */
  private async promoteDue(tx: WriteTx, now: number): Promise<void> {
    const due = await tx.promoteDue(now);
    if (due.length) await this.queueDelta(tx, deltasOf(due, 1), now, false);
  }

  /** A job's queued and delayed units will never run. */
  private async stopWaiting(tx: WriteTx, job: string, now: number): Promise<void> {
    const stopped = await tx.stopWaitingUnits(job);
    if (stopped.length) await this.queueDelta(tx, deltasOf(stopped, -1), now, false);
  }

  /** Notes on queued jobs that no live worker of their pool could hold them, and why; clears notes that no longer hold. */
  private async noteUnplaceable(tx: WriteTx, now: number, touched: Set<string>): Promise<void> {
    const workers = await tx.liveWorkers(now - this.options.liveWorkerMs);
    if (!workers.length) return; // with no worker alive, nothing can be said about fit
    const pools = new Map<string, WorkerInfo[]>();
    for (const w of workers) for (const p of w.pools) pools.set(p, [...(pools.get(p) ?? []), w]);
    // Candidates: units bigger than the smallest of the pools' largest offers, or exclusive where some pool has no exclusive worker.
    const maxRam = Math.min(...[...pools.values()].map((ws) => Math.max(...ws.map((w) => w.ram_mb))));
    const someWithoutExclusive = [...pools.values()].some((ws) => !ws.some((w) => w.exclusive));
    const noted = new Set<string>();
    for (const c of await tx.unplaceableCandidates(maxRam, someWithoutExclusive)) {
      const serving = pools.get(c.pool);
      // A pool nobody serves is said when the job is read (service/queueView.ts); here, only fit.
      const note = noted.has(c.job) || !serving ? null : unplaceableNote(c, serving);
      if (!note) continue;
      noted.add(c.job);
      if (await tx.setNote(c.job, note)) touched.add(c.job);
    }
    for (const job of await tx.notedUnplaceable()) {
      if (!noted.has(job) && (await tx.clearNote(job))) touched.add(job);
    }
  }

  /** The group a job goes in, made on demand; a group belongs to the owner who made it. */
  private async ensureGroups(tx: WriteTx, owner: string, group: string | undefined, now: number, cache: Map<string, string>): Promise<string> {
    const pathText = group ?? owner;
    const cached = cache.get(pathText);
    if (cached) return cached;
    let parent: string | null = null;
    const made: string[] = [];
    const names = groupPathParts(pathText);
    for (const [i, name] of names.entries()) {
      let existing = await tx.findGroup(parent, name);
      if (!existing) {
        const id: string = uuid7(now);
        // Two first submissions at once both find no group; the one that loses uses the winner's.
        if (await tx.insertGroup({ id, name, parent, owner }, now)) {
          made.push(id);
          parent = id;
          continue;
        }
        existing = await tx.findGroup(parent, name);
        if (!existing) throw new Error(`group "${names.slice(0, i + 1).join('/')}" was neither made nor found`);
      }
      if (existing.owner !== owner) {
        throw new UsageError(`group "${names.slice(0, i + 1).join('/')}" belongs to ${existing.owner}; ${owner} cannot submit into it (choose another group path)`);
      }
      parent = existing.id;
    }
    await this.events(tx, 'add', made, now);
    cache.set(pathText, parent!);
    return parent!;
  }

  /**
   * Notes events to append: one per node, carrying its info as it is when the transaction ends.
   * They are written last, in the order noted, by one statement, so that the part of a transaction that orders event
   * appends across processes (PostgreSQL's event lock) is as short as can be.
   */
  private async events(tx: WriteTx, verb: 'add' | 'update', ids: string[], now: number): Promise<void> {
    if (!ids.length) return;
    let pending = this.pendingEvents.get(tx);
    if (!pending) this.pendingEvents.set(tx, (pending = []));
    for (const id of ids) pending.push({ verb, id, at: now });
  }

  /** Units join or leave queues: the counts follow, and waiters (a worker idle for want of work) wake at the commit. */
  private async queueDelta(tx: WriteTx, deltas: ReturnType<typeof deltasOf>, now: number, served: boolean): Promise<void> {
    if (!deltas.length) return;
    await tx.queueDelta(deltas, now, served);
    tx.notifyChange();
  }

  /** A write transaction whose noted events are appended at its end; waiters wake when it commits. */
  private transact<T>(fn: (tx: WriteTx) => Promise<T>): Promise<T> {
    return this.driver.transaction((tx) => this.withEvents(tx, fn));
  }

  private transactWithMark<T>(fn: (tx: WriteTx) => Promise<T>): Promise<{ result: T; mark: number }> {
    return this.driver.transactionWithMark((tx) => this.withEvents(tx, fn));
  }

  private async withEvents<T>(tx: WriteTx, fn: (tx: WriteTx) => Promise<T>): Promise<T> {
    this.pendingEvents.delete(tx);
    const result = await fn(tx);
    const pending = this.pendingEvents.get(tx);
    this.pendingEvents.delete(tx);
    // All of them in one statement: a claim cycle's starts and ends are one round trip.
    if (pending?.length) {
      await tx.appendEvents(pending);
      tx.notifyChange();
    }
    return result;
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function checkRole(role: string): asserts role is Role {
  if (!(ROLES as readonly string[]).includes(role)) throw new UsageError(`a role is one of ${ROLES.join(', ')}, got "${role}"`);
}

function checkUserName(name: string): void {
  if (typeof name !== 'string' || !/^[\w.@-]{1,100}$/.test(name)) throw new UsageError(`a user name is 1-100 letters, digits, ".", "_", "@" or "-", got ${JSON.stringify(name)}`);
}

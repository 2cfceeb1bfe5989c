import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import type { Environ, Report } from '../../environ/index.js';
import { NotFoundError, UsageError } from '../../environ/index.js';
import { charge as chargeUsage, learnUnitSeconds, whyImpossible, type WorkerOffer } from '../../schedule/index.js';
import type {
  ClaimedUnit, ClaimRequest, CompleteAndClaimAnswer, HeartbeatAnswer, JobFilter, JobRecord, NewJob, NodeInfo, PruneReport, QueueSnapshot, Store,
  StoreEvent, StoreOptions, UnitClass, UnitInfo, UnitOutcome, WorkerInfo,
} from '../types.js';
import { TERMINAL } from '../types.js';
import { defaultName, infoOf, recordOf, type NodeRow } from '../info.js';
import { uuid7 } from '../ids.js';
import { backoffMs, groupPathParts, validateNewJob, DEFAULT_STORE_OPTIONS } from '../rules.js';
import { MIGRATIONS } from './schema.js';
import { INFO_COLUMNS, prepare, type Statements } from './statements.js';
import { ChangeNotifier } from './notifier.js';
import { explainSqliteError } from './errors.js';

type Db = Database.Database;
/** A unit's queue, with how many units (default 1) and the RAM they need. */
type QueueKey = { owner: string; class: string; exclusive: number | boolean; ram_mb?: number; n?: number };
type ClaimedRow = { id: number; job: string; idx: number; priority: number; token: number; attempts: number; input: string | null; owner: string; class: UnitClass; ram_mb: number; exclusive: number };
/** One job's share of a batch of finished units, for `finishJobs`. */
type JobTally = { job: string; done: number; failed: number; aborted: number; output: unknown; result: unknown; error: string | null; unit: number | null };

/** How many ended jobs (and five times as many events) one pruning transaction removes: a few ms of lock each. */
const PRUNE_BATCH = 500;
/**
 * The pause between pruning transactions. SQLite's busy handler makes a waiting writer sleep in
 * growing steps (up to 100 ms): back-to-back transactions would keep a worker waiting far longer
 * than any one of them holds the lock. A gap lets it in.
 */
const PRUNE_GAP_MS = 10;

/**
 * The embedded store: one SQLite file in WAL mode, shared by any number of processes on one machine.
 * Writes use BEGIN IMMEDIATE so that concurrent writers queue on the lock instead of failing an
 * upgrade; synchronous=NORMAL keeps the database consistent after a crash (the last commits may be
 * lost on power failure, not on a process crash).
 */
export class SqliteStore implements Store {
  readonly db: Db;
  private readonly notifier: ChangeNotifier;
  private readonly q: Statements;
  private readonly options: StoreOptions;
  /** set inside a write when it changed something other consumers in this process wait for */
  private dirty = false;

  constructor(
    readonly file: string,
    options: Partial<StoreOptions> = {},
  ) {
    this.options = { ...DEFAULT_STORE_OPTIONS, ...options };
    try {
      this.db = new Database(file, { timeout: 10_000 });
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      // A bigger page cache and memory-mapped reads: lookups by id stay in memory instead of read() calls.
      this.db.pragma('cache_size = -65536');
      this.db.pragma('mmap_size = 1073741824');
      migrate(this.db);
      this.q = prepare(this.db);
    } catch (err) {
      throw explainSqliteError(err, file);
    }
    const version = this.db.prepare('PRAGMA data_version').pluck();
    this.notifier = new ChangeNotifier(file, () => version.get() as number);
  }

  async submit(jobs: NewJob[]): Promise<string[]> {
    for (const job of jobs) validateNewJob(job, this.options);
    const now = Date.now();
    return this.write(() => {
      const groups = new Map<string, string>();
      const queued: QueueKey[] = [];
      const rows = jobs.map((job) => {
        const retries = job.retries ?? 0;
        const units = job.inputs?.length ?? 1;
        const row = {
          id: uuid7(now),
          owner: job.owner,
          class: job.class ?? 'normal',
          priority: job.priority ?? 0,
          max: 1 + retries,
          maxLost: job.maxLost ?? this.options.maxLost,
          name: job.name ?? defaultName(job.owner, job.environ),
          parent: this.ensureGroups(job.owner, job.group, now, groups),
          job_type: typeof job.environ.job_type === 'string' ? job.environ.job_type : null,
          tags: job.tags ?? [],
          environ: job.environ,
          units,
          map: job.inputs ? 1 : 0,
          inputs: job.inputs ?? null,
          failFast: job.failFast ? 1 : 0,
          exclusive: job.exclusive ? 1 : 0,
          ram: job.ramMb ?? 0,
          retries,
          runAfter: job.runAfter ?? null,
          keep: job.keepMs ?? null,
        };
        const delayed = row.runAfter !== null && row.runAfter > now;
        if (!delayed) queued.push({ owner: row.owner, class: row.class, exclusive: row.exclusive, ram_mb: row.ram, n: units });
        return row;
      });
      // One JSON array carries the whole batch; each table gets one statement that expands it.
      const batch = encodeBatch(rows);
      this.q.insertJobs.run({ now, batch });
      this.q.insertUnits.run({ now, batch });
      this.q.insertMapUnits.run({ now, batch });
      this.queueDelta(queued, 1, now);
      const ids = rows.map((r) => r.id);
      this.events(now, 'add', ids);
      return ids;
    });
  }

  async get(id: string): Promise<JobRecord | NodeInfo | null> {
    const row = this.read(() => this.q.getNode.get(id)) as NodeRow | undefined;
    return row ? recordOf(row) : null;
  }

  async list(filter: JobFilter = {}): Promise<NodeInfo[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    const add = (clause: string, value: unknown) => {
      where.push(clause);
      args.push(value);
    };
    const type = filter.type ?? 'job';
    if (type !== 'any') add('type = ?', type);
    if (filter.owner !== undefined) add('owner = ?', filter.owner);
    if (filter.status !== undefined) add('status = ?', filter.status);
    if (filter.parent !== undefined) add('parent = ?', filter.parent);
    if (filter.tag !== undefined) add('EXISTS (SELECT 1 FROM json_each(nodes.tags) WHERE value = ?)', filter.tag);
    if (filter.under !== undefined) {
      add(
        `id IN (WITH RECURSIVE below(id) AS (SELECT id FROM nodes WHERE parent = ? UNION ALL SELECT n.id FROM nodes n JOIN below b ON n.parent = b.id) SELECT id FROM below)`,
        filter.under,
      );
    }
    const limit = filter.limit ? `LIMIT ${Math.floor(filter.limit)}` : '';
    const rows = this.read(() =>
      this.db.prepare(`SELECT ${INFO_COLUMNS} FROM nodes ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY date_created, rowid ${limit}`).all(...args),
    ) as NodeRow[];
    return rows.map(infoOf);
  }

  async group(pathText: string): Promise<NodeInfo | null> {
    let parent = '';
    let found: { id: string } | undefined;
    for (const name of groupPathParts(pathText)) {
      found = this.read(() => this.q.findGroup.get(parent, name)) as { id: string } | undefined;
      if (!found) return null;
      parent = found.id;
    }
    return found ? ((await this.get(found.id)) as NodeInfo) : null;
  }

  async units(job: string): Promise<UnitInfo[]> {
    const rows = this.read(() => this.q.units.all(job)) as Array<Omit<UnitInfo, 'exclusive'> & { input: string | null; result: string | null; exclusive: number }>;
    return rows.map((r) => ({
      ...r,
      input: r.input === null ? null : JSON.parse(r.input),
      result: r.result === null ? null : JSON.parse(r.result),
      exclusive: r.exclusive === 1,
    }));
  }

  async users(): Promise<Array<{ owner: string; group: string | null; jobs: number }>> {
    return this.read(() => this.q.users.all()) as Array<{ owner: string; group: string | null; jobs: number }>;
  }

  async abort(id: string): Promise<JobRecord> {
    const now = Date.now();
    this.write(() => {
      const row = this.q.getNode.get(id) as NodeRow | undefined;
      if (!row) throw new NotFoundError(`no job with id ${id}`);
      if (row.type !== 'job') throw new UsageError(`${id} is a group, not a job`);
      if (row.status && TERMINAL.has(row.status)) return;
      this.stopWaitingUnits(id, now);
      this.q.flagRunningUnits.run(id);
      this.q.setAborted.run(now, 'aborted by request', id);
      this.events(now, 'update', [id]);
    });
    return (await this.get(id)) as JobRecord;
  }

  async setShare(owner: string, share: number): Promise<void> {
    if (!(share > 0) || !Number.isFinite(share)) throw new UsageError(`a share must be a number above 0, got ${share}`);
    this.write(() => {
      this.q.setShare.run(owner, share);
      this.dirty = true;
    });
  }

  async registerWorker(info: Omit<WorkerInfo, 'id' | 'started_at' | 'heartbeat_at'> & { id?: string }): Promise<string> {
    const id = info.id ?? `${info.host}:${info.pid}:${randomUUID().slice(0, 8)}`;
    const now = Date.now();
    this.write(() => this.q.insertWorker.run(id, info.host, info.pid, info.concurrency, info.ram_mb, info.exclusive ? 1 : 0, now, now));
    return id;
  }

  async unregisterWorker(id: string): Promise<void> {
    this.write(() => this.q.deleteWorker.run(id));
  }

  async heartbeat(worker: string, leaseMs: number): Promise<HeartbeatAnswer> {
    const now = Date.now();
    return this.write(() => {
      this.q.touchWorker.run(now, worker);
      const rows = this.q.extendLeases.all(now + leaseMs, worker) as Array<{ id: number; abort_requested: number }>;
      return { held: rows.map((r) => r.id), abort: rows.filter((r) => r.abort_requested).map((r) => r.id) };
    });
  }

  async liveWorkers(withinMs: number): Promise<WorkerInfo[]> {
    const rows = this.read(() => this.q.liveWorkers.all(Date.now() - withinMs)) as Array<Omit<WorkerInfo, 'exclusive'> & { exclusive: number }>;
    return rows.map((r) => ({ ...r, exclusive: r.exclusive === 1 }));
  }

  async abortRequests(worker: string): Promise<number[]> {
    return this.read(() => this.q.abortRequests.all(worker)) as number[];
  }

  async queueSnapshot(): Promise<QueueSnapshot> {
    const now = Date.now();
    // Delayed units whose time has come join their queues first (a cheap index probe when none has).
    if (this.read(() => this.q.anyDue.get(now))) this.write(() => this.promoteDue(now));
    return this.read(() =>
      this.db.transaction(() => {
        const queues = (this.q.activeQueues.all() as Array<{ owner: string; class: UnitClass; exclusive: number; queued: number; since: number }>).map((r) => ({
          ...r,
          exclusive: r.exclusive === 1,
        }));
        const running = this.q.runningUnits.all() as QueueSnapshot['running'];
        const names = [...new Set([...queues.map((r) => r.owner), ...running.map((r) => r.owner)])];
        const stored = new Map(this.ownerRows(names).map((o) => [o.owner, o]));
        const runningBy = new Map<string, number>();
        for (const r of running) runningBy.set(r.owner, (runningBy.get(r.owner) ?? 0) + 1);
        const owners = names.map((owner) => ({
          owner,
          share: stored.get(owner)?.share ?? 1,
          usage: stored.get(owner)?.usage ?? 0,
          usage_at: stored.get(owner)?.usage_at ?? now,
          running: runningBy.get(owner) ?? 0,
          unit_seconds: stored.get(owner)?.unit_seconds ?? null,
        }));
        return { queues, owners, running };
      })(),
    );
  }

  async claim(worker: string, request: ClaimRequest): Promise<ClaimedUnit[]> {
    return this.write(() => this.claimNow(worker, request, Date.now()));
  }

  async completeAndClaim(worker: string, finished: UnitOutcome[], request: ClaimRequest | null): Promise<CompleteAndClaimAnswer> {
    const now = Date.now();
    const answer = this.write(() => ({
      recorded: this.completeNow(finished, now),
      claimed: request ? this.claimNow(worker, request, now) : [],
    }));
    return { ...answer, mark: this.notifier.mark() };
  }

  async claimJob(worker: string, job: string, limit: number, leaseMs: number): Promise<ClaimedUnit[]> {
    if (limit <= 0) return [];
    const now = Date.now();
    return this.write(() => {
      this.promoteDue(now);
      const rows = this.q.claimJob.all({ worker, lease: now + leaseMs, now, job, count: limit }) as ClaimedRow[];
      this.queueDelta(rows, -1, now, true);
      return this.started(rows.sort((a, b) => a.id - b.id), now);
    });
  }

  async complete(outcomes: UnitOutcome[]): Promise<boolean[]> {
    if (!outcomes.length) return [];
    return this.write(() => this.completeNow(outcomes, Date.now()));
  }

  async release(units: Array<{ unit: number; token: number }>): Promise<void> {
    const now = Date.now();
    this.write(() => {
      const jobs = new Set<string>();
      const back: QueueKey[] = [];
      for (const u of units) {
        const row = this.q.releaseUnit.get(now, u.unit, u.token) as (QueueKey & { job: string }) | undefined;
        if (!row) continue;
        jobs.add(row.job);
        back.push(row);
      }
      this.queueDelta(back, 1, now);
      for (const job of jobs) this.q.requeueJob.run(job);
      this.events(now, 'update', [...jobs]);
    });
  }

  async report(unit: number, token: number, report: Report): Promise<void> {
    const now = Date.now();
    this.write(() => {
      const updated = (
        report.kind === 'progress'
          ? this.q.setProgress.get(JSON.stringify({ done: report.done, total: report.total, ...(report.message === undefined ? {} : { message: report.message }) }), unit, token)
          : this.q.setStatusText.get(report.text, unit, token)
      ) as { id: string } | undefined;
      if (updated) this.events(now, 'update', [updated.id]);
    });
  }

  async reapExpired(): Promise<number> {
    const now = Date.now();
    return this.write(() => {
      const expired = this.q.expired.all(now) as Array<{ id: number; job: string; lost: number; max_lost: number; abort_requested: number }>;
      const touched = new Set<string>();
      const failed: JobTally[] = [];
      for (const unit of expired) {
        touched.add(unit.job);
        if (unit.abort_requested) {
          this.q.abortUnit.run(unit.id);
        } else if (unit.lost + 1 >= unit.max_lost) {
          // A unit that loses every worker it lands on may be what kills them: stop, and say so.
          const reason = `lost: the workers running this unit stopped answering ${unit.lost + 1} times (kill -9, a crash, a lost connection); stopped there in case the job itself kills its workers`;
          const { idx } = this.q.failUnit.get(reason, now, unit.id) as { idx: number };
          this.q.noteLost.run(unit.job);
          failed.push({ job: unit.job, done: 1, failed: 1, aborted: 0, output: null, result: reason, error: reason, unit: idx });
        } else {
          this.queueDelta([this.q.requeueLostUnit.get(now, unit.id) as QueueKey], 1, now);
          this.q.noteLost.run(unit.job);
          this.q.requeueJob.run(unit.job);
        }
      }
      if (failed.length) this.finishJobs(failed, now);
      this.noteUnplaceable(now, touched);
      this.events(now, 'update', [...touched]);
      return expired.length;
    });
  }

  async prune(options: { olderThanMs?: number; dryRun?: boolean } = {}): Promise<PruneReport> {
    const now = Date.now();
    const keep = options.olderThanMs ?? this.options.retentionMs;
    const eventCutoff = now - Math.max(keep, 0);
    const report: PruneReport = { jobs: 0, groups: 0, events: 0, through: await this.prunedThrough(), dryRun: Boolean(options.dryRun) };
    if (options.dryRun) {
      report.jobs = (this.read(() => this.q.expiredJobs.all({ now, keep, limit: -1 })) as string[]).length;
      const first = this.read(() => this.q.firstKeptEvent.get(eventCutoff)) as number | undefined;
      const last = first === undefined ? await this.lastSeq() : first - 1;
      report.events = last > report.through ? (this.read(() => this.q.countEventsThrough.get(last)) as number) : 0;
      return report;
    }
    // Small transactions: a worker waits for one batch at most, never for the whole pruning.
    for (;;) {
      const removed = this.write(() => {
        const ids = this.q.expiredJobs.all({ now, keep, limit: PRUNE_BATCH }) as string[];
        if (!ids.length) return 0;
        const list = JSON.stringify(ids);
        this.q.deleteUnitsOf.run(list);
        // The groups that held them go too once empty, and then their parents if emptied in turn.
        let parents = new Set(this.q.deleteNodes.all(list) as Array<string | null>);
        while (parents.size) {
          const next = new Set<string | null>();
          for (const group of parents) {
            if (group === null) continue;
            const parent = this.q.deleteIfEmptyGroup.get(group) as string | null | undefined;
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
    const first = this.read(() => this.q.firstKeptEvent.get(eventCutoff)) as number | undefined;
    const through = first === undefined ? await this.lastSeq() : first - 1;
    if (through > report.through) {
      for (;;) {
        const removed = this.write(() => this.q.deleteEventsThrough.run(through, PRUNE_BATCH * 5).changes);
        report.events += removed;
        if (removed < PRUNE_BATCH * 5) break;
        await pause(PRUNE_GAP_MS);
      }
    }
    report.through = Math.max(report.through, through);
    if (!report.jobs && !report.events && !report.groups) return report;
    this.write(() => {
      this.q.setMeta.run('pruned_through', report.through);
      this.q.insertPruneEvent.run(now, JSON.stringify({ through: report.through, jobs: report.jobs }));
      this.dirty = true;
    });
    return report;
  }

  async prunedThrough(): Promise<number> {
    return Number(this.read(() => this.q.getMeta.get('pruned_through')) ?? 0);
  }

  async eventsAfter(seq: number, limit = 1000): Promise<StoreEvent[]> {
    const rows = this.read(() => this.q.eventsAfter.all(seq, limit)) as Array<{ seq: number; at: number; verb: StoreEvent['verb']; node: string; owner: string; info: string }>;
    return rows.map((r): StoreEvent => {
      if (r.verb === 'prune') {
        const { through, jobs } = JSON.parse(r.info) as { through: number; jobs: number };
        return { seq: r.seq, at: r.at, verb: 'prune', through, jobs };
      }
      return { seq: r.seq, at: r.at, verb: r.verb, id: r.node, owner: r.owner, info: JSON.parse(r.info) as NodeInfo };
    });
  }

  async lastSeq(): Promise<number> {
    return (this.read(() => this.q.lastSeq.get()) as number | null) ?? 0;
  }

  changeMark(): number {
    return this.notifier.mark();
  }

  waitForChange(timeoutMs: number, signal?: AbortSignal, since?: number): Promise<void> {
    return this.notifier.wait(timeoutMs, signal, since);
  }

  async close(): Promise<void> {
    this.notifier.close();
    this.db.close();
  }

  /** Takes the head units of each picked queue, in pick order, while they fit the worker's free RAM. */
  private claimNow(worker: string, request: ClaimRequest, now: number): ClaimedUnit[] {
    this.promoteDue(now);
    const picks = mergePicks(request.picks);
    const lease = now + request.leaseMs;
    // Queues picked once (many owners) are claimed by one statement; a queue picked n times by its own.
    const single = picks.filter((p) => p.count === 1);
    const rows: ClaimedRow[] = single.length
      ? (this.q.claimHeads.all({ worker, lease, now, ram: request.freeRamMb, picks: JSON.stringify(single.map(pickKey)) }) as ClaimedRow[])
      : [];
    for (const pick of picks) {
      if (pick.count === 1) continue;
      rows.push(...(this.q.claimFromQueue.all({ worker, lease, now, ram: request.freeRamMb, count: pick.count, ...pickKey(pick) }) as ClaimedRow[]));
    }
    // Each unit fits the free RAM alone; together they may not: keep them in pick order while they fit.
    const order = new Map(picks.map((p, i) => [queueKeyOf(p), i]));
    rows.sort((a, b) => order.get(queueKeyOf(a))! - order.get(queueKeyOf(b))! || claimOrder(a, b));
    let freeRam = request.freeRamMb;
    const claimed: ClaimedRow[] = [];
    for (const row of rows) {
      if (row.ram_mb <= freeRam) {
        freeRam -= row.ram_mb;
        claimed.push(row);
      } else {
        this.q.unclaim.run(row.id);
      }
    }
    this.queueDelta(claimed, -1, now, true);
    return this.started(claimed, now);
  }

  /** Marks claimed units' jobs Running and hands out their environs, in claim order. */
  private started(units: ClaimedRow[], now: number): ClaimedUnit[] {
    if (!units.length) return [];
    const rows = this.q.startJobs.all({ now, units: JSON.stringify(units.map((u) => ({ job: u.job, a: u.attempts }))) }) as Array<{ id: string; environ: string }>;
    const environs = new Map(rows.map((r) => [r.id, r.environ]));
    this.events(now, 'update', [...new Set(units.map((u) => u.job))]);
    return units.map((u) => {
      const environ = JSON.parse(environs.get(u.job) ?? (this.q.getEnviron.get(u.job) as string | undefined) ?? '{}') as Environ;
      if (u.input !== null) environ.input = JSON.parse(u.input);
      return { unit: u.id, token: u.token, job: u.job, index: u.idx, environ, attempt: u.attempts, owner: u.owner, class: u.class, ramMb: u.ram_mb, exclusive: u.exclusive === 1 };
    });
  }

  private completeNow(outcomes: UnitOutcome[], now: number): boolean[] {
    if (!outcomes.length) return [];
    const states = outcomes.map((o) => {
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
    const finished = this.q.finishUnits.all({ now, outcomes: JSON.stringify(states) }) as Array<{
      id: number; job: string; idx: number; abort_requested: number; retries_left: number; attempts: number; owner: string;
    }>;
    const byUnit = new Map(outcomes.map((o, i) => [o.unit, { o, s: states[i]! }]));
    const jobs = new Map<string, JobTally>();
    const used = new Map<string, { charge: number; seconds: number; units: number }>();
    const retried: Array<{ job: string; error: string; at: number }> = [];
    for (const unit of finished) {
      const { o, s } = byUnit.get(unit.id)!;
      if (o.charge !== undefined || o.seconds !== undefined) {
        const u = used.get(unit.owner) ?? { charge: 0, seconds: 0, units: 0 };
        u.charge += o.charge ?? 0;
        if (o.seconds !== undefined) {
          u.seconds += o.seconds;
          u.units += 1;
        }
        used.set(unit.owner, u);
      }
      const aborted = o.aborted || unit.abort_requested === 1;
      const failed = s.state === 'failed' && !aborted;
      if (failed && unit.retries_left > 0) {
        const at = now + backoffMs(unit.attempts);
        this.q.retryUnit.run({ unit: unit.id, runAfter: at });
        retried.push({ job: unit.job, error: s.error ?? 'failed', at });
        continue;
      }
      const entry = jobs.get(unit.job) ?? { job: unit.job, done: 0, failed: 0, aborted: 0, output: null, result: null, error: null, unit: null };
      entry.done += 1;
      entry.failed += failed ? 1 : 0;
      entry.aborted = entry.aborted || aborted ? 1 : 0;
      entry.output = o.output;
      entry.result = s.result;
      if (failed) {
        entry.error = s.error;
        entry.unit = unit.idx;
      }
      jobs.set(unit.job, entry);
    }
    for (const r of retried) {
      this.q.noteRetry.run(`${r.error} (retrying at ${new Date(r.at).toISOString()})`, r.job);
    }
    this.finishJobs([...jobs.values()], now);
    this.chargeOwners(used, now);
    this.events(now, 'update', [...new Set([...jobs.keys(), ...retried.map((r) => r.job)])]);
    const recorded = new Set(finished.map((u) => u.id));
    return outcomes.map((o) => recorded.has(o.unit));
  }

  /** Updates the jobs of finished units; a job that fails fast stops its other units. */
  private finishJobs(tallies: JobTally[], now: number): void {
    if (!tallies.length) return;
    const ended = this.q.finishJobs.all({ now, jobs: JSON.stringify(tallies) }) as Array<{ id: string; status: string; fail_fast: number }>;
    for (const job of ended) {
      if (job.status === 'Failed' && job.fail_fast) {
        this.stopWaitingUnits(job.id, now);
        this.q.flagRunningUnits.run(job.id);
      }
    }
  }

  /** Adds finished units' usage to their owners (decayed first) and teaches them how long their units take. */
  private chargeOwners(used: Map<string, { charge: number; seconds: number; units: number }>, now: number): void {
    if (!used.size) return;
    const stored = new Map(this.ownerRows([...used.keys()]).map((o) => [o.owner, o]));
    const rows = [...used].map(([owner, u]) => {
      const old = stored.get(owner);
      const usage = chargeUsage({ value: old?.usage ?? 0, at: old?.usage_at ?? now }, u.charge, now, this.options.halfLifeMs);
      const unitSeconds = u.units ? learnUnitSeconds(old?.unit_seconds ?? null, u.seconds / u.units, u.units) : (old?.unit_seconds ?? null);
      return { owner, usage: usage.value, usage_at: usage.at, unit_seconds: unitSeconds };
    });
    this.q.writeUsage.run({ owners: JSON.stringify(rows) });
  }

  private ownerRows(names: string[]): Array<{ owner: string; share: number; usage: number; usage_at: number; unit_seconds: number | null }> {
    return this.q.ownersIn.all(JSON.stringify(names)) as Array<{ owner: string; share: number; usage: number; usage_at: number; unit_seconds: number | null }>;
  }

  /** Delayed units whose time has come join their queues. */
  private promoteDue(now: number): void {
    this.queueDelta(this.q.promoteDelayed.all(now) as QueueKey[], 1, now);
  }

  /** A job's queued and delayed units will never run. */
  private stopWaitingUnits(job: string, now: number): void {
    this.queueDelta(this.q.stopQueuedUnits.all(job) as QueueKey[], -1, now);
    this.q.stopDelayedUnits.run(job);
  }

  /** Counts units into (sign 1) or out of (sign -1) their queues, one statement for the lot. */
  private queueDelta(units: QueueKey[], sign: 1 | -1, now: number, served = false): void {
    if (!units.length) return;
    const deltas = new Map<string, { owner: string; class: string; exclusive: number; n: number; ram: number }>();
    for (const u of units) {
      const key = queueKeyOf(u);
      const d = deltas.get(key) ?? { owner: u.owner, class: u.class, exclusive: Number(u.exclusive), n: 0, ram: 0 };
      d.n += sign * (u.n ?? 1);
      if (sign > 0) d.ram = Math.max(d.ram, u.ram_mb ?? 0);
      deltas.set(key, d);
    }
    this.q.queueDelta.run({ now, served: served ? 1 : 0, deltas: JSON.stringify([...deltas.values()]) });
    this.dirty = true;
  }

  /** Notes on queued jobs that no live worker could hold them, and why (schedule/placement's words); clears notes that no longer hold. */
  private noteUnplaceable(now: number, touched: Set<string>): void {
    const workers = this.q.liveWorkers.all(now - this.options.liveWorkerMs) as Array<{ concurrency: number; ram_mb: number; exclusive: number }>;
    if (!workers.length) return; // with no worker alive, nothing can be said about fit
    const offers: WorkerOffer[] = workers.map((w) => ({ concurrency: w.concurrency, ramMb: w.ram_mb, exclusive: w.exclusive === 1 }));
    const maxRam = Math.max(...offers.map((o) => o.ramMb));
    const candidates = [
      ...(this.q.tooBig.all({ ram: maxRam }) as Array<{ job: string; ram_mb: number; exclusive: number }>),
      ...(offers.some((o) => o.exclusive) ? [] : (this.q.exclusiveQueued.all() as Array<{ job: string; ram_mb: number; exclusive: number }>)),
    ];
    const noted = new Set<string>();
    for (const row of candidates) {
      const why = whyImpossible({ ramMb: row.ram_mb, exclusive: row.exclusive === 1 }, offers);
      if (!why || noted.has(row.job)) continue;
      noted.add(row.job);
      const reason = `cannot run yet: ${why}`;
      if (this.q.setError.run(reason, row.job, reason).changes) touched.add(row.job);
    }
    for (const row of this.q.notedUnplaceable.all() as Array<{ id: string }>) {
      if (!noted.has(row.id) && this.q.clearError.run(row.id).changes) touched.add(row.id);
    }
  }

  private ensureGroups(owner: string, group: string | undefined, now: number, cache: Map<string, string>): string {
    const pathText = group ?? owner;
    const cached = cache.get(pathText);
    if (cached) return cached;
    let parent: string | null = null;
    const made: string[] = [];
    const names = groupPathParts(pathText);
    for (const [i, name] of names.entries()) {
      const existing = this.q.findGroup.get(parent ?? '', name) as { id: string; owner: string } | undefined;
      if (existing) {
        // A group belongs to the owner who made it: nobody else's job lands in it.
        if (existing.owner !== owner) {
          throw new UsageError(`group "${names.slice(0, i + 1).join('/')}" belongs to ${existing.owner}; ${owner} cannot submit into it (choose another group path)`);
        }
        parent = existing.id;
        continue;
      }
      const id = uuid7(now);
      this.q.insertGroup.run(id, name, parent, owner, now);
      made.push(id);
      parent = id;
    }
    this.events(now, 'add', made);
    cache.set(pathText, parent!);
    return parent!;
  }

  /** Appends one event per node, carrying its info as it is now. */
  private events(now: number, verb: 'add' | 'update', ids: string[]): void {
    if (!ids.length) return;
    this.q.insertEventsFor.run({ now, verb, ids: JSON.stringify(ids) });
    this.dirty = true;
  }

  /** A read; SQLite's failures come out as one line naming the database and the cause. */
  private read<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      throw explainSqliteError(err, this.file);
    }
  }

  /** A write transaction; when it changed what others wait for (events, queues), waiters in this process wake at once. */
  private write<T>(fn: () => T): T {
    if (this.db.inTransaction) return fn();
    this.dirty = false;
    let result: T;
    try {
      result = this.db.transaction(fn).immediate();
    } catch (err) {
      this.dirty = false;
      throw explainSqliteError(err, this.file);
    }
    if (this.dirty) {
      this.dirty = false;
      this.notifier.localCommit();
    }
    return result;
  }
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** All picks of one queue as one pick with the summed count, in order of first appearance. */
function mergePicks(picks: ClaimRequest['picks']): ClaimRequest['picks'] {
  const merged = new Map<string, ClaimRequest['picks'][number]>();
  for (const p of picks) {
    if (p.count <= 0) continue;
    const key = queueKeyOf(p);
    const m = merged.get(key);
    if (m) m.count += p.count;
    else merged.set(key, { ...p });
  }
  return [...merged.values()];
}

function pickKey(p: ClaimRequest['picks'][number]): { owner: string; class: string; exclusive: number } {
  return { owner: p.owner, class: p.class, exclusive: p.exclusive ? 1 : 0 };
}

function queueKeyOf(u: { owner: string; class: string; exclusive: number | boolean }): string {
  return `${u.owner}\u0000${u.class}\u0000${Number(u.exclusive)}`;
}

function claimOrder(a: ClaimedRow, b: ClaimedRow): number {
  return b.priority - a.priority || a.id - b.id;
}

/** The batch as one JSON text; an environ that cannot be JSON is refused naming the job. */
function encodeBatch(rows: Array<{ environ: unknown }>): string {
  try {
    return JSON.stringify(rows);
  } catch {
    const bad = rows.findIndex((r) => {
      try {
        JSON.stringify(r.environ);
        return false;
      } catch {
        return true;
      }
    });
    throw new UsageError(`the environ of job ${bad + 1} of ${rows.length} cannot be stored as JSON`);
  }
}

function migrate(db: Db): void {
  const apply = db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      throw new Error(`the database was written by a newer Sluice (schema ${version}, this one knows ${MIGRATIONS.length})`);
    }
    for (let v = version; v < MIGRATIONS.length; v++) db.exec(MIGRATIONS[v]!);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
  });
  apply.immediate();
}

import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Environ, Report } from '../../environ/index.js';
import { NotFoundError, UsageError } from '../../environ/index.js';
import type {
  ClaimedUnit, ClaimRequest, HeartbeatAnswer, JobFilter, JobRecord, NewJob, NodeInfo, QueueSnapshot, Store, StoreEvent,
  UnitClass, UnitInfo, UnitOutcome, WorkerInfo,
} from '../types.js';
import { DEFAULT_HALF_LIFE_MS, LIVE_WORKER_MS, TERMINAL } from '../types.js';
import { defaultName, infoOf, recordOf, type NodeRow } from '../info.js';
import { uuid7 } from '../ids.js';
import { backoffMs, validateNewJob, DEFAULT_MAX_ATTEMPTS } from '../rules.js';
import { MIGRATIONS } from './schema.js';
import { INFO_COLUMNS, prepare, type Statements } from './statements.js';
import { ChangeNotifier } from './notifier.js';

type Db = Database.Database;
/** A unit's queue, with how many units (default 1) and the RAM they need. */
type QueueKey = { owner: string; class: string; exclusive: number | boolean; ram_mb?: number; n?: number };
type ClaimedRow = { id: number; job: string; idx: number; priority: number; token: number; attempts: number; input: string | null; owner: string; class: UnitClass; ram_mb: number; exclusive: number };

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

  constructor(
    readonly file: string,
    private readonly halfLifeMs = DEFAULT_HALF_LIFE_MS,
  ) {
    mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file, { timeout: 10_000 });
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    // A bigger page cache and memory-mapped reads: lookups by id stay in memory instead of read() calls.
    this.db.pragma('cache_size = -65536');
    this.db.pragma('mmap_size = 1073741824');
    migrate(this.db);
    this.q = prepare(this.db);
    const version = this.db.prepare('PRAGMA data_version').pluck();
    this.notifier = new ChangeNotifier(file, () => version.get() as number);
  }

  async submit(jobs: NewJob[]): Promise<string[]> {
    for (const job of jobs) validateNewJob(job);
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
          max: job.maxAttempts ?? DEFAULT_MAX_ATTEMPTS + retries,
          name: job.name ?? defaultName(job.owner, job.environ),
          parent: this.ensureGroups(job.owner, job.group, now, groups),
          job_type: typeof job.environ.job_type === 'string' ? job.environ.job_type : null,
          tags: job.tags ?? [],
          environ: job.environ,
          units,
          inputs: job.inputs ?? null,
          failFast: job.failFast ? 1 : 0,
          exclusive: job.exclusive ? 1 : 0,
          ram: job.ramMb ?? 0,
          retries,
          runAfter: job.runAfter ?? null,
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
    const row = this.q.getNode.get(id) as NodeRow | undefined;
    return row ? recordOf(row) : null;
  }

  async list(filter: JobFilter = {}): Promise<NodeInfo[]> {
    const where = ['type = ?'];
    const args: unknown[] = [filter.type ?? 'job'];
    const add = (clause: string, value: unknown) => {
      where.push(clause);
      args.push(value);
    };
    if (filter.owner !== undefined) add('owner = ?', filter.owner);
    if (filter.status !== undefined) add('status = ?', filter.status);
    if (filter.parent !== undefined) add('parent = ?', filter.parent);
    if (filter.tag !== undefined) add('EXISTS (SELECT 1 FROM json_each(nodes.tags) WHERE value = ?)', filter.tag);
    const limit = filter.limit ? `LIMIT ${Math.floor(filter.limit)}` : '';
    const rows = this.db
      .prepare(`SELECT ${INFO_COLUMNS} FROM nodes WHERE ${where.join(' AND ')} ORDER BY date_created, rowid ${limit}`)
      .all(...args) as NodeRow[];
    return rows.map(infoOf);
  }

  async units(job: string): Promise<UnitInfo[]> {
    const rows = this.q.units.all(job) as Array<UnitInfo & { input: string | null; result: string | null }>;
    return rows.map((r) => ({ ...r, input: r.input === null ? null : JSON.parse(r.input), result: r.result === null ? null : JSON.parse(r.result) }));
  }

  async users(): Promise<Array<{ owner: string; group: string | null; jobs: number }>> {
    return this.q.users.all() as Array<{ owner: string; group: string | null; jobs: number }>;
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
    this.write(() => this.q.setShare.run(owner, share));
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
    const rows = this.q.liveWorkers.all(Date.now() - withinMs) as Array<Omit<WorkerInfo, 'exclusive'> & { exclusive: number }>;
    return rows.map((r) => ({ ...r, exclusive: r.exclusive === 1 }));
  }

  async abortRequests(worker: string): Promise<number[]> {
    return this.q.abortRequests.all(worker) as number[];
  }

  async queueSnapshot(): Promise<QueueSnapshot> {
    const now = Date.now();
    // Delayed units whose time has come join their queues first (a cheap index probe when none has).
    if (this.q.anyDue.get(now)) this.write(() => this.promoteDue(now));
    return this.db.transaction(() => {
      const queues = (this.q.activeQueues.all() as Array<{ owner: string; class: UnitClass; exclusive: number; queued: number; since: number }>).map((r) => ({
        ...r,
        exclusive: r.exclusive === 1,
      }));
      const running = this.q.runningUnits.all() as QueueSnapshot['running'];
      const names = [...new Set([...queues.map((r) => r.owner), ...running.map((r) => r.owner)])];
      const stored = new Map((this.q.ownersIn.all(JSON.stringify(names)) as Array<{ owner: string; share: number; usage: number; usage_at: number }>).map((o) => [o.owner, o]));
      const runningBy = new Map<string, number>();
      for (const r of running) runningBy.set(r.owner, (runningBy.get(r.owner) ?? 0) + 1);
      const owners = names.map((owner) => ({
        owner,
        share: stored.get(owner)?.share ?? 1,
        usage: stored.get(owner)?.usage ?? 0,
        usage_at: stored.get(owner)?.usage_at ?? now,
        running: runningBy.get(owner) ?? 0,
      }));
      return { queues, owners, running };
    })();
  }

  async claim(worker: string, request: ClaimRequest): Promise<ClaimedUnit[]> {
    return this.write(() => this.claimNow(worker, request, Date.now()));
  }

  async completeAndClaim(worker: string, finished: UnitOutcome[], request: ClaimRequest | null): Promise<{ recorded: boolean[]; claimed: ClaimedUnit[] }> {
    const now = Date.now();
    return this.write(() => ({
      recorded: this.completeNow(finished, now),
      claimed: request ? this.claimNow(worker, request, now) : [],
    }));
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
      const expired = this.q.expired.all(now) as Array<{ id: number; job: string; attempts: number; max_attempts: number; abort_requested: number }>;
      const touched = new Set<string>();
      for (const unit of expired) {
        touched.add(unit.job);
        if (unit.abort_requested) {
          this.q.abortUnit.run(unit.id);
        } else if (unit.attempts >= unit.max_attempts) {
          const reason = `lost: the workers running this job stopped answering ${unit.attempts} time(s); no attempts left`;
          this.q.failUnit.run(reason, now, unit.id);
          this.q.failJob.run(now, JSON.stringify(reason), reason, unit.job);
        } else {
          this.queueDelta([this.q.requeueUnit.get(now, unit.id) as QueueKey], 1, now);
          this.q.requeueJob.run(unit.job);
        }
      }
      this.noteUnplaceable(now, touched);
      this.events(now, 'update', [...touched]);
      return expired.length;
    });
  }

  async eventsAfter(seq: number, limit = 1000): Promise<StoreEvent[]> {
    const rows = this.q.eventsAfter.all(seq, limit) as Array<{ seq: number; at: number; verb: 'add' | 'update'; node: string; owner: string; info: string }>;
    return rows.map((r) => ({ seq: r.seq, at: r.at, verb: r.verb, id: r.node, owner: r.owner, info: JSON.parse(r.info) as NodeInfo }));
  }

  async lastSeq(): Promise<number> {
    return (this.q.lastSeq.get() as number | null) ?? 0;
  }

  waitForChange(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    return this.notifier.wait(timeoutMs, signal);
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
      id: number; job: string; abort_requested: number; retries_left: number; attempts: number; owner: string;
    }>;
    const byUnit = new Map(outcomes.map((o, i) => [o.unit, { o, s: states[i]! }]));
    const jobs = new Map<string, { job: string; done: number; failed: number; aborted: number; output: unknown; result: unknown; error: string | null }>();
    const charges = new Map<string, number>();
    const retried: Array<{ job: string; error: string; at: number }> = [];
    for (const unit of finished) {
      const { o, s } = byUnit.get(unit.id)!;
      if (o.charge) charges.set(unit.owner, (charges.get(unit.owner) ?? 0) + o.charge);
      const aborted = o.aborted || unit.abort_requested === 1;
      const failed = s.state === 'failed' && !aborted;
      if (failed && unit.retries_left > 0) {
        const at = now + backoffMs(unit.attempts);
        this.q.retryUnit.run({ unit: unit.id, runAfter: at });
        retried.push({ job: unit.job, error: s.error ?? 'failed', at });
        continue;
      }
      const entry = jobs.get(unit.job) ?? { job: unit.job, done: 0, failed: 0, aborted: 0, output: null, result: null, error: null };
      entry.done += 1;
      entry.failed += failed ? 1 : 0;
      entry.aborted = entry.aborted || aborted ? 1 : 0;
      entry.output = o.output;
      entry.result = s.result;
      if (failed) entry.error = s.error;
      jobs.set(unit.job, entry);
    }
    for (const r of retried) {
      this.q.noteRetry.run(`${r.error} (retrying at ${new Date(r.at).toISOString()})`, r.job);
    }
    if (jobs.size) {
      const ended = this.q.finishJobs.all({ now, jobs: JSON.stringify([...jobs.values()]) }) as Array<{ id: string; status: string; fail_fast: number }>;
      for (const job of ended) {
        if (job.status === 'Failed' && job.fail_fast) {
          this.stopWaitingUnits(job.id, now);
          this.q.flagRunningUnits.run(job.id);
        }
      }
    }
    if (charges.size) {
      this.q.charge.run({ now, halfLife: this.halfLifeMs, charges: JSON.stringify([...charges].map(([owner, seconds]) => ({ owner, seconds }))) });
    }
    this.events(now, 'update', [...new Set([...jobs.keys(), ...retried.map((r) => r.job)])]);
    const recorded = new Set(finished.map((u) => u.id));
    return outcomes.map((o) => recorded.has(o.unit));
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
  }

  /** Notes on queued jobs that no live worker could hold them (cleared when they start). */
  private noteUnplaceable(now: number, touched: Set<string>): void {
    const workers = this.q.liveWorkers.all(now - LIVE_WORKER_MS) as Array<{ ram_mb: number; exclusive: number }>;
    if (!workers.length) return; // with no worker alive, nothing can be said about fit
    const maxRam = Math.max(...workers.map((w) => w.ram_mb));
    for (const row of this.q.tooBig.all({ ram: maxRam }) as Array<{ job: string; ram_mb: number }>) {
      const reason = `cannot run yet: needs ${row.ram_mb} MiB of RAM; the largest live worker offers ${maxRam} MiB`;
      if (this.q.setError.run(reason, row.job, reason).changes) touched.add(row.job);
    }
    if (!workers.some((w) => w.exclusive === 1)) {
      const reason = 'cannot run yet: needs an exclusive-capable worker (sluice worker --exclusive); none is alive';
      for (const job of this.q.exclusiveQueued.pluck().all() as string[]) {
        if (this.q.setError.run(reason, job, reason).changes) touched.add(job);
      }
    }
  }

  private ensureGroups(owner: string, group: string | undefined, now: number, cache: Map<string, string>): string {
    const pathText = group ?? owner;
    const cached = cache.get(pathText);
    if (cached) return cached;
    let parent: string | null = null;
    const made: string[] = [];
    for (const name of splitGroupPath(pathText)) {
      const existing = this.q.findGroup.get(parent ?? '', name) as { id: string } | undefined;
      if (existing) {
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
    if (ids.length) this.q.insertEventsFor.run({ now, verb, ids: JSON.stringify(ids) });
  }

  private write<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }
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

export function splitGroupPath(text: string): string[] {
  const parts = text.split('/').filter((p) => p !== '');
  if (!parts.length) throw new UsageError(`group path "${text}" has no group names`);
  for (const p of parts) {
    if (p.length > 200) throw new UsageError(`group name "${p.slice(0, 20)}..." is longer than 200 characters`);
  }
  return parts;
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

import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { uuid7 } from '../ids.js';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Environ, Report } from '../../environ/index.js';
import { NotFoundError, UsageError } from '../../environ/index.js';
import type {
  ClaimedUnit, HeartbeatAnswer, JobFilter, JobRecord, NewJob, NodeInfo, Store, StoreEvent, UnitOutcome, WorkerInfo,
} from '../types.js';
import { TERMINAL } from '../types.js';
import { defaultName, infoOf, recordOf, type NodeRow } from '../info.js';
import { MIGRATIONS } from './schema.js';
import { ChangeNotifier } from './notifier.js';

type Db = Database.Database;
type UnitRow = { id: number; job: string; priority: number; token: number; attempts: number; max_attempts: number; abort_requested: number; idx: number; input: string | null };

const DEFAULT_MAX_ATTEMPTS = 3;

/**
 * The embedded store: one SQLite file in WAL mode, shared by any number of processes on one machine.
 * Writes use BEGIN IMMEDIATE so that concurrent writers queue on the lock instead of failing an
 * upgrade; synchronous=NORMAL keeps the database consistent after a crash (the last commits may be
 * lost on power failure, not on a process crash).
 */
export class SqliteStore implements Store {
  readonly db: Db;
  private readonly notifier: ChangeNotifier;
  private readonly q: ReturnType<typeof prepare>;

  constructor(readonly file: string) {
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
      const rows = jobs.map((job) => ({
        id: uuid7(now),
        name: job.name ?? defaultName(job.owner, job.environ),
        parent: this.ensureGroups(job.owner, job.group, now, groups),
        owner: job.owner,
        job_type: typeof job.environ.job_type === 'string' ? job.environ.job_type : null,
        tags: job.tags ?? [],
        priority: job.priority ?? 0,
        max: job.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
        environ: job.environ,
      }));
      // One statement per table for the whole batch: the rows travel as one JSON array.
      const batch = encodeBatch(rows);
      this.q.insertJobs.run({ now, batch });
      this.q.insertUnits.run({ batch });
      this.q.insertEventsFor.run({ now, verb: 'add', ids: JSON.stringify(rows.map((r) => r.id)) });
      return rows.map((r) => r.id);
    });
  }

  async get(id: string): Promise<JobRecord | NodeInfo | null> {
    const row = this.q.getNode.get(id) as NodeRow | undefined;
    return row ? recordOf(row) : null;
  }

  async list(filter: JobFilter = {}): Promise<NodeInfo[]> {
    const where: string[] = [];
    const args: unknown[] = [];
    where.push('type = ?');
    args.push(filter.type ?? 'job');
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

  async users(): Promise<Array<{ owner: string; group: string | null; jobs: number }>> {
    return this.db
      .prepare(
        `SELECT o.owner AS owner,
                (SELECT id FROM nodes g WHERE g.type = 'group' AND g.parent IS NULL AND g.name = o.owner) AS "group",
                (SELECT count(*) FROM nodes j WHERE j.type = 'job' AND j.owner = o.owner) AS jobs
           FROM (SELECT DISTINCT owner FROM nodes) o ORDER BY o.owner`,
      )
      .all() as Array<{ owner: string; group: string | null; jobs: number }>;
  }

  async abort(id: string): Promise<JobRecord> {
    const now = Date.now();
    this.write(() => {
      const row = this.q.getNode.get(id) as NodeRow | undefined;
      if (!row) throw new NotFoundError(`no job with id ${id}`);
      if (row.type !== 'job') throw new UsageError(`${id} is a group, not a job`);
      if (row.status && TERMINAL.has(row.status)) return;
      this.q.abortQueuedUnits.run(id);
      this.q.flagRunningUnits.run(id);
      const updated = this.q.setAborted.get(now, 'aborted by request', id) as NodeRow;
      this.event(now, 'update', updated);
    });
    return (await this.get(id)) as JobRecord;
  }

  async registerWorker(info: Omit<WorkerInfo, 'id' | 'started_at' | 'heartbeat_at'> & { id?: string }): Promise<string> {
    const id = info.id ?? `${info.host}:${info.pid}:${randomUUID().slice(0, 8)}`;
    const now = Date.now();
    this.write(() => this.q.insertWorker.run(id, info.host, info.pid, info.concurrency, now, now));
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
    return this.q.liveWorkers.all(Date.now() - withinMs) as WorkerInfo[];
  }

  async abortRequests(worker: string): Promise<number[]> {
    return this.q.abortRequests.all(worker) as number[];
  }

  async claim(worker: string, limit: number, leaseMs: number): Promise<ClaimedUnit[]> {
    if (limit <= 0) return [];
    return this.write(() => this.claimNow(worker, limit, leaseMs, Date.now()));
  }

  async completeAndClaim(worker: string, finished: UnitOutcome[], limit: number, leaseMs: number): Promise<{ recorded: boolean[]; claimed: ClaimedUnit[] }> {
    const now = Date.now();
    return this.write(() => ({
      recorded: this.completeNow(finished, now),
      claimed: limit > 0 ? this.claimNow(worker, limit, leaseMs, now) : [],
    }));
  }

  private claimNow(worker: string, limit: number, leaseMs: number, now: number): ClaimedUnit[] {
    return this.started(this.q.claim.all(worker, now + leaseMs, limit) as UnitRow[], now);
  }

  async claimJob(worker: string, job: string, leaseMs: number): Promise<ClaimedUnit[]> {
    const now = Date.now();
    return this.write(() => this.started(this.q.claimJob.all(worker, now + leaseMs, job) as UnitRow[], now));
  }

  async complete(outcomes: UnitOutcome[]): Promise<boolean[]> {
    if (!outcomes.length) return [];
    return this.write(() => this.completeNow(outcomes, Date.now()));
  }

  private completeNow(outcomes: UnitOutcome[], now: number): boolean[] {
    if (!outcomes.length) return [];
    const states = outcomes.map((o) => ({ unit: o.unit, token: o.token, state: o.aborted ? 'aborted' : o.output.result === 'SUCCESS' ? 'done' : 'failed' }));
    // Units whose token is stale (taken back, or aborted meanwhile) are not in the answer: nothing is recorded for them.
    const finished = this.q.finishUnits.all({ outcomes: JSON.stringify(states) }) as Array<{ id: number; job: string; abort_requested: number }>;
    const byUnit = new Map(outcomes.map((o) => [o.unit, o]));
    const jobs = new Map<string, { job: string; done: number; failed: number; aborted: number; output: unknown; result: unknown; error: string | null }>();
    for (const unit of finished) {
      const o = byUnit.get(unit.id)!;
      const aborted = o.aborted || unit.abort_requested === 1;
      const failed = o.output.result !== 'SUCCESS' && !aborted;
      const entry = jobs.get(unit.job) ?? { job: unit.job, done: 0, failed: 0, aborted: 0, output: null, result: null, error: null };
      entry.done += 1;
      entry.failed += failed ? 1 : 0;
      entry.aborted = entry.aborted || aborted ? 1 : 0;
      entry.output = o.output;
      entry.result = failed ? (o.output.traceback ?? o.output.exception ?? null) : (o.result ?? null);
      if (failed) entry.error = o.output.exception ?? 'failed';
      jobs.set(unit.job, entry);
    }
    if (jobs.size) {
      this.q.finishJobs.run({ now, jobs: JSON.stringify([...jobs.values()]) });
      this.q.insertEventsFor.run({ now, verb: 'update', ids: JSON.stringify([...jobs.keys()]) });
    }
    const recorded = new Set(finished.map((u) => u.id));
    return outcomes.map((o) => recorded.has(o.unit));
  }

  async release(units: Array<{ unit: number; token: number }>): Promise<void> {
    const now = Date.now();
    this.write(() => {
      for (const u of units) {
        const row = this.q.releaseUnit.get(u.unit, u.token) as { job: string } | undefined;
        if (!row) continue;
        const updated = this.q.requeueJob.get(row.job, row.job) as NodeRow | undefined;
        if (updated) this.event(now, 'update', updated);
      }
    });
  }

  async report(unit: number, token: number, report: Report): Promise<void> {
    const now = Date.now();
    this.write(() => {
      const updated = (
        report.kind === 'progress'
          ? this.q.setProgress.get(JSON.stringify({ done: report.done, total: report.total, ...(report.message === undefined ? {} : { message: report.message }) }), unit, token)
          : this.q.setStatusText.get(report.text, unit, token)
      ) as NodeRow | undefined;
      if (updated) this.event(now, 'update', updated);
    });
  }

  async reapExpired(): Promise<number> {
    const now = Date.now();
    return this.write(() => {
      const expired = this.q.expired.all(now) as UnitRow[];
      for (const unit of expired) {
        if (unit.abort_requested) {
          this.q.abortUnit.run(unit.id);
        } else if (unit.attempts >= unit.max_attempts) {
          this.q.failUnit.run(unit.id);
          const reason = `lost: the workers running this job stopped answering ${unit.attempts} time(s); no attempts left`;
          const updated = this.q.failJob.get(now, JSON.stringify(reason), reason, unit.job) as NodeRow | undefined;
          if (updated) this.event(now, 'update', updated);
        } else {
          this.q.requeueUnit.run(unit.id);
          const updated = this.q.requeueJob.get(unit.job, unit.job) as NodeRow | undefined;
          if (updated) this.event(now, 'update', updated);
        }
      }
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

  /** Marks claimed units' jobs Running and hands out their environs, in claim order. */
  private started(units: UnitRow[], now: number): ClaimedUnit[] {
    if (!units.length) return [];
    // RETURNING gives no order; hand units out in claim order.
    units.sort((a, b) => b.priority - a.priority || a.id - b.id);
    const rows = this.q.startJobs.all({ now, units: JSON.stringify(units.map((u) => ({ job: u.job, a: u.attempts }))) }) as Array<{ id: string; environ: string }>;
    const environs = new Map(rows.map((r) => [r.id, r.environ]));
    this.q.insertEventsFor.run({ now, verb: 'update', ids: JSON.stringify([...new Set(units.map((u) => u.job))]) });
    return units.map((u) => {
      const environ = JSON.parse(environs.get(u.job) ?? (this.q.getEnviron.get(u.job) as string | undefined) ?? '{}') as Environ;
      if (u.input !== null) environ.input = JSON.parse(u.input);
      return { unit: u.id, token: u.token, job: u.job, environ, attempt: u.attempts };
    });
  }

  private ensureGroups(owner: string, group: string | undefined, now: number, cache: Map<string, string>): string {
    const pathText = group ?? owner;
    const cached = cache.get(pathText);
    if (cached) return cached;
    let parent: string | null = null;
    for (const name of splitGroupPath(pathText)) {
      const existing = this.q.findGroup.get(parent ?? '', name) as { id: string } | undefined;
      if (existing) {
        parent = existing.id;
        continue;
      }
      const id = uuid7(now);
      this.q.insertGroup.run(id, name, parent, owner, now);
      const info: NodeInfo = {
        id, type: 'group', name, parent, owner, status: null, status_text: null, job_type: null, tags: [], priority: 0,
        progress: null, attempts: 0, max_attempts: 0, date_created: now, date_start: null, date_end: null, result: null, error: null,
      };
      this.q.insertEvent.run(now, 'add', id, owner, JSON.stringify(info));
      parent = id;
    }
    cache.set(pathText, parent!);
    return parent!;
  }

  private event(now: number, verb: 'add' | 'update', row: NodeRow): void {
    this.q.insertEvent.run(now, verb, row.id, row.owner, JSON.stringify(infoOf(row)));
  }

  private write<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }
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

function validateNewJob(job: NewJob): void {
  if (typeof job.owner !== 'string' || job.owner === '' || job.owner.includes('/')) {
    throw new UsageError(`owner must be a non-empty name without "/", got ${JSON.stringify(job.owner)}`);
  }
  if (job.priority !== undefined && !Number.isInteger(job.priority)) throw new UsageError(`priority must be an integer, got ${job.priority}`);
  if (job.maxAttempts !== undefined && (!Number.isInteger(job.maxAttempts) || job.maxAttempts < 1)) {
    throw new UsageError(`max attempts must be a positive integer, got ${job.maxAttempts}`);
  }
  if (job.tags !== undefined && !job.tags.every((t) => typeof t === 'string')) throw new UsageError('tags must be strings');
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

/** A node's info as JSON, built by SQLite (the same shape as info.ts `infoOf`). */
const INFO_JSON = `json_object('id', n.id, 'type', n.type, 'name', n.name, 'parent', n.parent, 'owner', n.owner, 'status', n.status,
  'status_text', n.status_text, 'job_type', n.job_type, 'tags', json(n.tags), 'priority', n.priority, 'progress', json(n.progress),
  'attempts', n.attempts, 'max_attempts', n.max_attempts, 'date_created', n.date_created, 'date_start', n.date_start,
  'date_end', n.date_end, 'result', json(n.result), 'error', n.error)`;

const INFO_COLUMNS =
  'id, type, name, parent, owner, status, status_text, job_type, tags, priority, progress, attempts, max_attempts, date_created, date_start, date_end, result, error';

function prepare(db: Db) {
  return {
    insertJobs: db.prepare(
      `INSERT INTO nodes (id, type, name, parent, owner, status, job_type, tags, priority, max_attempts, date_created, environ, units_total)
       SELECT j.value ->> 'id', 'job', j.value ->> 'name', j.value ->> 'parent', j.value ->> 'owner', 'Queued', j.value ->> 'job_type',
              j.value -> 'tags', j.value ->> 'priority', j.value ->> 'max', :now, j.value -> 'environ', 1
         FROM json_each(:batch) AS j ORDER BY j.key`,
    ),
    insertUnits: db.prepare(
      `INSERT INTO units (job, idx, state, priority, max_attempts)
       SELECT j.value ->> 'id', 0, 'queued', j.value ->> 'priority', j.value ->> 'max' FROM json_each(:batch) AS j ORDER BY j.key`,
    ),
    /** One event per node named in :ids (a JSON array), in that order, carrying the node's info as it is now. */
    insertEventsFor: db.prepare(
      `INSERT INTO events (at, verb, node, owner, info)
       SELECT :now, :verb, n.id, n.owner, ${INFO_JSON} FROM json_each(:ids) AS j JOIN nodes AS n ON n.id = j.value ORDER BY j.key`,
    ),
    getEnviron: db.prepare(`SELECT environ FROM nodes WHERE id = ?`).pluck(),
    startJobs: db.prepare(
      `UPDATE nodes SET status = 'Running', date_start = coalesce(date_start, :now), attempts = max(attempts, j.value ->> 'a')
         FROM json_each(:units) AS j
        WHERE nodes.id = j.value ->> 'job' AND nodes.status IN ('Queued', 'Running')
        RETURNING nodes.id, nodes.environ`,
    ),
    finishUnits: db.prepare(
      `UPDATE units SET state = j.value ->> 'state', lease_until = NULL
         FROM json_each(:outcomes) AS j
        WHERE units.id = j.value ->> 'unit' AND units.token = j.value ->> 'token' AND units.state = 'running'
        RETURNING units.id, units.job, units.abort_requested`,
    ),
    // Right-hand sides see the row as it was: units_done + done is the count after this batch.
    finishJobs: db.prepare(
      `UPDATE nodes SET
          status = CASE WHEN status = 'Aborted' OR j.value ->> 'aborted' THEN 'Aborted'
                        WHEN units_done + (j.value ->> 'done') < units_total THEN status
                        WHEN j.value ->> 'failed' OR units_failed > 0 THEN 'Failed' ELSE 'Success' END,
          date_end = CASE WHEN date_end IS NOT NULL THEN date_end
                          WHEN j.value ->> 'aborted' OR units_done + (j.value ->> 'done') >= units_total THEN :now END,
          output = j.value -> 'output', result = j.value -> 'result',
          error = coalesce(j.value ->> 'error', error),
          units_done = units_done + (j.value ->> 'done'), units_failed = units_failed + (j.value ->> 'failed')
         FROM json_each(:jobs) AS j
        WHERE nodes.id = j.value ->> 'job'`,
    ),
    insertGroup: db.prepare(`INSERT INTO nodes (id, type, name, parent, owner, date_created) VALUES (?, 'group', ?, ?, ?, ?)`),
    findGroup: db.prepare(`SELECT id FROM nodes WHERE type = 'group' AND coalesce(parent, '') = ? AND name = ?`),
    insertEvent: db.prepare(`INSERT INTO events (at, verb, node, owner, info) VALUES (?, ?, ?, ?, ?)`),
    getNode: db.prepare(`SELECT * FROM nodes WHERE id = ?`),
    claim: db.prepare(
      `UPDATE units SET state = 'running', worker = ?, token = token + 1, lease_until = ?, attempts = attempts + 1
        WHERE id IN (SELECT id FROM units WHERE state = 'queued' ORDER BY priority DESC, id LIMIT ?)
        RETURNING id, job, priority, token, attempts, max_attempts, abort_requested, idx, input`,
    ),
    claimJob: db.prepare(
      `UPDATE units SET state = 'running', worker = ?, token = token + 1, lease_until = ?, attempts = attempts + 1
        WHERE job = ? AND state = 'queued'
        RETURNING id, job, priority, token, attempts, max_attempts, abort_requested, idx, input`,
    ),
    abortQueuedUnits: db.prepare(`UPDATE units SET state = 'aborted' WHERE job = ? AND state = 'queued'`),
    flagRunningUnits: db.prepare(`UPDATE units SET abort_requested = 1 WHERE job = ? AND state = 'running'`),
    setAborted: db.prepare(`UPDATE nodes SET status = 'Aborted', date_end = ?, error = ? WHERE id = ? RETURNING *`),
    releaseUnit: db.prepare(
      `UPDATE units SET state = 'queued', worker = NULL, lease_until = NULL, attempts = attempts - 1, token = token + 1
        WHERE id = ? AND token = ? AND state = 'running' RETURNING job`,
    ),
    requeueUnit: db.prepare(`UPDATE units SET state = 'queued', worker = NULL, lease_until = NULL, token = token + 1 WHERE id = ?`),
    requeueJob: db.prepare(
      `UPDATE nodes SET status = 'Queued', attempts = (SELECT max(attempts) FROM units WHERE job = nodes.id)
        WHERE id = ? AND status = 'Running' AND NOT EXISTS (SELECT 1 FROM units WHERE job = ? AND state = 'running') RETURNING *`,
    ),
    abortUnit: db.prepare(`UPDATE units SET state = 'aborted', lease_until = NULL, token = token + 1 WHERE id = ?`),
    failUnit: db.prepare(`UPDATE units SET state = 'failed', lease_until = NULL, token = token + 1 WHERE id = ?`),
    failJob: db.prepare(
      `UPDATE nodes SET status = 'Failed', date_end = ?, result = ?, error = ?, units_done = units_done + 1, units_failed = units_failed + 1
        WHERE id = ? AND status IN ('Queued', 'Running') RETURNING *`,
    ),
    expired: db.prepare(
      `SELECT id, job, priority, token, attempts, max_attempts, abort_requested, idx, input FROM units WHERE state = 'running' AND lease_until < ?`,
    ),
    setProgress: db.prepare(
      `UPDATE nodes SET progress = ? WHERE id = (SELECT job FROM units WHERE id = ? AND token = ? AND state = 'running') RETURNING *`,
    ),
    setStatusText: db.prepare(
      `UPDATE nodes SET status_text = ? WHERE id = (SELECT job FROM units WHERE id = ? AND token = ? AND state = 'running') RETURNING *`,
    ),
    insertWorker: db.prepare(`INSERT INTO workers (id, host, pid, concurrency, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?)`),
    deleteWorker: db.prepare(`DELETE FROM workers WHERE id = ?`),
    touchWorker: db.prepare(`UPDATE workers SET heartbeat_at = ? WHERE id = ?`),
    extendLeases: db.prepare(`UPDATE units SET lease_until = ? WHERE worker = ? AND state = 'running' RETURNING id, abort_requested`),
    abortRequests: db.prepare(`SELECT id FROM units WHERE worker = ? AND state = 'running' AND abort_requested = 1`).pluck(),
    liveWorkers: db.prepare(`SELECT * FROM workers WHERE heartbeat_at >= ? ORDER BY started_at`),
    eventsAfter: db.prepare(`SELECT seq, at, verb, node, owner, info FROM events WHERE seq > ? ORDER BY seq LIMIT ?`),
    lastSeq: db.prepare(`SELECT max(seq) FROM events`).pluck(),
  };
}

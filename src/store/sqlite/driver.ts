import Database from 'better-sqlite3';
import path from 'node:path';
import type { Environ } from '../../environ/index.js';
import type { ClaimedRow, Driver, ExpiredRow, FinishedRow, JobTally, QueueKey, ReadTx, UnitOutcomeRow, WriteTx } from '../driver.js';
import type { Delivery, JobStatus, NodeInfo, OutboxItem, StoreEvent, UnitClass, UnitInfo, UserInfo, WorkerInfo } from '../types.js';
import { infoOf, recordOf, type NodeRow } from '../info.js';
import { containsPattern } from '../rules.js';
import { MIGRATIONS } from './schema.js';
import { INFO_COLUMNS_OF_NODES, prepare, type Statements } from './statements.js';
import { SqliteWatcher } from './notifier.js';
import { explainSqliteError } from './errors.js';
import { Checkpointer, FALLBACK_PAGES } from './checkpointer.js';

type Db = Database.Database;
type Key = { pool: string; owner: string; class: UnitClass; exclusive: number; ram_mb: number };
type Claimed = { id: number; job: string; idx: number; priority: number; token: number; attempts: number; input: string | null } & Key;

const key = (r: Key): QueueKey & { ramMb: number } => ({ pool: r.pool, owner: r.owner, class: r.class, exclusive: r.exclusive === 1, ramMb: r.ram_mb });
const claimed = (r: Claimed): ClaimedRow => ({
  id: r.id, job: r.job, idx: r.idx, priority: r.priority, token: r.token, attempts: r.attempts,
  input: r.input === null ? null : JSON.parse(r.input), ...key(r),
});
const flag = (exclusive: boolean) => (exclusive ? 1 : 0);
type UserRow = Omit<UserInfo, 'accounts'> & { accounts: string };
const userOf = (r: UserRow): UserInfo => ({ ...r, accounts: JSON.parse(r.accounts) as string[] });
const json = (value: unknown) => JSON.stringify(value);
type EventRow = { seq: number; at: number; verb: StoreEvent['verb']; node: string; owner: string; info: string };
const eventOf = (r: EventRow): StoreEvent => {
  if (r.verb === 'prune') {
    const { through, jobs } = JSON.parse(r.info) as { through: number; jobs: number };
    return { seq: r.seq, at: r.at, verb: 'prune', through, jobs };
  }
  return { seq: r.seq, at: r.at, verb: r.verb, id: r.node, owner: r.owner, info: JSON.parse(r.info) as NodeInfo };
};

/**
 * The embedded database: one SQLite file in WAL mode, shared by any number of processes on one
 * machine. Writes use BEGIN IMMEDIATE so that concurrent writers queue on the lock instead of failing
 * an upgrade; synchronous=NORMAL keeps the database consistent after a crash (the last commits may
 * be lost on power failure, not on a process crash).
 *
 * better-sqlite3 is synchronous; the driver's seam is not. A transaction stays open across the
 * awaits of its body, so every transaction and read of this process goes through one queue: no
 * statement of another caller can run inside someone else's open transaction.
 */
export class SqliteDriver implements Driver {
  readonly description: string;
  readonly read: ReadTx;
  private readonly db: Db;
  private readonly q: Statements;
  private readonly watcher: SqliteWatcher;
  private readonly tx: WriteTx;
  private readonly control: { begin: Database.Statement; beginRead: Database.Statement; commit: Database.Statement; rollback: Database.Statement };
  private readonly lane: { tail: Promise<unknown> };
  private readonly checkpointer: Checkpointer;
  private busy = false;
  private notify = false;

  constructor(readonly file: string) {
    try {
      this.db = new Database(file, { timeout: 10_000 });
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      // A bigger page cache and memory-mapped reads: lookups by id stay in memory instead of read() calls.
      this.db.pragma('cache_size = -65536');
      this.db.pragma('mmap_size = 1073741824');
      // Checkpoints run on a thread of their own (checkpointer.ts); this is the fallback.
      this.db.pragma(`wal_autocheckpoint = ${FALLBACK_PAGES}`);
      migrate(this.db);
      this.q = prepare(this.db);
    } catch (err) {
      throw explainSqliteError(err, file);
    }
    const version = (this.db.prepare('SELECT sqlite_version()').pluck().get() as string) ?? '?';
    this.description = `SQLite ${version} (${file})`;
    this.lane = laneOf(file);
    this.checkpointer = new Checkpointer(file);
    const dataVersion = this.db.prepare('PRAGMA data_version').pluck();
    this.watcher = new SqliteWatcher(file, () => dataVersion.get() as number);
    this.control = {
      begin: this.db.prepare('BEGIN IMMEDIATE'),
      beginRead: this.db.prepare('BEGIN'),
      commit: this.db.prepare('COMMIT'),
      rollback: this.db.prepare('ROLLBACK'),
    };
    this.tx = this.writeTx();
    // Plain reads wait for an open transaction of this process: they never see it half done.
    const reads = this.readTx() as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    this.read = Object.fromEntries(
      Object.entries(reads).map(([name, fn]) => [name, (...args: unknown[]) => (this.busy ? this.serial(() => fn(...args)) : this.guard(() => fn(...args)))]),
    ) as unknown as ReadTx;
  }

  async transaction<T>(fn: (tx: WriteTx) => Promise<T>): Promise<T> {
    return (await this.transactionWithMark(fn)).result;
  }

  transactionWithMark<T>(fn: (tx: WriteTx) => Promise<T>): Promise<{ result: T; mark: number }> {
    return this.serial(async () => {
      let mark = this.watcher.changes.mark();
      this.notify = false;
      this.busy = true;
      try {
        this.control.begin.run();
      } catch (err) {
        this.busy = false;
        throw explainSqliteError(err, this.file);
      }
      let result: T;
      try {
        result = await fn(this.tx);
        this.control.commit.run();
      } catch (err) {
        if (this.db.inTransaction) this.control.rollback.run();
        this.notify = false;
        throw explainSqliteError(err, this.file);
      } finally {
        this.busy = false;
      }
      this.checkpointer.wrote();
      if (this.notify) {
        this.notify = false;
        this.watcher.changes.bump();
        mark++;
      }
      return { result, mark };
    });
  }

  snapshot<T>(fn: (tx: ReadTx) => Promise<T>): Promise<T> {
    return this.serial(async () => {
      this.busy = true;
      this.control.beginRead.run();
      try {
        return await fn(this.tx);
      } catch (err) {
        throw explainSqliteError(err, this.file);
      } finally {
        if (this.db.inTransaction) this.control.commit.run();
        this.busy = false;
      }
    });
  }

  /** Rows inserted, updated or deleted by this connection since it opened (SQLite's total_changes(); bench/work.mjs counts with it). */
  rowsChanged(): number {
    return this.db.prepare('SELECT total_changes()').pluck().get() as number;
  }

  changeMark(): number {
    return this.watcher.changes.mark();
  }

  waitForChange(timeoutMs: number, signal?: AbortSignal, since?: number): Promise<void> {
    return this.watcher.changes.wait(timeoutMs, signal, since);
  }

  async close(): Promise<void> {
    await this.lane.tail.catch(() => {});
    this.watcher.close();
    await this.checkpointer.close();
    this.db.close();
  }

  /** Runs `fn` after everything queued before it on this database file, by any driver of this process. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.lane.tail.then(fn, fn);
    this.lane.tail = run.catch(() => {});
    return run;
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw explainSqliteError(err, this.file);
    }
  }

  private readTx(): ReadTx {
    const q = this.q;
    const db = this.db;
    return {
      async getNode(id) {
        const row = q.getNode.get(id) as NodeRow | undefined;
        return row ? (recordOf(row) as Awaited<ReturnType<ReadTx['getNode']>>) : undefined;
      },
      async listNodes(filter) {
        const where: string[] = [];
        const args: unknown[] = [];
        const add = (clause: string, ...values: unknown[]) => {
          where.push(clause);
          args.push(...values);
        };
        // With a tag, the listing walks that tag's rows of node_tags in the listing's order (it is
        // the one filter an index of nodes cannot serve), and looks each node up by its key.
        const tagged = filter.tag !== undefined;
        const key = tagged ? 't' : 'nodes';
        if (tagged) add('t.tag = ?', filter.tag);
        const type = filter.type ?? 'job';
        if (type !== 'any') add('nodes.type = ?', type);
        if (filter.owner !== undefined) add('nodes.owner = ?', filter.owner);
        if (filter.status !== undefined) add('nodes.status = ?', filter.status);
        if (filter.parent !== undefined) add('nodes.parent = ?', filter.parent);
        if (filter.jobType !== undefined) add('nodes.job_type = ?', filter.jobType);
        if (filter.text !== undefined) {
          const like = containsPattern(filter.text);
          add(`(nodes.name LIKE ? ESCAPE '\\' OR nodes.tags LIKE ? ESCAPE '\\' OR coalesce(nodes.environ, '') LIKE ? ESCAPE '\\')`, like, like, like);
        }
        if (filter.createdAfter !== undefined) add(`${key}.date_created >= ?`, filter.createdAfter);
        if (filter.createdBefore !== undefined) add(`${key}.date_created < ?`, filter.createdBefore);
        if (filter.after !== undefined) add(`(${key}.date_created, ${key}.id) ${filter.newestFirst ? '<' : '>'} (?, ?)`, filter.after.date, filter.after.id);
        if (filter.under !== undefined) {
          add(`nodes.id IN (WITH RECURSIVE below(id) AS (SELECT id FROM nodes WHERE parent = ? UNION ALL SELECT n.id FROM nodes n JOIN below b ON n.parent = b.id) SELECT id FROM below)`, filter.under);
        }
        const limit = filter.limit ? `LIMIT ${Math.floor(filter.limit)}` : '';
        const from = tagged ? 'node_tags t CROSS JOIN nodes ON nodes.id = t.id' : 'nodes';
        const order = filter.newestFirst ? `${key}.date_created DESC, ${key}.id DESC` : `${key}.date_created, ${key}.id`;
        const rows = db.prepare(`SELECT ${INFO_COLUMNS_OF_NODES} FROM ${from} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order} ${limit}`).all(...args) as NodeRow[];
        return rows.map(infoOf);
      },
      async units(job) {
        const rows = q.units.all(job) as Array<Omit<UnitInfo, 'exclusive' | 'input' | 'result'> & { input: string | null; result: string | null; exclusive: number }>;
        return rows.map((r) => ({ ...r, input: r.input === null ? null : JSON.parse(r.input), result: r.result === null ? null : JSON.parse(r.result), exclusive: r.exclusive === 1 }));
      },
      async users() {
        return q.users.all() as Array<{ owner: string; group: string | null; jobs: number }>;
      },
      async liveWorkers(since) {
        return (q.liveWorkers.all(since) as Array<Omit<WorkerInfo, 'exclusive' | 'pools' | 'labels'> & { exclusive: number; pools: string; labels: string }>).map((r) => ({
          ...r,
          exclusive: r.exclusive === 1,
          pools: JSON.parse(r.pools) as string[],
          labels: JSON.parse(r.labels) as Record<string, string>,
        }));
      },
      async abortRequests(worker) {
        return q.abortRequests.all(worker) as number[];
      },
      async workerLoads() {
        return q.workerLoads.all() as Array<{ worker: string; running: number; ramMb: number }>;
      },
      async queueState(now) {
        // One read transaction (a savepoint inside a write one): the three reads agree.
        return db.transaction(() => ({
          due: Boolean(q.anyDue.get(now)),
          queues: (JSON.parse(q.activeQueues.get() as string) as Array<[string, string, UnitClass, number, number, number]>).map((r) => ({
            pool: r[0], owner: r[1], class: r[2], exclusive: r[3] === 1, queued: r[4], since: r[5],
          })),
          running: (q.runningUnits.all() as Array<{ pool: string; owner: string; class: UnitClass; started_at: number }>).map((r) => ({ pool: r.pool, owner: r.owner, class: r.class, startedAt: r.started_at })),
          owners: (JSON.parse(q.activeOwners.get() as string) as Array<[string, number, number, number, number | null, number]>).map((o) => ({
            owner: o[0], share: o[1], usage: o[2], usageAt: o[3], unitSeconds: o[4], rank: o[5],
          })),
        }))();
      },
      async jobCounts(since, before, step) {
        const args = { since, before, step: Math.max(1, Math.floor(step)) };
        type Count = { class: string; slot: number; n: number };
        return { started: q.jobsStarted.all(args) as Count[], finished: q.jobsFinished.all(args) as Count[] };
      },
      async findGroup(parent, name) {
        return q.findGroup.get(parent ?? '', name) as { id: string; owner: string } | undefined;
      },
      async expiredJobs(now, keepMs, limit) {
        return q.expiredJobs.all({ now, keep: keepMs, limit: limit === Number.MAX_SAFE_INTEGER ? -1 : limit }) as string[];
      },
      async eventsOf(node, limit) {
        return (q.eventsOf.all(node, limit) as EventRow[]).map(eventOf);
      },
      async hiddenNodes(owner) {
        return q.hiddenNodes.all(owner) as string[];
      },
      async eventsAfter(seq, limit) {
        return (q.eventsAfter.all(seq, limit) as EventRow[]).map(eventOf);
      },
      async lastSeq() {
        return (q.lastSeq.get() as number | null) ?? 0;
      },
      async firstEventAfter(at) {
        return q.firstEventAfter.get(at) as number | undefined;
      },
      async countEventsThrough(seq) {
        return q.countEventsThrough.get(seq) as number;
      },
      async getMeta(name) {
        const v = q.getMeta.get(name);
        return v === undefined || v === null ? undefined : String(v);
      },
      async jobStats() {
        const rows = q.jobStats.all() as Array<{ status: JobStatus; n: number; first: number | null; last: number | null }>;
        const byStatus: Partial<Record<JobStatus, number>> = {};
        let firstStart: number | null = null;
        let lastEnd: number | null = null;
        for (const r of rows) {
          byStatus[r.status] = r.n;
          if (r.first !== null) firstStart = firstStart === null ? r.first : Math.min(firstStart, r.first);
          if (r.last !== null) lastEnd = lastEnd === null ? r.last : Math.max(lastEnd, r.last);
        }
        return { byStatus, firstStart, lastEnd };
      },
      async pendingMessages(units) {
        return (q.pendingMessages.all(json(units)) as Array<{ unit: number; seq: number; body: string }>).map((m) => ({ ...m, body: JSON.parse(m.body) }));
      },
      async outboxOf(job) {
        return (q.outboxOf.all(job) as Array<Delivery & { kind: string; only_failures: number }>).map((r) => ({ ...r, only_failures: r.only_failures === 1 }));
      },
      async digestSent(address, at) {
        return q.digestSent.get(address, at) !== undefined;
      },
      async listUsers() {
        return (q.listUsers.all() as UserRow[]).map(userOf);
      },
      async userWhere(by, value) {
        const row = (by === 'name' ? q.userByName : q.userByToken).get(value) as UserRow | undefined;
        return row ? userOf(row) : undefined;
      },
      async dependentsOf(jobs) {
        return (q.dependentsOf.all(json(jobs)) as Array<{ job: string; after_any: number }>).map((r) => ({ job: r.job, afterAny: r.after_any === 1 }));
      },
      async depStates(job) {
        const deps = (q.depStates.all(job) as Array<{ dep: string; status: JobStatus; result: string | null; output: string | null }>).map((r) => ({
          dep: r.dep, status: r.status, result: r.result === null ? null : JSON.parse(r.result), output: r.output === null ? null : (JSON.parse(r.output) as Environ),
        }));
        return { afterAny: q.afterAny.get(job) === 1, deps };
      },
      async queueCounts() {
        const fix = (rows: unknown[]) => (rows as Array<Omit<Key, 'ram_mb'> & { queued: number }>).map((r) => ({ ...r, exclusive: r.exclusive === 1 }));
        return { kept: fix(q.queueCounts.all()), real: fix(q.realQueueCounts.all()) };
      },
    };
  }

  private writeTx(): WriteTx {
    const q = this.q;
    const db = this.db;
    return {
      ...this.readTx(),
      notifyChange: () => {
        this.notify = true;
      },
      async insertJobs(rows, now) {
        // One JSON array carries the whole batch; each table gets one statement that expands it.
        const batch = json(rows);
        q.insertJobs.run({ now, batch });
        q.insertUnits.run({ now, batch });
        q.insertMapUnits.run({ now, batch });
        if (rows.some((r) => r.callbackUrl)) q.insertCallbacks.run({ now, batch });
        if (rows.some((r) => r.after.length)) q.insertDeps.run({ batch });
        if (rows.some((r) => r.notify)) q.insertNotices.run({ now, batch });
      },
      async insertGroup(row, now) {
        return q.insertGroup.run(row.id, row.name, row.parent, row.owner, now).changes > 0;
      },
      async appendEvents(events) {
        q.appendEvents.run({ events: json(events) });
      },
      async appendPruneEvent(through, jobs, now) {
        q.appendPruneEvent.run(now, json({ through, jobs }));
      },
      async queueDelta(deltas, now, served) {
        if (!deltas.length) return;
        q.queueDelta.run({ now, served: served ? 1 : 0, deltas: json(deltas.map((d) => ({ ...d, exclusive: flag(d.exclusive) }))) });
      },
      async promoteDue(now) {
        return (q.promoteDue.all(now) as Key[]).map(key);
      },
      async claimHeads(worker, queues, freeRamMb, leaseUntil, now) {
        const list = json(queues.map((k) => ({ pool: k.pool, owner: k.owner, class: k.class, exclusive: flag(k.exclusive) })));
        return (q.claimHeads.all({ worker, lease: leaseUntil, now, ram: freeRamMb, queues: list }) as Claimed[]).map(claimed);
      },
      async claimFromQueue(worker, k, count, freeRamMb, leaseUntil, now) {
        return (q.claimFromQueue.all({ worker, lease: leaseUntil, now, ram: freeRamMb, count, pool: k.pool, owner: k.owner, class: k.class, exclusive: flag(k.exclusive) }) as Claimed[]).map(claimed);
      },
      async claimJobUnits(worker, job, count, leaseUntil, now) {
        return (q.claimJobUnits.all({ worker, lease: leaseUntil, now, job, count }) as Claimed[]).map(claimed).sort((a, b) => a.idx - b.idx);
      },
      async unclaim(unit) {
        q.unclaim.run(unit);
      },
      async startJobs(units, now) {
        const rows = q.startJobs.all({ now, jobs: json(units) }) as Array<{ id: string; environ: string; owner: string }>;
        const started = new Map(rows.map((r) => [r.id, { environ: JSON.parse(r.environ) as Environ, owner: r.owner }]));
        // A job that ended meanwhile is not marked Running, but its claimed unit still gets its environ.
        for (const u of units) {
          if (started.has(u.job)) continue;
          const row = q.getEnviron.get(u.job) as { environ: string; owner: string } | undefined;
          started.set(u.job, { environ: JSON.parse(row?.environ ?? '{}') as Environ, owner: row?.owner ?? '' });
        }
        return started;
      },
      async finishUnits(outcomes, now) {
        const rows = q.finishUnits.all({ now, outcomes: json(outcomes) }) as Array<{ id: number; job: string; idx: number; owner: string; attempts: number; retries_left: number; abort_requested: number; owner_row: string | null }>;
        return rows.map((r): FinishedRow => {
          const o = r.owner_row === null ? null : (JSON.parse(r.owner_row) as [number, number, number, number | null, number]);
          return {
            id: r.id, job: r.job, idx: r.idx, owner: r.owner, attempts: r.attempts, retriesLeft: r.retries_left, abortRequested: r.abort_requested === 1,
            ownerRow: o && { owner: r.owner, share: o[0], usage: o[1], usageAt: o[2], unitSeconds: o[3], rank: o[4] },
          };
        });
      },
      async retryUnits(units) {
        q.retryUnits.run({ units: json(units.map((u) => ({ unit: u.unit, runAfter: u.runAfter }))) });
      },
      async noteRetry(job, text) {
        q.noteRetry.run(text, job);
      },
      async jobTallies(jobs) {
        const rows = q.jobTallies.all(json(jobs)) as Array<{ id: string; status: JobStatus; map: number; fail_fast: number; units_total: number; units_done: number; units_failed: number; units_running: number }>;
        return rows.map((r): JobTally => ({
          id: r.id, status: r.status, map: r.map === 1, failFast: r.fail_fast === 1,
          unitsTotal: r.units_total, unitsDone: r.units_done, unitsFailed: r.units_failed, unitsRunning: r.units_running,
        }));
      },
      async unitOutcomes(jobs) {
        const rows = q.unitOutcomes.all(json(jobs)) as Array<Omit<UnitOutcomeRow, 'result'> & { result: string | null }>;
        return rows.map((r) => ({ ...r, result: r.result === null ? null : JSON.parse(r.result) }));
      },
      async updateJobs(updates) {
        if (!updates.length) return [];
        const rows = updates.map((u) => ({ ...u, hasOutput: 'output' in u, hasResult: 'result' in u, hasError: 'error' in u }));
        return (q.updateJobs.all({ jobs: json(rows) }) as Array<{ id: string; followed: number }>).filter((r) => r.followed === 1).map((r) => r.id);
      },
      async stopWaitingUnits(job) {
        const stopped = (q.stopQueuedUnits.all(job) as Key[]).map(key);
        q.stopDelayedUnits.run(job);
        return stopped;
      },
      async flagRunningUnits(job) {
        q.flagRunningUnits.run(job);
      },
      async setAborted(job, reason, now) {
        return q.setAborted.run(now, reason, job).changes > 0;
      },
      async writeUsage(rows) {
        q.writeUsage.run({ owners: json(rows) });
      },
      async setShare(owner, share, rank) {
        q.setShare.run({ owner, share, rank: rank ?? null });
      },
      async releaseUnit(unit, token, now) {
        const row = q.releaseUnit.get(now, unit, token) as (Key & { job: string }) | undefined;
        return row ? { ...key(row), job: row.job } : undefined;
      },
      async requeueJob(job) {
        q.requeueJob.run(job);
      },
      async setProgress(unit, token, progress) {
        return q.setProgress.get(json(progress), unit, token) as string | undefined;
      },
      async setStatusText(unit, token, text) {
        return q.setStatusText.get(text, unit, token) as string | undefined;
      },
      async expiredUnits(now) {
        return (q.expiredUnits.all(now) as Array<{ id: number; job: string; lost: number; max_lost: number; abort_requested: number }>).map(
          (r): ExpiredRow => ({ id: r.id, job: r.job, lost: r.lost, maxLost: r.max_lost, abortRequested: r.abort_requested === 1 }),
        );
      },
      async abortUnit(unit) {
        q.abortUnit.run(unit);
      },
      async requeueLostUnit(unit, now) {
        return key(q.requeueLostUnit.get(now, unit) as Key);
      },
      async failLostUnit(unit, reason, now) {
        return q.failLostUnit.get(reason, now, unit) as number;
      },
      async noteLost(job) {
        q.noteLost.run(job);
      },
      async unplaceableCandidates(ramMb, exclusive) {
        type Row = { job: string; ram_mb: number; exclusive: number; pool: string };
        const rows = [...(q.tooBig.all({ ram: ramMb }) as Row[]), ...(exclusive ? (q.exclusiveQueued.all() as Row[]) : [])];
        return rows.map((r) => ({ job: r.job, ramMb: r.ram_mb, exclusive: r.exclusive === 1, pool: r.pool }));
      },
      async setNote(job, note) {
        return q.setNote.run(note, job, note).changes > 0;
      },
      async notedUnplaceable() {
        return q.notedUnplaceable.all() as string[];
      },
      async clearNote(job) {
        return q.clearNote.run(job).changes > 0;
      },
      async insertWorker(w) {
        q.insertWorker.run(w.id, w.host, w.pid, w.concurrency, w.ram_mb, flag(w.exclusive), w.started_at, w.heartbeat_at, json(w.pools), json(w.labels));
      },
      async deleteWorker(id) {
        q.deleteWorker.run(id);
      },
      async heartbeat(worker, units, leaseUntil, now) {
        q.touchWorker.run(now, worker);
        return (q.extendLeases.all(leaseUntil, worker, json(units)) as Array<{ id: number; abort_requested: number }>).map((r) => ({ id: r.id, abortRequested: r.abort_requested === 1 }));
      },
      async deleteJobs(ids) {
        const list = json(ids);
        q.deleteUnitsOf.run(list);
        q.deleteDepsOf.run({ ids: list });
        q.unhideNodes.run(list);
        return q.deleteNodes.all(list) as Array<string | null>;
      },
      async deleteGroupIfEmpty(id) {
        const row = q.deleteGroupIfEmpty.get(id) as { parent: string | null } | undefined;
        if (row !== undefined) q.unhideNodes.run(json([id]));
        return row === undefined ? undefined : row.parent;
      },
      async hideNodes(owner, nodes) {
        q.hideNodes.run(owner, json(nodes));
      },
      async deleteEventsThrough(seq, limit) {
        return q.deleteEventsThrough.run(seq, limit).changes;
      },
      async setMeta(name, value) {
        q.setMeta.run(name, value);
      },
      async releaseWaiting(job, environ, now) {
        q.releaseJob.run(json(environ), job);
        return (q.releaseUnits.all(now, job) as Key[]).map(key);
      },
      async endWaiting(job, status, reason, now) {
        q.endWaitingUnits.run(job);
        return q.endWaitingJob.run(status, now, reason, job).changes > 0;
      },
      async lockNodes() {
        // One writer at a time: nothing else changes a node while this transaction runs.
      },
      async insertMessage(job, body, now) {
        return q.insertMessage.get({ job, body: json(body), now }) as number;
      },
      async advanceMessages(units) {
        q.advanceMessages.run({ units: json(units) });
      },
      async outboxDue(jobs, now) {
        q.outboxDue.run({ now, jobs: json(jobs) });
      },
      async claimOutbox(kind, limit, leaseUntil, dueBy, now) {
        return (q.claimOutbox.all({ kind, limit, lease: leaseUntil, dueBy, now }) as Array<Omit<OutboxItem, 'only_failures'> & { only_failures: number }>).map((r) => ({ ...r, only_failures: r.only_failures === 1 }));
      },
      async finishOutbox(id, state, error, nextAt, now, sentFor) {
        q.finishOutbox.run({ id, state, error, next: nextAt, now, sentFor });
      },
      async postponeOutbox(id, nextAt) {
        q.postponeOutbox.run({ id, nextAt });
      },
      async insertUser(user, now) {
        q.insertUser.run({ ...user, accounts: json(user.accounts), now });
      },
      async updateUser(name, patch) {
        const sets: string[] = [];
        const args: unknown[] = [];
        const set = (column: string, value: unknown) => {
          sets.push(`${column} = ?`);
          args.push(value);
        };
        if (patch.role !== undefined) set('role', patch.role);
        if (patch.email !== undefined) set('email', patch.email);
        if (patch.accounts !== undefined) set('accounts', json(patch.accounts));
        if (patch.tokenHash !== undefined) set('token_hash', patch.tokenHash);
        if (!sets.length) return Boolean(q.userByName.get(name));
        return db.prepare(`UPDATE users SET ${sets.join(', ')} WHERE name = ?`).run(...args, name).changes > 0;
      },
      async deleteUser(name) {
        return q.deleteUser.run(name).changes > 0;
      },
    };
  }
}

/**
 * One queue of transactions per database file in this process. better-sqlite3 waits for a lock
 * synchronously: a second connection of this thread that asked for the write lock while the first
 * held it across an await would block the thread the first needs to commit. Queued, it waits its
 * turn instead.
 */
const lanes = new Map<string, { tail: Promise<unknown> }>();
function laneOf(file: string): { tail: Promise<unknown> } {
  const key = path.resolve(file);
  let lane = lanes.get(key);
  if (!lane) lanes.set(key, (lane = { tail: Promise.resolve() }));
  return lane;
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

import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { loadPg, pgModule } from './pgModule.js';
import type { Environ } from '../../environ/index.js';
import type { ClaimedRow, Driver, ExpiredRow, FinishedRow, JobTally, QueueKey, ReadTx, UnitOutcomeRow, WriteTx } from '../driver.js';
import type { Delivery, JobStatus, NodeInfo, OutboxItem, StoreEvent, UnitClass, UnitInfo, UserInfo, WorkerInfo } from '../types.js';
import { ChangeCounter } from '../changes.js';
import { DEFAULT_POOL } from '../info.js';
import { query } from './prepared.js';
import { explainPgError } from './errors.js';
import { ident, migrate } from './migrate.js';
import { listNodesSql, SQL } from './statements.js';
import { Listener } from './listener.js';
import { connectionOptions } from './url.js';

type Queryable = pg.Pool | pg.PoolClient;
/** Sorting priced out, and no parallel workers (whose start costs more than a page read in index order). */
const IN_INDEX_ORDER = 'SET LOCAL enable_sort = off; SET LOCAL max_parallel_workers_per_gather = 0';
const DEFAULT_ORDER = 'SET LOCAL enable_sort TO DEFAULT; SET LOCAL max_parallel_workers_per_gather TO DEFAULT';
type Key = { pool: string; owner: string; class: UnitClass; exclusive: boolean; ram_mb: number };
type Claimed = { id: number; job: string; idx: number; priority: number; token: number; attempts: number; input: unknown } & Key;

/** bigint comes back as a Number (ms times, ids and counts all fit in 2^53). */
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 20 ? (v: string) => Number(v) : pgModule().types.getTypeParser(oid, format))) as typeof pg.types.getTypeParser,
};

const key = (r: Key): QueueKey & { ramMb: number } => ({ pool: r.pool, owner: r.owner, class: r.class, exclusive: r.exclusive, ramMb: r.ram_mb });
const claimed = (r: Claimed): ClaimedRow => ({ id: r.id, job: r.job, idx: r.idx, priority: r.priority, token: r.token, attempts: r.attempts, input: r.input, ...key(r) });
const json = (value: unknown) => JSON.stringify(value);

export interface PostgresOptions {
  /** the schema holding Sluice's tables (tests give each its own); default the URL's `schema`, else `public` */
  schema?: string;
  /** connections in the pool (default 10) */
  poolSize?: number;
}

/**
 * PostgreSQL as the distributed engine: any number of workers on any machines share one database.
 * Claims take rows with FOR UPDATE SKIP LOCKED; wake-ups come by LISTEN/NOTIFY (one channel per
 * schema), with a slow poll as fallback; a lost connection is retried by the callers (a worker's loop
 * backs off), and the listener reconnects by itself.
 *
 * Events are appended last in each transaction under an advisory lock held to its commit, so they
 * become visible in sequence order: a watcher reading "after N" never sees N+2 before N+1. A gap
 * can still appear when a transaction that took a number rolls back; a reader waits for it until
 * every transaction that was running when it saw the gap has ended, then skips it.
 */
export class PostgresDriver implements Driver {
  readonly read: ReadTx;
  private readonly changes: ChangeCounter;
  private readonly instance = randomUUID();
  /** seq → the snapshot's xmax when a reader first saw it missing */
  private readonly gaps = new Map<number, bigint>();
  private closed = false;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly listener: Listener,
    readonly schema: string,
    readonly description: string,
    changes: ChangeCounter,
  ) {
    this.changes = changes;
    this.read = this.readTx(pool);
  }

  /** Connects, brings the schema up to date and starts listening. */
  static async open(url: string, options: PostgresOptions = {}): Promise<PostgresDriver> {
    const { config, schema: fromUrl, where } = connectionOptions(url);
    const schema = options.schema ?? fromUrl ?? 'public';
    const channel = `sluice_${schema}`.slice(0, 63);
    // random_page_cost as for data in memory or on SSD (the default, 4, is for spinning disks): the
    // claim cycle's statements look up a few dozen rows by key, and at the default the planner took
    // a scan of a table of a few thousand rows for cheaper (test/store.postgres.test.ts, docs/design.md).
    const { Pool } = await loadPg();
    const pool = new Pool({ ...config, max: options.poolSize ?? 10, types: TYPES, options: `-c search_path=${ident(schema)} -c random_page_cost=1.1` });
    // An idle client that loses its server (a restart) must not crash the process: the next query reconnects.
    pool.on('error', () => {});
    let version: string;
    try {
      const client = await pool.connect();
      try {
        await migrate(client, schema);
        version = (await client.query<{ server_version: string }>('SHOW server_version')).rows[0]!.server_version;
      } finally {
        client.release();
      }
    } catch (err) {
      await pool.end().catch(() => {});
      throw explainPgError(err, where);
    }
    const changes = new ChangeCounter();
    const driver: { current?: PostgresDriver } = {};
    const listener = new Listener(config, channel, (payload) => driver.current?.onNotify(payload));
    await listener.start();
    driver.current = new PostgresDriver(pool, listener, schema, `PostgreSQL ${version} (${where}, schema ${schema})`, changes);
    listener.onReconnect = () => changes.bump(); // notifications may have been missed meanwhile
    return driver.current;
  }

  async transaction<T>(fn: (tx: WriteTx) => Promise<T>): Promise<T> {
    return (await this.transactionWithMark(fn)).result;
  }

  async transactionWithMark<T>(fn: (tx: WriteTx) => Promise<T>): Promise<{ result: T; mark: number }> {
    let mark = this.changes.mark();
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw explainPgError(err, this.where);
    }
    const state = { notify: false, notified: false, eventsLocked: false };
    let result: T;
    try {
      await client.query('BEGIN');
      result = await fn(this.writeTx(client, state));
      if (state.notify && !state.notified) await client.query('SELECT pg_notify($1, $2)', [this.listener.channel, this.instance]);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      client.release(isConnectionError(err));
      throw explainPgError(err, this.where);
    }
    client.release();
    if (state.notify) {
      this.changes.bump();
      mark++;
    }
    return { result, mark };
  }

  async snapshot<T>(fn: (tx: ReadTx) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      throw explainPgError(err, this.where);
    }
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const result = await fn(this.readTx(client));
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      client.release(isConnectionError(err));
      throw explainPgError(err, this.where);
    }
  }

  changeMark(): number {
    return this.changes.mark();
  }

  waitForChange(timeoutMs: number, signal?: AbortSignal, since?: number): Promise<void> {
    return this.changes.wait(timeoutMs, signal, since);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.changes.close();
    await this.listener.stop();
    await this.pool.end();
  }

  private get where(): string {
    return this.description;
  }

  /** Another process committed (our own commits were counted when they happened). */
  private onNotify(payload: string): void {
    if (payload !== this.instance) this.changes.bump();
  }

  private readTx(c: Queryable): ReadTx {
    const rows = async <R>(text: string, values: unknown[] = []): Promise<R[]> => {
      try {
        return (await query(c, text, values)).rows as R[];
      } catch (err) {
        throw explainPgError(err, this.where);
      }
    };
    const gapResolved = (seq: number, xmin: bigint) => this.gapResolved(c, seq, xmin);
    const where = this.where;
    /**
     * A query in the listing's order with sorting priced out (IN_INDEX_ORDER). For the text search: the planner
     * cannot estimate how many rows a word matches and, guessing few, would read and sort every job
     * for a page that the first few hundred rows in index order fill (a common word of a million
     * jobs: 1.1-1.5 s sorted, 12 ms in index order; a rare word reads every job either way). SET
     * LOCAL holds for one transaction: the query's own, or the one it runs in (then set back).
     */
    const inIndexOrder = async <R>(text: string, values: unknown[]): Promise<R[]> => {
      try {
        if (!(c instanceof pgModule().Pool)) {
          await c.query(IN_INDEX_ORDER);
          try {
            return (await c.query(text, values)).rows as R[];
          } finally {
            await c.query(DEFAULT_ORDER);
          }
        }
        const client = await c.connect();
        let failed: unknown;
        try {
          await client.query('BEGIN READ ONLY');
          await client.query(IN_INDEX_ORDER);
          const result = (await client.query(text, values)).rows as R[];
          await client.query('COMMIT');
          return result;
        } catch (err) {
          failed = err;
          await client.query('ROLLBACK').catch(() => {});
          throw err;
        } finally {
          client.release(failed !== undefined && isConnectionError(failed));
        }
      } catch (err) {
        throw explainPgError(err, where);
      }
    };
    return {
      async getNode(id) {
        const [row] = await rows<Record<string, unknown>>(SQL.getNode, [id]);
        return row ? (recordOf(row) as Awaited<ReturnType<ReadTx['getNode']>>) : undefined;
      },
      async listNodes(filter) {
        const { text, values } = listNodesSql(filter);
        const read = filter.text === undefined ? rows : inIndexOrder;
        return (await read<Record<string, unknown>>(text, values)).map(infoOf);
      },
      async units(job) {
        return rows<UnitInfo>(SQL.units, [job]);
      },
      async users() {
        return rows<{ owner: string; group: string | null; jobs: number }>(SQL.users);
      },
      async liveWorkers(since) {
        return rows<WorkerInfo>(SQL.liveWorkers, [since]);
      },
      async abortRequests(worker) {
        return (await rows<{ id: number }>(SQL.abortRequests, [worker])).map((r) => r.id);
      },
      async workerLoads() {
        return rows<{ worker: string; running: number; ramMb: number }>(SQL.workerLoads);
      },
      async queueState(now) {
        return (await rows<Awaited<ReturnType<ReadTx['queueState']>>>(SQL.queueState, [now]))[0]!;
      },
      async jobCounts(since, before, step) {
        const args = [since, before, Math.max(1, Math.floor(step))];
        type Count = { class: string; slot: number; n: number };
        const [started, finished] = [await rows<Count>(SQL.jobsStarted, args), await rows<Count>(SQL.jobsFinished, args)];
        return { started, finished };
      },
      async findGroup(parent, name) {
        return (await rows<{ id: string; owner: string }>(SQL.findGroup, [parent ?? '', name]))[0];
      },
      async expiredJobs(now, keepMs, limit) {
        return (await rows<{ id: string }>(SQL.expiredJobs, [now, keepMs, limit === Number.MAX_SAFE_INTEGER ? null : limit])).map((r) => r.id);
      },
      async eventsAfter(seq, limit) {
        const [answer] = await rows<{ xmin: string; pruned: number; events: Array<{ seq: number; at: number; verb: StoreEvent['verb']; node: string; owner: string; info: Record<string, unknown> }> }>(SQL.eventsAfter, [seq, limit]);
        const out: StoreEvent[] = [];
        // What pruning removed is no gap.
        let expected = Math.max(seq, answer!.pruned) + 1;
        for (const e of answer!.events) {
          if (e.seq !== expected && !(await gapResolved(expected, BigInt(answer!.xmin)))) break;
          expected = e.seq + 1;
          out.push(eventOf(e));
        }
        return out;
      },
      async eventsOf(node, limit) {
        return (await rows<{ seq: number; at: number; verb: StoreEvent['verb']; node: string; owner: string; info: Record<string, unknown> }>(SQL.eventsOf, [node, limit])).map(eventOf);
      },
      async hiddenNodes(owner) {
        return (await rows<{ node: string }>(SQL.hiddenNodes, [owner])).map((r) => r.node);
      },
      async lastSeq() {
        return (await rows<{ seq: number }>(SQL.lastSeq))[0]!.seq;
      },
      async firstEventAfter(at) {
        return (await rows<{ seq: number }>(SQL.firstEventAfter, [at]))[0]?.seq;
      },
      async countEventsThrough(seq) {
        return Number((await rows<{ n: number }>(SQL.countEventsThrough, [seq]))[0]!.n);
      },
      async getMeta(name) {
        return (await rows<{ value: string }>(SQL.getMeta, [name]))[0]?.value ?? undefined;
      },
      async jobStats() {
        const byStatus: Partial<Record<JobStatus, number>> = {};
        let firstStart: number | null = null;
        let lastEnd: number | null = null;
        for (const r of await rows<{ status: JobStatus; n: number; first: number | null; last: number | null }>(SQL.jobStats)) {
          byStatus[r.status] = r.n;
          if (r.first !== null) firstStart = firstStart === null ? r.first : Math.min(firstStart, r.first);
          if (r.last !== null) lastEnd = lastEnd === null ? r.last : Math.max(lastEnd, r.last);
        }
        return { byStatus, firstStart, lastEnd };
      },
      async dependentsOf(jobs) {
        return (await rows<{ job: string; after_any: boolean }>(SQL.dependentsOf, [jobs])).map((r) => ({ job: r.job, afterAny: r.after_any }));
      },
      async depStates(job) {
        const deps = await rows<{ dep: string; status: JobStatus; result: unknown; output: Environ | null }>(SQL.depStates, [job]);
        return { afterAny: Boolean((await rows<{ after_any: boolean }>(SQL.afterAny, [job]))[0]?.after_any), deps: deps.map((d) => ({ dep: d.dep, status: d.status, result: d.result ?? null, output: d.output ?? null })) };
      },
      async queueCounts() {
        return { kept: await rows(SQL.queueCounts), real: await rows(SQL.realQueueCounts) };
      },
      async pendingMessages(units) {
        return rows<{ unit: number; seq: number; body: unknown }>(SQL.pendingMessages, [json(units)]);
      },
      async outboxOf(job) {
        return rows<Delivery & { kind: string; only_failures: boolean }>(SQL.outboxOf, [job]);
      },
      async digestSent(address, at) {
        return (await rows(SQL.digestSent, [address, at])).length > 0;
      },
      async listUsers() {
        return rows<UserInfo>(SQL.listUsers);
      },
      async userWhere(by, value) {
        return (await rows<UserInfo>(by === 'name' ? SQL.userByName : SQL.userByToken, [value]))[0];
      },
    };
  }

  /**
   * Whether a missing seq can be skipped: the first time it is seen missing, note the snapshot's
   * xmax; once the oldest running transaction (xmin) is past that, every transaction that could have
   * held that number has ended, so it was rolled back.
   */
  private async gapResolved(c: Queryable, seq: number, xmin: bigint): Promise<boolean> {
    const seen = this.gaps.get(seq);
    if (seen === undefined) {
      const { rows } = await query<{ xmax: string }>(c, SQL.xmax);
      this.gaps.set(seq, BigInt(rows[0]!.xmax));
      if (this.gaps.size > 10_000) this.gaps.delete(this.gaps.keys().next().value!);
      return false;
    }
    if (xmin < seen) return false;
    this.gaps.delete(seq);
    return true;
  }

  private writeTx(c: pg.PoolClient, state: { notify: boolean; notified: boolean; eventsLocked: boolean }): WriteTx {
    const run = async (text: string, values: unknown[] = []) => (await query(c, text, values)).rows as Array<Record<string, unknown>>;
    const count = async (text: string, values: unknown[]) => (await query(c, text, values)).rowCount ?? 0;
    const eventsKey = `sluice-events:${this.schema}`;
    const { channel } = this.listener;
    const instance = this.instance;
    const lockEvents = async () => {
      if (state.eventsLocked) return;
      await query(c, SQL.eventsLock, [eventsKey]);
      state.eventsLocked = true;
    };
    return {
      ...this.readTx(c),
      notifyChange() {
        state.notify = true;
      },
      async insertJobs(rows, now) {
        const batch = json(rows.map((r, i) => ({ ...r, ord: i })));
        await query(c, SQL.insertJobs, [now, batch]);
        await query(c, SQL.insertUnits, [now, batch]);
        if (rows.some((r) => r.callbackUrl)) await query(c, SQL.insertCallbacks, [now, batch]);
        if (rows.some((r) => r.after.length)) await query(c, SQL.insertDeps, [batch]);
        if (rows.some((r) => r.notify)) await query(c, SQL.insertNotices, [now, batch]);
      },
      async insertGroup(row, now) {
        return ((await query(c, SQL.insertGroup, [row.id, row.name, row.parent, row.owner, now])).rowCount ?? 0) > 0;
      },
      async appendEvents(events) {
        if (!events.length) return;
        // The lock and the NOTIFY travel with the rows (NOTIFY is delivered at commit, so sending it now is the same).
        await query(c, SQL.appendEvents, [
          eventsKey, channel, instance, events.map((e) => e.id), events.map((e) => e.verb), events.map((e) => e.at),
        ]);
        state.eventsLocked = true;
        state.notify = true;
        state.notified = true;
      },
      async appendPruneEvent(through, jobs, now) {
        await lockEvents();
        await query(c, SQL.appendPruneEvent, [now, json({ through, jobs })]);
      },
      async queueDelta(deltas, now, served) {
        if (deltas.length) await query(c, SQL.queueDelta, [now, served, json(deltas)]);
      },
      async promoteDue(now) {
        return ((await run(SQL.promoteDue, [now])) as Key[]).map(key);
      },
      async claimHeads(worker, queues, freeRamMb, leaseUntil, now) {
        const list = json(queues.map((k) => ({ pool: k.pool, owner: k.owner, class: k.class, exclusive: k.exclusive })));
        return ((await run(SQL.claimHeads, [worker, leaseUntil, now, list, freeRamMb])) as Claimed[]).map(claimed);
      },
      async claimFromQueue(worker, k, n, freeRamMb, leaseUntil, now) {
        return ((await run(SQL.claimFromQueue, [worker, leaseUntil, now, k.pool, k.owner, k.class, k.exclusive, freeRamMb, n])) as Claimed[]).map(claimed);
      },
      async claimJobUnits(worker, job, n, leaseUntil, now) {
        return ((await run(SQL.claimJobUnits, [worker, leaseUntil, now, job, n])) as Claimed[]).map(claimed).sort((a, b) => a.idx - b.idx);
      },
      async unclaim(unit) {
        await query(c, SQL.unclaim, [unit]);
      },
      async startJobs(units, now) {
        const sorted = [...units].sort((a, b) => (a.job < b.job ? -1 : 1));
        const rows = (await run(SQL.startJobs, [now, json(sorted), units.map((u) => u.job)])) as Array<{ id: string; environ: Environ; owner: string }>;
        return new Map(rows.map((r) => [r.id, { environ: r.environ ?? {}, owner: r.owner }]));
      },
      async finishUnits(outcomes, now) {
        type Row = { id: number; job: string; idx: number; owner: string; attempts: number; retries_left: number; abort_requested: boolean; has_owner_row: boolean; share: number; usage: number; usage_at: number; unit_seconds: number | null; rank: number };
        const rows = (await run(SQL.finishUnits, [now, json(outcomes), outcomes.map((o) => o.unit)])) as Row[];
        return rows.map((r): FinishedRow => ({
          id: r.id, job: r.job, idx: r.idx, owner: r.owner, attempts: r.attempts, retriesLeft: r.retries_left, abortRequested: r.abort_requested,
          ownerRow: r.has_owner_row ? { owner: r.owner, share: r.share, usage: r.usage, usageAt: r.usage_at, unitSeconds: r.unit_seconds, rank: r.rank } : null,
        }));
      },
      async retryUnits(units) {
        await query(c, SQL.retryUnits, [json(units.map((u) => ({ unit: u.unit, runAfter: u.runAfter })))]);
      },
      async noteRetry(job, text) {
        await query(c, SQL.noteRetry, [text, job]);
      },
      async jobTallies(jobs) {
        // Locked, in id order: two workers finishing units of one map job take turns, and never deadlock on it.
        const rows = (await run(SQL.jobTallies, [[...jobs].sort()])) as Array<{ id: string; status: JobStatus; map: boolean; fail_fast: boolean; units_total: number; units_done: number; units_failed: number; units_running: number }>;
        return rows.map((r): JobTally => ({
          id: r.id, status: r.status, map: r.map, failFast: r.fail_fast,
          unitsTotal: r.units_total, unitsDone: r.units_done, unitsFailed: r.units_failed, unitsRunning: r.units_running,
        }));
      },
      async unitOutcomes(jobs) {
        return (await run(SQL.unitOutcomes, [jobs])) as unknown as UnitOutcomeRow[];
      },
      async updateJobs(updates) {
        if (!updates.length) return [];
        const rows = updates.map((u) => ({ ...u, hasOutput: 'output' in u, hasResult: 'result' in u, hasError: 'error' in u }));
        return ((await run(SQL.updateJobs, [json(rows), rows.map((r) => r.id)])) as Array<{ id: string }>).map((r) => r.id);
      },
      async stopWaitingUnits(job) {
        const stopped = ((await run(SQL.stopQueuedUnits, [job])) as Key[]).map(key);
        await query(c, SQL.stopDelayedUnits, [job]);
        return stopped;
      },
      async flagRunningUnits(job) {
        await query(c, SQL.flagRunningUnits, [job]);
      },
      async setAborted(job, reason, now) {
        return (await count(SQL.setAborted, [now, reason, job])) > 0;
      },
      async writeUsage(rows) {
        await query(c, SQL.writeUsage, [json(rows)]);
      },
      async setShare(owner, share, rank) {
        await query(c, SQL.setShare, [owner, share, rank ?? null]);
      },
      async releaseUnit(unit, token, now) {
        const [row] = (await run(SQL.releaseUnit, [now, unit, token])) as Array<Key & { job: string }>;
        return row ? { ...key(row), job: row.job } : undefined;
      },
      async requeueJob(job) {
        await query(c, SQL.requeueJob, [job]);
      },
      async setProgress(unit, token, progress) {
        return ((await run(SQL.setProgress, [json(progress), unit, token]))[0]?.id as string | undefined) ?? undefined;
      },
      async setStatusText(unit, token, text) {
        return ((await run(SQL.setStatusText, [text, unit, token]))[0]?.id as string | undefined) ?? undefined;
      },
      async expiredUnits(now) {
        return ((await run(SQL.expiredUnits, [now])) as Array<{ id: number; job: string; lost: number; max_lost: number; abort_requested: boolean }>).map(
          (r): ExpiredRow => ({ id: r.id, job: r.job, lost: r.lost, maxLost: r.max_lost, abortRequested: r.abort_requested }),
        );
      },
      async abortUnit(unit) {
        await query(c, SQL.abortUnit, [unit]);
      },
      async requeueLostUnit(unit, now) {
        return key(((await run(SQL.requeueLostUnit, [now, unit])) as Key[])[0]!);
      },
      async failLostUnit(unit, reason, now) {
        return (await run(SQL.failLostUnit, [reason, now, unit]))[0]!.idx as number;
      },
      async noteLost(job) {
        await query(c, SQL.noteLost, [job]);
      },
      async unplaceableCandidates(ramMb, exclusive) {
        const rows = [...(await run(SQL.tooBig, [ramMb])), ...(exclusive ? await run(SQL.exclusiveQueued) : [])] as Array<{ job: string; ram_mb: number; exclusive: boolean; pool: string }>;
        return rows.map((r) => ({ job: r.job, ramMb: r.ram_mb, exclusive: r.exclusive, pool: r.pool }));
      },
      async setNote(job, note) {
        return (await count(SQL.setNote, [note, job])) > 0;
      },
      async notedUnplaceable() {
        return (await run(SQL.notedUnplaceable)).map((r) => r.id as string);
      },
      async clearNote(job) {
        return (await count(SQL.clearNote, [job])) > 0;
      },
      async insertWorker(w) {
        await query(c, SQL.insertWorker, [w.id, w.host, w.pid, w.concurrency, w.ram_mb, w.exclusive, w.started_at, w.heartbeat_at, json(w.pools), json(w.labels)]);
      },
      async deleteWorker(id) {
        await query(c, SQL.deleteWorker, [id]);
      },
      async heartbeat(worker, units, leaseUntil, now) {
        await query(c, SQL.touchWorker, [now, worker]);
        return ((await run(SQL.extendLeases, [leaseUntil, worker, units])) as Array<{ id: number; abort_requested: boolean }>).map((r) => ({ id: r.id, abortRequested: r.abort_requested }));
      },
      async deleteJobs(ids) {
        await query(c, SQL.deleteUnitsOf, [ids]);
        await query(c, SQL.deleteDepsOf, [ids]);
        await query(c, SQL.unhideNodes, [ids]);
        return (await run(SQL.deleteNodes, [ids])).map((r) => (r.parent as string | null) ?? null);
      },
      async deleteGroupIfEmpty(id) {
        const [row] = await run(SQL.deleteGroupIfEmpty, [id]);
        if (row !== undefined) await c.query(SQL.unhideNodes, [[id]]);
        return row === undefined ? undefined : ((row.parent as string | null) ?? null);
      },
      async hideNodes(owner, nodes) {
        await c.query(SQL.hideNodes, [owner, nodes]);
      },
      async deleteEventsThrough(seq, limit) {
        return count(SQL.deleteEventsThrough, [seq, limit]);
      },
      async setMeta(name, value) {
        await query(c, SQL.setMeta, [name, value]);
      },
      async releaseWaiting(job, environ, now) {
        await query(c, SQL.releaseJob, [json(environ), job]);
        return ((await run(SQL.releaseUnits, [now, job])) as Key[]).map(key);
      },
      async endWaiting(job, status, reason, now) {
        await query(c, SQL.endWaitingUnits, [job]);
        return (await count(SQL.endWaitingJob, [status, now, reason, job])) > 0;
      },
      async lockNodes(ids) {
        await c.query(SQL.lockNodes, [[...ids].sort()]);
      },
      async insertMessage(job, body, now) {
        await query(c, SQL.lockJob, [job]);
        return (await run(SQL.insertMessage, [job, json(body), now]))[0]!.seq as number;
      },
      async advanceMessages(units) {
        await query(c, SQL.advanceMessages, [json(units)]);
      },
      async outboxDue(jobs, now) {
        await query(c, SQL.outboxDue, [now, jobs]);
      },
      async claimOutbox(kind, limit, leaseUntil, dueBy, now) {
        return (await run(SQL.claimOutbox, [kind, leaseUntil, now, limit, dueBy])) as unknown as OutboxItem[];
      },
      async finishOutbox(id, state, error, nextAt, now, sentFor) {
        await query(c, SQL.finishOutbox, [id, state, error, nextAt, now, sentFor]);
      },
      async postponeOutbox(id, nextAt) {
        await query(c, SQL.postponeOutbox, [id, nextAt]);
      },
      async insertUser(user, now) {
        await query(c, SQL.insertUser, [user.name, user.role, user.email, json(user.accounts), user.tokenHash, now]);
      },
      async updateUser(name, patch) {
        const sets: string[] = [];
        const values: unknown[] = [];
        const set = (column: string, value: unknown, cast = '') => {
          values.push(value);
          sets.push(`${column} = $${values.length}${cast}`);
        };
        if (patch.role !== undefined) set('role', patch.role);
        if (patch.email !== undefined) set('email', patch.email);
        if (patch.accounts !== undefined) set('accounts', json(patch.accounts), '::jsonb');
        if (patch.tokenHash !== undefined) set('token_hash', patch.tokenHash);
        if (!sets.length) return (await run(SQL.userByName, [name])).length > 0;
        values.push(name);
        return (await count(`UPDATE users SET ${sets.join(', ')} WHERE name = $${values.length}`, values)) > 0;
      },
      async deleteUser(name) {
        return (await count(SQL.deleteUser, [name])) > 0;
      },
    };
  }
}

/** Whether the client's connection is broken (it must not go back to the pool). */
function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string })?.code ?? '';
  return code.startsWith('08') || code === '57P01' || code === 'ECONNRESET' || code === 'ECONNREFUSED' || code === 'EPIPE' || /Connection terminated/.test(String((err as Error)?.message));
}

function infoOf(r: Record<string, unknown>): NodeInfo {
  return {
    id: r.id as string,
    type: r.type as NodeInfo['type'],
    name: r.name as string,
    parent: (r.parent as string | null) ?? null,
    owner: r.owner as string,
    status: (r.status as JobStatus | null) ?? null,
    status_text: (r.status_text as string | null) ?? null,
    job_type: (r.job_type as string | null) ?? null,
    tags: (r.tags as string[]) ?? [],
    priority: r.priority as number,
    class: r.class as UnitClass,
    progress: (r.progress as NodeInfo['progress']) ?? null,
    attempts: r.attempts as number,
    max_attempts: r.max_attempts as number,
    lost: r.lost as number,
    context: (r.pool as string | undefined) ?? DEFAULT_POOL,
    date_created: r.date_created as number,
    date_start: (r.date_start as number | null) ?? null,
    date_end: (r.date_end as number | null) ?? null,
    result: r.result ?? null,
    error: (r.error as string | null) ?? null,
  };
}

function recordOf(r: Record<string, unknown>) {
  const info = infoOf(r);
  if (info.type === 'group') return info;
  return {
    ...info,
    environ: (r.environ as Environ | null) ?? {},
    output: (r.output as Environ | null) ?? null,
    ...(r.unit_outcomes ? { units: r.unit_outcomes } : {}),
    ...(r.account ? { account: r.account as string } : {}),
  };
}

function eventOf(e: { seq: number; at: number; verb: StoreEvent['verb']; node: string; owner: string; info: Record<string, unknown> }): StoreEvent {
  if (e.verb === 'prune') {
    const { through, jobs } = e.info as { through: number; jobs: number };
    return { seq: e.seq, at: e.at, verb: 'prune', through, jobs };
  }
  return { seq: e.seq, at: e.at, verb: e.verb, id: e.node, owner: e.owner, info: e.info as unknown as NodeInfo };
}

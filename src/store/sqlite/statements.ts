import type Database from 'better-sqlite3';
import { DEFAULT_POOL } from '../info.js';

/** A prepared statement (an interface of our own, so that declaration files can name it). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Statement extends Database.Statement<unknown[], unknown> {}

/**
 * Every SQL statement of the SQLite store, prepared once. Batches travel as one JSON array bound to
 * a parameter and are expanded with jsonb_each (parsed once into SQLite's binary JSON, so that reading
 * a field of a row does not parse its text again), so a batch of n rows is one statement, not n.
 */

/** A node's info as JSON, built by SQLite (the same shape as info.ts `infoOf`). */
const INFO_JSON = `json_object('id', n.id, 'type', n.type, 'name', n.name, 'parent', n.parent, 'owner', n.owner, 'status', n.status,
  'status_text', n.status_text, 'job_type', n.job_type, 'tags', json(n.tags), 'priority', n.priority, 'class', n.class,
  'progress', json(n.progress), 'attempts', n.attempts, 'max_attempts', n.max_attempts, 'lost', n.lost, 'context', '${DEFAULT_POOL}', 'date_created', n.date_created,
  'date_start', n.date_start, 'date_end', n.date_end, 'result', json(n.result), 'error', n.error)`;

export const INFO_COLUMNS =
  'id, type, name, parent, owner, status, status_text, job_type, tags, priority, class, progress, attempts, max_attempts, lost, date_created, date_start, date_end, result, error';

/** A node's columns, prefixed (for joins). */
export const INFO_COLUMNS_OF = (alias: string) => INFO_COLUMNS.split(', ').map((c) => `${alias}.${c}`).join(', ');

const UNIT_CLAIMED = 'id, job, idx, priority, token, attempts, input, owner, class, ram_mb, exclusive';
/** What names a unit's queue. */
const QUEUE_KEY = 'owner, class, exclusive, ram_mb';

export function prepare(db: Database.Database) {
  const p = (sql: string): Statement => db.prepare(sql) as Statement;
  return {
    // --- submitting
    insertJobs: p(
      `INSERT INTO nodes (id, type, name, parent, owner, status, job_type, tags, priority, class, max_attempts, date_created, environ, units_total, fail_fast, map, keep_ms)
       SELECT j.value ->> 'id', 'job', j.value ->> 'name', j.value ->> 'parent', j.value ->> 'owner', 'Queued', j.value ->> 'job_type',
              j.value -> 'tags', j.value ->> 'priority', j.value ->> 'class', j.value ->> 'max', :now, j.value -> 'environ',
              j.value ->> 'units', j.value ->> 'failFast', j.value ->> 'map', j.value ->> 'keep'
         FROM jsonb_each(:batch) AS j ORDER BY j.key`,
    ),
    /** One unit per job without inputs; the batch is the one insertJobs takes. */
    insertUnits: p(
      `INSERT INTO units (job, idx, owner, class, exclusive, ram_mb, state, priority, queued_at, run_after, max_attempts, retries_left, max_lost)
       SELECT j.value ->> 'id', 0, j.value ->> 'owner', j.value ->> 'class', j.value ->> 'exclusive', j.value ->> 'ram',
              CASE WHEN j.value ->> 'runAfter' > :now THEN 'delayed' ELSE 'queued' END, j.value ->> 'priority', :now,
              j.value ->> 'runAfter', j.value ->> 'max', j.value ->> 'retries', j.value ->> 'maxLost'
         FROM jsonb_each(:batch) AS j WHERE j.value ->> 'inputs' IS NULL ORDER BY j.key`,
    ),
    /** One unit per input of each map job in the batch. */
    insertMapUnits: p(
      `INSERT INTO units (job, idx, owner, class, exclusive, ram_mb, state, priority, queued_at, run_after, max_attempts, retries_left, max_lost, input)
       SELECT j.value ->> 'id', i.key, j.value ->> 'owner', j.value ->> 'class', j.value ->> 'exclusive', j.value ->> 'ram',
              CASE WHEN j.value ->> 'runAfter' > :now THEN 'delayed' ELSE 'queued' END, j.value ->> 'priority', :now,
              j.value ->> 'runAfter', j.value ->> 'max', j.value ->> 'retries', j.value ->> 'maxLost', json_quote(i.value)
         FROM jsonb_each(:batch) AS j, json_each(j.value -> 'inputs') AS i WHERE j.value ->> 'inputs' IS NOT NULL ORDER BY j.key, i.key`,
    ),
    insertGroup: p(`INSERT INTO nodes (id, type, name, parent, owner, date_created) VALUES (?, 'group', ?, ?, ?, ?)`),
    findGroup: p(`SELECT id, owner FROM nodes WHERE type = 'group' AND coalesce(parent, '') = ? AND name = ?`),

    // --- events
    /** One event per node named in :ids (a JSON array), in that order, carrying the node's info as it is now. */
    insertEventsFor: p(
      `INSERT INTO events (at, verb, node, owner, info)
       SELECT :now, :verb, n.id, n.owner, ${INFO_JSON} FROM json_each(:ids) AS j JOIN nodes AS n ON n.id = j.value ORDER BY j.key`,
    ),
    insertPruneEvent: p(`INSERT INTO events (at, verb, node, owner, info) VALUES (?, 'prune', '', '', ?)`),
    eventsAfter: p(`SELECT seq, at, verb, node, owner, info FROM events WHERE seq > ? ORDER BY seq LIMIT ?`),
    lastSeq: p(`SELECT max(seq) FROM events`).pluck(),

    // --- reading
    getNode: p(`SELECT * FROM nodes WHERE id = ?`),
    /** Every node below a group, at any depth. */
    descendants: p(
      `WITH RECURSIVE below(id) AS (SELECT id FROM nodes WHERE parent = ? UNION ALL SELECT n.id FROM nodes n JOIN below b ON n.parent = b.id)
       SELECT id FROM below`,
    ).pluck(),
    getEnviron: p(`SELECT environ FROM nodes WHERE id = ?`).pluck(),
    units: p(
      `SELECT id, job, idx, state, input, attempts, lost, worker, run_after, started_at, ended_at, result, error, ram_mb, exclusive = 1 AS exclusive
         FROM units WHERE job = ? ORDER BY idx`,
    ),
    users: p(
      `SELECT o.owner AS owner,
              (SELECT id FROM nodes g WHERE g.type = 'group' AND g.parent IS NULL AND g.name = o.owner) AS "group",
              (SELECT count(*) FROM nodes j WHERE j.type = 'job' AND j.owner = o.owner) AS jobs
         FROM (SELECT DISTINCT owner FROM nodes) o ORDER BY o.owner`,
    ),

    // --- fair share
    /**
     * :deltas rows: {owner, class, exclusive, n}; n units joined (n > 0) or left (n < 0) the queue.
     * A queue that was empty starts waiting now; a claim (:served) marks the queue served now.
     */
    queueDelta: p(
      `INSERT INTO queues (owner, class, exclusive, queued, since, max_ram)
       SELECT j.value ->> 'owner', j.value ->> 'class', j.value ->> 'exclusive', j.value ->> 'n', :now, coalesce(j.value ->> 'ram', 0)
         FROM jsonb_each(:deltas) AS j WHERE true
         ON CONFLICT DO UPDATE SET
           since = CASE WHEN queued = 0 OR :served THEN excluded.since ELSE since END,
           queued = max(0, queued + excluded.queued),
           max_ram = CASE WHEN queued + excluded.queued <= 0 THEN 0 ELSE max(max_ram, excluded.max_ram) END`,
    ),
    activeQueues: p(`SELECT owner, class, exclusive, queued, since FROM queues WHERE queued > 0`),
    runningUnits: p(`SELECT owner, class, started_at FROM units WHERE state = 'running'`),
    ownersIn: p(`SELECT owner, share, usage, usage_at, unit_seconds FROM owners WHERE owner IN (SELECT value FROM json_each(?))`),
    setShare: p(`INSERT INTO owners (owner, share) VALUES (?, ?) ON CONFLICT DO UPDATE SET share = excluded.share`),
    /** :owners rows: {owner, usage, usage_at, unit_seconds}, worked out by schedule/ from the rows as they were. */
    writeUsage: p(
      `INSERT INTO owners (owner, usage, usage_at, unit_seconds)
       SELECT j.value ->> 'owner', j.value ->> 'usage', j.value ->> 'usage_at', j.value ->> 'unit_seconds' FROM jsonb_each(:owners) AS j WHERE true
         ON CONFLICT DO UPDATE SET usage = excluded.usage, usage_at = excluded.usage_at, unit_seconds = excluded.unit_seconds`,
    ),

    // --- claiming
    anyDue: p(`SELECT 1 FROM units WHERE state = 'delayed' AND run_after <= ? LIMIT 1`).pluck(),
    promoteDelayed: p(`UPDATE units SET state = 'queued', queued_at = run_after WHERE state = 'delayed' AND run_after <= ? RETURNING ${QUEUE_KEY}`),
    claimFromQueue: p(
      `UPDATE units SET state = 'running', worker = :worker, token = token + 1, lease_until = :lease, attempts = attempts + 1, started_at = :now
        WHERE id IN (SELECT id FROM units WHERE state = 'queued' AND owner = :owner AND class = :class AND exclusive = :exclusive
                        AND ram_mb <= :ram ORDER BY priority DESC, id LIMIT :count)
        RETURNING ${UNIT_CLAIMED}`,
    ),
    /** The head unit of each queue in :picks (a JSON array of {owner, class, exclusive}), in one statement. */
    claimHeads: p(
      `UPDATE units SET state = 'running', worker = :worker, token = token + 1, lease_until = :lease, attempts = attempts + 1, started_at = :now
        WHERE id IN (SELECT (SELECT u.id FROM units u WHERE u.state = 'queued' AND u.owner = j.value ->> 'owner' AND u.class = j.value ->> 'class'
                               AND u.exclusive = j.value ->> 'exclusive' AND u.ram_mb <= :ram ORDER BY u.priority DESC, u.id LIMIT 1)
                       FROM jsonb_each(:picks) AS j)
        RETURNING ${UNIT_CLAIMED}`,
    ),
    claimJob: p(
      `UPDATE units SET state = 'running', worker = :worker, token = token + 1, lease_until = :lease, attempts = attempts + 1, started_at = :now
        WHERE id IN (SELECT id FROM units WHERE job = :job AND state = 'queued' ORDER BY idx LIMIT :count) RETURNING ${UNIT_CLAIMED}`,
    ),
    /** Undo a claim inside the claiming transaction (the batch did not fit the worker's RAM). */
    unclaim: p(`UPDATE units SET state = 'queued', worker = NULL, lease_until = NULL, attempts = attempts - 1, token = token + 1 WHERE id = ? RETURNING ${QUEUE_KEY}`),
    startJobs: p(
      `UPDATE nodes SET status = 'Running', date_start = coalesce(date_start, :now), attempts = max(attempts, j.value ->> 'a'),
              error = CASE WHEN status = 'Queued' THEN NULL ELSE error END
         FROM jsonb_each(:units) AS j
        WHERE nodes.id = j.value ->> 'job' AND nodes.status IN ('Queued', 'Running')
        RETURNING nodes.id, nodes.environ`,
    ),

    // --- finishing
    /** :outcomes rows: {unit, token, state, result, error}; a stale token matches nothing. */
    finishUnits: p(
      `UPDATE units SET state = j.value ->> 'state', lease_until = NULL, ended_at = :now, result = j.value -> 'result', error = j.value ->> 'error'
         FROM jsonb_each(:outcomes) AS j
        WHERE units.id = j.value ->> 'unit' AND units.token = j.value ->> 'token' AND units.state = 'running'
        RETURNING units.id, units.job, units.idx, units.abort_requested, units.retries_left, units.attempts, units.owner`,
    ),
    /** A failed unit with retries left waits for its backoff instead of failing the job. */
    retryUnit: p(
      `UPDATE units SET state = 'delayed', run_after = :runAfter, retries_left = retries_left - 1, worker = NULL, token = token + 1 WHERE id = :unit`,
    ),
    /**
     * :jobs rows: {job, done, failed, aborted, output, result, error, unit}. Right-hand sides see the
     * row as it was, so units_done + done is the count after this batch. A job that has ended is not
     * touched: its record is fixed (a late unit of an aborted or failed-fast job changes only its unit).
     */
    finishJobs: p(
      `UPDATE nodes SET
          status = CASE WHEN j.value ->> 'aborted' THEN 'Aborted'
                        WHEN (j.value ->> 'failed') > 0 AND fail_fast THEN 'Failed'
                        WHEN units_done + (j.value ->> 'done') < units_total THEN
                          CASE WHEN EXISTS (SELECT 1 FROM units u WHERE u.job = nodes.id AND u.state = 'running') THEN 'Running' ELSE 'Queued' END
                        WHEN (j.value ->> 'failed') > 0 OR units_failed > 0 THEN 'Failed' ELSE 'Success' END,
          date_end = CASE WHEN j.value ->> 'aborted' OR units_done + (j.value ->> 'done') >= units_total
                               OR ((j.value ->> 'failed') > 0 AND fail_fast) THEN :now END,
          output = CASE WHEN map THEN output ELSE j.value -> 'output' END,
          result = CASE WHEN NOT map THEN j.value -> 'result'
                        WHEN units_done + (j.value ->> 'done') >= units_total OR ((j.value ->> 'failed') > 0 AND fail_fast)
                          THEN (SELECT json_group_array(CASE WHEN u.state = 'done' THEN json(coalesce(u.result, 'null')) END)
                                  FROM (SELECT state, result FROM units u WHERE u.job = nodes.id ORDER BY idx) u)
                        ELSE result END,
          unit_outcomes = CASE WHEN map AND (units_done + (j.value ->> 'done') >= units_total OR ((j.value ->> 'failed') > 0 AND fail_fast))
                          THEN (SELECT json_group_array(CASE WHEN u.state = 'done' THEN json_object('index', u.idx, 'status', 'Success', 'result', json(coalesce(u.result, 'null')))
                                                             ELSE json_object('index', u.idx, 'status', CASE WHEN u.state = 'failed' THEN 'Failed' ELSE 'Aborted' END, 'error', u.error) END)
                                  FROM (SELECT idx, state, result, error FROM units u WHERE u.job = nodes.id ORDER BY idx) u) END,
          progress = CASE WHEN map THEN json_object('done', units_done + (j.value ->> 'done'), 'total', units_total) ELSE progress END,
          error = coalesce(CASE WHEN map THEN 'unit ' || (j.value ->> 'unit') || ': ' || (j.value ->> 'error') ELSE j.value ->> 'error' END, error),
          units_done = units_done + (j.value ->> 'done'), units_failed = units_failed + (j.value ->> 'failed')
         FROM jsonb_each(:jobs) AS j
        WHERE nodes.id = j.value ->> 'job' AND nodes.status IN ('Queued', 'Running')
        RETURNING nodes.id, nodes.status, nodes.fail_fast`,
    ),
    /** A map job that failed fast: its other units stop. */
    stopQueuedUnits: p(`UPDATE units SET state = 'aborted' WHERE job = ? AND state = 'queued' RETURNING ${QUEUE_KEY}`),
    stopDelayedUnits: p(`UPDATE units SET state = 'aborted' WHERE job = ? AND state = 'delayed'`),
    flagRunningUnits: p(`UPDATE units SET abort_requested = 1 WHERE job = ? AND state = 'running'`),
    noteRetry: p(
      `UPDATE nodes SET error = ?, status = CASE WHEN status = 'Running' AND NOT EXISTS (SELECT 1 FROM units WHERE job = nodes.id AND state = 'running') THEN 'Queued' ELSE status END
        WHERE id = ? AND status IN ('Queued', 'Running')`,
    ),

    // --- aborting, releasing, reaping
    setAborted: p(`UPDATE nodes SET status = 'Aborted', date_end = ?, error = ? WHERE id = ? AND status IN ('Queued', 'Running')`),
    releaseUnit: p(
      `UPDATE units SET state = 'queued', worker = NULL, lease_until = NULL, attempts = attempts - 1, token = token + 1, queued_at = ?
        WHERE id = ? AND token = ? AND state = 'running' RETURNING job, ${QUEUE_KEY}`,
    ),
    /** A unit whose worker vanished goes back to its queue: the run does not count as an attempt, it counts as lost. */
    requeueLostUnit: p(
      `UPDATE units SET state = 'queued', worker = NULL, lease_until = NULL, token = token + 1, queued_at = ?, attempts = attempts - 1, lost = lost + 1
        WHERE id = ? RETURNING ${QUEUE_KEY}`,
    ),
    noteLost: p(`UPDATE nodes SET lost = lost + 1 WHERE id = ?`),
    requeueJob: p(
      `UPDATE nodes SET status = 'Queued', attempts = (SELECT max(attempts) FROM units WHERE job = nodes.id)
        WHERE id = ? AND status = 'Running' AND NOT EXISTS (SELECT 1 FROM units WHERE job = nodes.id AND state = 'running')`,
    ),
    abortUnit: p(`UPDATE units SET state = 'aborted', lease_until = NULL, token = token + 1 WHERE id = ?`),
    failUnit: p(`UPDATE units SET state = 'failed', lease_until = NULL, token = token + 1, error = ?, ended_at = ?, lost = lost + 1 WHERE id = ? RETURNING idx`),
    expired: p(`SELECT id, job, lost, max_lost, abort_requested FROM units WHERE state = 'running' AND lease_until < ?`),
    /** Queued units that need more RAM than any live worker offers: queues whose largest unit is too big, then their units. */
    tooBig: p(
      `SELECT DISTINCT u.job, u.ram_mb, u.exclusive FROM queues q JOIN units u ON u.owner = q.owner AND u.class = q.class AND u.exclusive = q.exclusive
        WHERE q.queued > 0 AND q.max_ram > :ram AND u.state = 'queued' AND u.ram_mb > :ram LIMIT 1000`,
    ),
    /** Jobs with queued exclusive units (found through the queues, not by scanning units). */
    exclusiveQueued: p(
      `SELECT DISTINCT u.job, u.ram_mb, u.exclusive FROM queues q JOIN units u ON u.owner = q.owner AND u.class = q.class AND u.exclusive = 1 AND u.state = 'queued'
        WHERE q.exclusive = 1 AND q.queued > 0 LIMIT 1000`,
    ),
    setError: p(`UPDATE nodes SET error = ? WHERE id = ? AND status = 'Queued' AND coalesce(error, '') <> ?`),
    /** Queued jobs whose note says no worker could hold them, for notes that no longer hold. */
    notedUnplaceable: p(`SELECT id, error FROM nodes WHERE type = 'job' AND status = 'Queued' AND error LIKE 'cannot run yet: %' LIMIT 1000`),
    clearError: p(`UPDATE nodes SET error = NULL WHERE id = ? AND status = 'Queued'`),

    // --- running jobs' reports
    setProgress: p(
      `UPDATE nodes SET progress = ? WHERE id = (SELECT job FROM units WHERE id = ? AND token = ? AND state = 'running') AND status IN ('Queued', 'Running') RETURNING id`,
    ),
    setStatusText: p(
      `UPDATE nodes SET status_text = ? WHERE id = (SELECT job FROM units WHERE id = ? AND token = ? AND state = 'running') AND status IN ('Queued', 'Running') RETURNING id`,
    ),

    // --- workers
    insertWorker: p(`INSERT INTO workers (id, host, pid, concurrency, ram_mb, exclusive, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
    deleteWorker: p(`DELETE FROM workers WHERE id = ?`),
    touchWorker: p(`UPDATE workers SET heartbeat_at = ? WHERE id = ?`),
    extendLeases: p(`UPDATE units SET lease_until = ? WHERE worker = ? AND state = 'running' RETURNING id, abort_requested`),
    abortRequests: p(`SELECT id FROM units WHERE worker = ? AND state = 'running' AND abort_requested = 1`).pluck(),
    liveWorkers: p(`SELECT * FROM workers WHERE heartbeat_at >= ? ORDER BY started_at`),

    // --- pruning
    /** Ended jobs whose time is up: the store's retention, or their own keep. */
    expiredJobs: p(
      `SELECT id FROM nodes WHERE type = 'job' AND date_end <= :now - :keep AND keep_ms IS NULL
       UNION ALL SELECT id FROM nodes WHERE type = 'job' AND date_end IS NOT NULL AND keep_ms IS NOT NULL AND date_end <= :now - keep_ms
       LIMIT :limit`,
    ).pluck(),
    deleteUnitsOf: p(`DELETE FROM units WHERE job IN (SELECT value FROM json_each(?))`),
    deleteNodes: p(`DELETE FROM nodes WHERE id IN (SELECT value FROM json_each(?)) RETURNING parent`).pluck(),
    /** A group left with no child goes; its parent may be next. */
    deleteIfEmptyGroup: p(`DELETE FROM nodes WHERE id = ? AND type = 'group' AND NOT EXISTS (SELECT 1 FROM nodes c WHERE c.parent = nodes.id) RETURNING parent`).pluck(),
    /** The first event young enough to keep: everything before it goes. */
    firstKeptEvent: p(`SELECT seq FROM events WHERE at > ? ORDER BY seq LIMIT 1`).pluck(),
    deleteEventsThrough: p(`DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE seq <= ? ORDER BY seq LIMIT ?)`),
    countEventsThrough: p(`SELECT count(*) FROM events WHERE seq <= ?`).pluck(),
    getMeta: p(`SELECT value FROM meta WHERE key = ?`).pluck(),
    setMeta: p(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT DO UPDATE SET value = excluded.value`),
  };
}

export type Statements = ReturnType<typeof prepare>;

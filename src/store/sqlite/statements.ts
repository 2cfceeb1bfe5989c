import type Database from 'better-sqlite3';

/** A prepared statement (an interface of our own, so that declaration files can name it). */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface Statement extends Database.Statement<unknown[], unknown> {}

/**
 * Every SQL statement of the SQLite driver, prepared once: one per driver method (driver.ts), no
 * decisions. Batches travel as one JSON array bound to a parameter and are expanded with jsonb_each
 * (parsed once into SQLite's binary JSON, so reading a field of a row does not parse its text again),
 * so a batch of n rows is one statement, not n.
 */

/** A node's info as JSON, built by SQLite (the same shape as rows.ts `infoOf`). */
const INFO_JSON = `json_object('id', n.id, 'type', n.type, 'name', n.name, 'parent', n.parent, 'owner', n.owner, 'status', n.status,
  'status_text', n.status_text, 'job_type', n.job_type, 'tags', json(n.tags), 'priority', n.priority, 'class', n.class,
  'progress', json(n.progress), 'attempts', n.attempts, 'max_attempts', n.max_attempts, 'lost', n.lost, 'context', n.pool,
  'date_created', n.date_created, 'date_start', n.date_start, 'date_end', n.date_end, 'result', json(n.result), 'error', n.error)`;

export const INFO_COLUMNS =
  'id, type, name, parent, owner, status, status_text, job_type, tags, priority, class, progress, attempts, max_attempts, lost, pool, date_created, date_start, date_end, result, error';
/** The same, named as columns of `nodes` (for a query that joins another table with an id). */
export const INFO_COLUMNS_OF_NODES = INFO_COLUMNS.split(', ').map((c) => `nodes.${c}`).join(', ');

const UNIT_CLAIMED = 'id, job, idx, priority, token, attempts, input, pool, owner, class, ram_mb, exclusive';
/** What names a unit's queue, and what its units need. */
const QUEUE_KEY = 'pool, owner, class, exclusive, ram_mb';
const CLAIM_SET = `state = 'running', worker = :worker, token = token + 1, lease_until = :lease, attempts = attempts + 1, started_at = :now`;
const LIVE = `status IN ('Queued', 'Running')`;
/**
 * LIVE for a batch update joined to its JSON rows: the unary + keeps the planner off nodes_status
 * (which it would walk for every live job, once per row of the batch) and on the primary key.
 */
const LIVE_BY_ID = `+nodes.status IN ('Queued', 'Running')`;

export function prepare(db: Database.Database) {
  const p = (sql: string): Statement => db.prepare(sql) as Statement;
  return {
    // --- submitting
    insertJobs: p(
      `INSERT INTO nodes (id, type, name, parent, owner, status, job_type, tags, priority, class, max_attempts, date_created, environ, units_total,
                          fail_fast, map, keep_ms, pool, after_any, account)
       SELECT j.value ->> 'id', 'job', j.value ->> 'name', j.value ->> 'parent', j.value ->> 'owner',
              CASE WHEN j.value ->> 'waiting' THEN 'Waiting' ELSE 'Queued' END, j.value ->> 'jobType',
              j.value -> 'tags', j.value ->> 'priority', j.value ->> 'class', j.value ->> 'maxAttempts', :now, j.value -> 'environ',
              coalesce(json_array_length(j.value -> 'inputs'), 1), j.value ->> 'failFast', j.value ->> 'inputs' IS NOT NULL, j.value ->> 'keepMs',
              j.value ->> 'pool', j.value ->> 'afterAny', j.value ->> 'account'
         FROM jsonb_each(:batch) AS j ORDER BY j.key`,
    ),
    /** One unit per job without inputs; the batch is the one insertJobs takes. */
    insertUnits: p(
      `INSERT INTO units (job, idx, pool, owner, class, exclusive, ram_mb, state, priority, queued_at, run_after, max_attempts, retries_left, max_lost)
       SELECT j.value ->> 'id', 0, j.value ->> 'pool', coalesce(j.value ->> 'account', j.value ->> 'owner'), j.value ->> 'class', j.value ->> 'exclusive', j.value ->> 'ramMb',
              CASE WHEN j.value ->> 'waiting' THEN 'waiting' WHEN j.value ->> 'runAfter' > :now THEN 'delayed' ELSE 'queued' END, j.value ->> 'priority', :now,
              j.value ->> 'runAfter', j.value ->> 'maxAttempts', j.value ->> 'retries', j.value ->> 'maxLost'
         FROM jsonb_each(:batch) AS j WHERE j.value ->> 'inputs' IS NULL ORDER BY j.key`,
    ),
    /** One unit per input of each map job in the batch. */
    insertMapUnits: p(
      `INSERT INTO units (job, idx, pool, owner, class, exclusive, ram_mb, state, priority, queued_at, run_after, max_attempts, retries_left, max_lost, input)
       SELECT j.value ->> 'id', i.key, j.value ->> 'pool', coalesce(j.value ->> 'account', j.value ->> 'owner'), j.value ->> 'class', j.value ->> 'exclusive', j.value ->> 'ramMb',
              CASE WHEN j.value ->> 'waiting' THEN 'waiting' WHEN j.value ->> 'runAfter' > :now THEN 'delayed' ELSE 'queued' END, j.value ->> 'priority', :now,
              j.value ->> 'runAfter', j.value ->> 'maxAttempts', j.value ->> 'retries', j.value ->> 'maxLost', json_quote(i.value)
         FROM jsonb_each(:batch) AS j, json_each(j.value -> 'inputs') AS i WHERE j.value ->> 'inputs' IS NOT NULL ORDER BY j.key, i.key`,
    ),
    insertCallbacks: p(
      `INSERT INTO outbox (kind, job, target, state, created_at)
       SELECT 'callback', j.value ->> 'id', j.value ->> 'callbackUrl', 'waiting', :now FROM jsonb_each(:batch) AS j WHERE j.value ->> 'callbackUrl' IS NOT NULL`,
    ),
    insertDeps: p(`INSERT INTO deps (job, dep) SELECT j.value ->> 'id', d.value FROM jsonb_each(:batch) AS j, json_each(j.value -> 'after') AS d WHERE true ON CONFLICT DO NOTHING`),
    dependentsOf: p(
      `SELECT DISTINCT d.job, n.after_any FROM deps d JOIN nodes n ON n.id = d.job WHERE d.dep IN (SELECT value FROM json_each(?)) AND n.status = 'Waiting' ORDER BY d.job`,
    ),
    depStates: p(`SELECT d.dep, n.status, n.result, n.output FROM deps d JOIN nodes n ON n.id = d.dep WHERE d.job = ? ORDER BY d.dep`),
    afterAny: p(`SELECT after_any FROM nodes WHERE id = ?`).pluck(),
    releaseJob: p(`UPDATE nodes SET environ = ?, status = 'Queued' WHERE id = ? AND status = 'Waiting'`),
    releaseUnits: p(`UPDATE units SET state = 'queued', queued_at = ? WHERE job = ? AND state = 'waiting' RETURNING ${QUEUE_KEY}`),
    endWaitingJob: p(`UPDATE nodes SET status = ?, date_end = ?, error = ? WHERE id = ? AND status = 'Waiting'`),
    endWaitingUnits: p(`UPDATE units SET state = 'aborted' WHERE job = ? AND state = 'waiting'`),
    deleteDepsOf: p(`DELETE FROM deps WHERE job IN (SELECT value FROM json_each(:ids)) OR dep IN (SELECT value FROM json_each(:ids))`),
    insertNotices: p(
      `INSERT INTO outbox (kind, job, target, state, only_failures, created_at)
       SELECT CASE WHEN j.value -> 'notify' ->> 'now' THEN 'mail' ELSE 'digest' END, j.value ->> 'id', j.value -> 'notify' ->> 'address', 'waiting',
              j.value -> 'notify' ->> 'onlyFailures', :now
         FROM jsonb_each(:batch) AS j WHERE j.value ->> 'notify' IS NOT NULL`,
    ),
    insertGroup: p(`INSERT INTO nodes (id, type, name, parent, owner, date_created) VALUES (?, 'group', ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
    findGroup: p(`SELECT id, owner FROM nodes WHERE type = 'group' AND coalesce(parent, '') = ? AND name = ?`),

    // --- events
    /** One event per entry of :events (a JSON array of {verb, id, at}), in that order, carrying the node's info as it is now. */
    appendEvents: p(
      `INSERT INTO events (at, verb, node, owner, info)
       SELECT j.value ->> 'at', j.value ->> 'verb', n.id, n.owner, ${INFO_JSON} FROM jsonb_each(:events) AS j JOIN nodes AS n ON n.id = j.value ->> 'id' ORDER BY j.key`,
    ),
    appendPruneEvent: p(`INSERT INTO events (at, verb, node, owner, info) VALUES (?, 'prune', '', '', ?)`),
    eventsAfter: p(`SELECT seq, at, verb, node, owner, info FROM events WHERE seq > ? ORDER BY seq LIMIT ?`),
    eventsOf: p(`SELECT seq, at, verb, node, owner, info FROM events WHERE node = ? ORDER BY seq LIMIT ?`),
    lastSeq: p(`SELECT max(seq) FROM events`).pluck(),
    firstEventAfter: p(`SELECT seq FROM events WHERE at > ? ORDER BY seq LIMIT 1`).pluck(),
    countEventsThrough: p(`SELECT count(*) FROM events WHERE seq <= ?`).pluck(),
    deleteEventsThrough: p(`DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE seq <= ? ORDER BY seq LIMIT ?)`),

    // --- reading
    getNode: p(`SELECT * FROM nodes WHERE id = ?`),
    getEnviron: p(`SELECT environ, owner FROM nodes WHERE id = ?`),
    units: p(
      `SELECT id, job, idx, state, input, attempts, lost, worker, run_after, started_at, ended_at, result, error, ram_mb, exclusive
         FROM units WHERE job = ? ORDER BY idx`,
    ),
    users: p(
      `SELECT o.owner AS owner,
              (SELECT id FROM nodes g WHERE g.type = 'group' AND g.parent IS NULL AND g.name = o.owner) AS "group",
              (SELECT count(*) FROM nodes j WHERE j.type = 'job' AND j.owner = o.owner) AS jobs
         FROM (SELECT DISTINCT owner FROM nodes) o ORDER BY o.owner`,
    ),
    jobStats: p(`SELECT status, count(*) AS n, min(date_start) AS first, max(date_end) AS last FROM nodes WHERE type = 'job' GROUP BY status`),

    // --- fair share
    /**
     * :deltas rows: {pool, owner, class, exclusive, n, ramMb}; n units joined (n > 0) or left (n < 0)
     * the queue. A queue that was empty starts waiting now; a claim (:served) marks it served now.
     */
    queueDelta: p(
      `INSERT INTO queues (pool, owner, class, exclusive, queued, since, max_ram)
       SELECT j.value ->> 'pool', j.value ->> 'owner', j.value ->> 'class', j.value ->> 'exclusive', j.value ->> 'n', :now, coalesce(j.value ->> 'ramMb', 0)
         FROM jsonb_each(:deltas) AS j WHERE true
         ON CONFLICT DO UPDATE SET
           since = CASE WHEN queued = 0 OR :served THEN excluded.since ELSE since END,
           queued = max(0, queued + excluded.queued),
           max_ram = CASE WHEN queued + excluded.queued <= 0 THEN 0 ELSE max(max_ram, excluded.max_ram) END`,
    ),
    // The planner's snapshot. Queues and owners come as one JSON text of arrays each: with thousands
    // of owners, a row object per queue cost twice as much to hand over (bench/claim.mjs).
    activeQueues: p(`SELECT json_group_array(json_array(pool, owner, class, exclusive, queued, since)) FROM queues WHERE queued > 0`).pluck(),
    runningUnits: p(`SELECT pool, owner, class, started_at FROM units WHERE state = 'running'`),
    workerLoads: p(`SELECT worker, count(*) AS running, sum(ram_mb) AS ramMb FROM units WHERE state = 'running' GROUP BY worker`),
    /** The owners of the active queues and of the running units. */
    activeOwners: p(
      `SELECT json_group_array(json_array(owner, share, usage, usage_at, unit_seconds, rank)) FROM owners
        WHERE owner IN (SELECT owner FROM queues WHERE queued > 0 UNION SELECT owner FROM units WHERE state = 'running')`,
    ).pluck(),
    /** :rank null keeps the rank an account has (0 for a new one). */
    setShare: p(`INSERT INTO owners (owner, share, rank) VALUES (:owner, :share, coalesce(:rank, 0)) ON CONFLICT DO UPDATE SET share = excluded.share, rank = coalesce(:rank, owners.rank)`),
    // A job started in the window has ended in it (nodes_ended) or runs now (nodes_status): both indexed.
    // (Named: without statistics the planner would rather walk every job by type.)
    jobsStarted: p(
      `SELECT class, slot, count(*) AS n FROM (
         SELECT class, CAST(date_start / :step AS INTEGER) AS slot FROM nodes INDEXED BY nodes_ended WHERE type = 'job' AND date_end >= :since AND date_start >= :since AND date_start < :before
         UNION ALL
         SELECT class, CAST(date_start / :step AS INTEGER) AS slot FROM nodes WHERE status = 'Running' AND date_start >= :since AND date_start < :before
       ) GROUP BY class, slot`,
    ),
    jobsFinished: p(`SELECT class, CAST(date_end / :step AS INTEGER) AS slot, count(*) AS n FROM nodes INDEXED BY nodes_ended WHERE type = 'job' AND date_end >= :since AND date_end < :before GROUP BY class, slot`),
    /** :owners rows: {owner, usage, usageAt, unitSeconds}, worked out above the driver. */
    writeUsage: p(
      `INSERT INTO owners (owner, usage, usage_at, unit_seconds)
       SELECT j.value ->> 'owner', j.value ->> 'usage', j.value ->> 'usageAt', j.value ->> 'unitSeconds' FROM jsonb_each(:owners) AS j WHERE true
         ON CONFLICT DO UPDATE SET usage = excluded.usage, usage_at = excluded.usage_at, unit_seconds = excluded.unit_seconds`,
    ),

    // --- claiming
    anyDue: p(`SELECT 1 FROM units WHERE state = 'delayed' AND run_after <= ? LIMIT 1`).pluck(),
    promoteDue: p(`UPDATE units SET state = 'queued', queued_at = run_after WHERE state = 'delayed' AND run_after <= ? RETURNING ${QUEUE_KEY}`),
    claimFromQueue: p(
      `UPDATE units SET ${CLAIM_SET}
        WHERE id IN (SELECT id FROM units WHERE state = 'queued' AND pool = :pool AND owner = :owner AND class = :class AND exclusive = :exclusive
                        AND ram_mb <= :ram ORDER BY priority DESC, id LIMIT :count)
        RETURNING ${UNIT_CLAIMED}`,
    ),
    /** The head unit of each queue in :queues (a JSON array of {pool, owner, class, exclusive}), in one statement. */
    claimHeads: p(
      `UPDATE units SET ${CLAIM_SET}
        WHERE id IN (SELECT (SELECT u.id FROM units u WHERE u.state = 'queued' AND u.pool = j.value ->> 'pool' AND u.owner = j.value ->> 'owner'
                               AND u.class = j.value ->> 'class' AND u.exclusive = j.value ->> 'exclusive' AND u.ram_mb <= :ram
                             ORDER BY u.priority DESC, u.id LIMIT 1)
                       FROM jsonb_each(:queues) AS j)
        RETURNING ${UNIT_CLAIMED}`,
    ),
    claimJobUnits: p(
      `UPDATE units SET ${CLAIM_SET}
        WHERE id IN (SELECT id FROM units WHERE job = :job AND state = 'queued' ORDER BY idx LIMIT :count) RETURNING ${UNIT_CLAIMED}`,
    ),
    unclaim: p(`UPDATE units SET state = 'queued', worker = NULL, lease_until = NULL, attempts = attempts - 1, token = token + 1 WHERE id = ?`),
    startJobs: p(
      `UPDATE nodes SET status = 'Running', date_start = coalesce(date_start, :now), attempts = max(attempts, j.value ->> 'attempts'),
              error = CASE WHEN status = 'Queued' THEN NULL ELSE error END
         FROM jsonb_each(:jobs) AS j
        WHERE nodes.id = j.value ->> 'job' AND ${LIVE_BY_ID}
        RETURNING nodes.id, nodes.environ, nodes.owner`,
    ),

    // --- finishing
    /** :outcomes rows: {unit, token, state, result, error}; a stale token matches nothing. */
    finishUnits: p(
      `UPDATE units SET state = j.value ->> 'state', lease_until = NULL, ended_at = :now, result = j.value -> 'result', error = j.value ->> 'error'
         FROM jsonb_each(:outcomes) AS j
        WHERE units.id = j.value ->> 'unit' AND units.token = j.value ->> 'token' AND units.state = 'running'
        RETURNING units.id, units.job, units.idx, units.owner, units.attempts, units.retries_left, units.abort_requested,
                  (SELECT json_array(o.share, o.usage, o.usage_at, o.unit_seconds, o.rank) FROM owners o WHERE o.owner = units.owner) AS owner_row`,
    ),
    retryUnits: p(
      `UPDATE units SET state = 'delayed', run_after = j.value ->> 'runAfter', retries_left = retries_left - 1, worker = NULL, token = token + 1
         FROM jsonb_each(:units) AS j WHERE units.id = j.value ->> 'unit'`,
    ),
    noteRetry: p(
      `UPDATE nodes SET error = ?, status = CASE WHEN status = 'Running' AND NOT EXISTS (SELECT 1 FROM units WHERE job = nodes.id AND state = 'running') THEN 'Queued' ELSE status END
        WHERE id = ? AND ${LIVE}`,
    ),
    /** units_running is read for map jobs only: a one-unit job's count is never used (decide/jobs.ts). */
    jobTallies: p(
      `SELECT n.id, n.status, n.map, n.fail_fast, n.units_total, n.units_done, n.units_failed,
              CASE WHEN n.map THEN (SELECT count(*) FROM units u WHERE u.job = n.id AND u.state = 'running') ELSE 0 END AS units_running
         FROM json_each(?) AS j JOIN nodes n ON n.id = j.value`,
    ),
    unitOutcomes: p(`SELECT job, idx, state, result, error FROM units WHERE job IN (SELECT value FROM json_each(?)) ORDER BY job, idx`),
    /**
     * :jobs rows: JobUpdate (driver.ts); a field left out keeps its value. Only jobs still Queued or
     * Running change. Answers each changed job, and whether it ended with something waiting for it.
     */
    updateJobs: p(
      `UPDATE nodes SET
          status = j.value ->> 'status', units_done = j.value ->> 'unitsDone', units_failed = j.value ->> 'unitsFailed',
          date_end = coalesce(j.value ->> 'dateEnd', date_end),
          output = CASE WHEN j.value ->> 'hasOutput' THEN j.value -> 'output' ELSE output END,
          result = CASE WHEN j.value ->> 'hasResult' THEN j.value -> 'result' ELSE result END,
          unit_outcomes = coalesce(j.value -> 'unitOutcomes', unit_outcomes),
          progress = coalesce(j.value -> 'progress', progress),
          error = CASE WHEN j.value ->> 'hasError' THEN j.value ->> 'error' ELSE error END
         FROM jsonb_each(:jobs) AS j
        WHERE nodes.id = j.value ->> 'id' AND ${LIVE_BY_ID}
        RETURNING nodes.id, nodes.status NOT IN ('Queued', 'Running')
                  AND (EXISTS (SELECT 1 FROM outbox o WHERE o.job = nodes.id AND o.state = 'waiting') OR EXISTS (SELECT 1 FROM deps d WHERE d.dep = nodes.id)) AS followed`,
    ),
    stopQueuedUnits: p(`UPDATE units SET state = 'aborted' WHERE job = ? AND state = 'queued' RETURNING ${QUEUE_KEY}`),
    stopDelayedUnits: p(`UPDATE units SET state = 'aborted' WHERE job = ? AND state IN ('delayed', 'waiting')`),
    flagRunningUnits: p(`UPDATE units SET abort_requested = 1 WHERE job = ? AND state = 'running'`),
    setAborted: p(`UPDATE nodes SET status = 'Aborted', date_end = ?, error = ? WHERE id = ? AND status IN ('Waiting', 'Queued', 'Running')`),

    // --- releasing, reporting, reaping
    releaseUnit: p(
      `UPDATE units SET state = 'queued', worker = NULL, lease_until = NULL, attempts = attempts - 1, token = token + 1, queued_at = ?
        WHERE id = ? AND token = ? AND state = 'running' RETURNING job, ${QUEUE_KEY}`,
    ),
    requeueJob: p(
      `UPDATE nodes SET status = 'Queued', attempts = (SELECT max(attempts) FROM units WHERE job = nodes.id)
        WHERE id = ? AND status = 'Running' AND NOT EXISTS (SELECT 1 FROM units WHERE job = nodes.id AND state = 'running')`,
    ),
    setProgress: p(`UPDATE nodes SET progress = ? WHERE id = (SELECT job FROM units WHERE id = ? AND token = ? AND state = 'running') AND ${LIVE} RETURNING id`).pluck(),
    setStatusText: p(`UPDATE nodes SET status_text = ? WHERE id = (SELECT job FROM units WHERE id = ? AND token = ? AND state = 'running') AND ${LIVE} RETURNING id`).pluck(),
    expiredUnits: p(`SELECT id, job, lost, max_lost, abort_requested FROM units WHERE state = 'running' AND lease_until < ?`),
    abortUnit: p(`UPDATE units SET state = 'aborted', lease_until = NULL, token = token + 1 WHERE id = ?`),
    requeueLostUnit: p(
      `UPDATE units SET state = 'queued', worker = NULL, lease_until = NULL, token = token + 1, queued_at = ?, attempts = attempts - 1, lost = lost + 1
        WHERE id = ? RETURNING ${QUEUE_KEY}`,
    ),
    failLostUnit: p(`UPDATE units SET state = 'failed', lease_until = NULL, token = token + 1, error = ?, ended_at = ?, lost = lost + 1 WHERE id = ? RETURNING idx`).pluck(),
    noteLost: p(`UPDATE nodes SET lost = lost + 1 WHERE id = ?`),
    /** Queued units needing more RAM than :ram, found through the queues whose largest unit is too big. */
    tooBig: p(
      `SELECT DISTINCT u.job, u.ram_mb, u.exclusive, u.pool FROM queues q
         JOIN units u ON u.pool = q.pool AND u.owner = q.owner AND u.class = q.class AND u.exclusive = q.exclusive
        WHERE q.queued > 0 AND q.max_ram > :ram AND u.state = 'queued' AND u.ram_mb > :ram LIMIT 1000`,
    ),
    /** Jobs with queued exclusive units (found through the queues, not by scanning units). */
    exclusiveQueued: p(
      `SELECT DISTINCT u.job, u.ram_mb, u.exclusive, u.pool FROM queues q
         JOIN units u ON u.pool = q.pool AND u.owner = q.owner AND u.class = q.class AND u.exclusive = 1 AND u.state = 'queued'
        WHERE q.exclusive = 1 AND q.queued > 0 LIMIT 1000`,
    ),
    setNote: p(`UPDATE nodes SET error = ? WHERE id = ? AND status = 'Queued' AND coalesce(error, '') <> ?`),
    notedUnplaceable: p(`SELECT id FROM nodes WHERE type = 'job' AND status = 'Queued' AND error LIKE 'cannot run yet: %' LIMIT 1000`).pluck(),
    clearNote: p(`UPDATE nodes SET error = NULL WHERE id = ? AND status = 'Queued'`),

    // --- workers
    insertWorker: p(
      `INSERT INTO workers (id, host, pid, concurrency, ram_mb, exclusive, started_at, heartbeat_at, pools, labels) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    deleteWorker: p(`DELETE FROM workers WHERE id = ?`),
    touchWorker: p(`UPDATE workers SET heartbeat_at = ? WHERE id = ?`),
    extendLeases: p(`UPDATE units SET lease_until = ? WHERE worker = ? AND state = 'running' AND id IN (SELECT value FROM json_each(?)) RETURNING id, abort_requested`),
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
    unhideNodes: p(`DELETE FROM hidden WHERE node IN (SELECT value FROM json_each(?))`),
    deleteGroupIfEmpty: p(`DELETE FROM nodes WHERE id = ? AND type = 'group' AND NOT EXISTS (SELECT 1 FROM nodes c WHERE c.parent = nodes.id) RETURNING parent`),
    getMeta: p(`SELECT value FROM meta WHERE key = ?`).pluck(),
    setMeta: p(`INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT DO UPDATE SET value = excluded.value`),

    // --- control messages
    insertMessage: p(`INSERT INTO messages (job, seq, body, at) SELECT :job, coalesce(max(seq), 0) + 1, :body, :now FROM messages WHERE job = :job RETURNING seq`).pluck(),
    pendingMessages: p(
      `SELECT u.id AS unit, m.seq, m.body FROM json_each(?) AS j
         JOIN units u ON u.id = j.value ->> 'unit' AND u.token = j.value ->> 'token' AND u.state = 'running'
         JOIN messages m ON m.job = u.job AND m.seq > u.messages_seen
        ORDER BY u.id, m.seq`,
    ),
    advanceMessages: p(
      `UPDATE units SET messages_seen = max(messages_seen, j.value ->> 'seq') FROM jsonb_each(:units) AS j
        WHERE units.id = j.value ->> 'unit' AND units.token = j.value ->> 'token'`,
    ),

    // --- the outbox
    outboxDue: p(`UPDATE outbox SET state = 'due', next_at = :now WHERE state = 'waiting' AND job IN (SELECT value FROM json_each(:jobs))`),
    claimOutbox: p(
      `UPDATE outbox SET lease_until = :lease, attempts = attempts + 1
        WHERE id IN (SELECT id FROM outbox WHERE state = 'due' AND kind = :kind AND next_at <= :dueBy AND coalesce(lease_until, 0) < :now ORDER BY next_at LIMIT :limit)
        RETURNING id, kind, job, target, attempts, only_failures`,
    ),
    /** A retry waits in lease_until; next_at stays when the job ended (a digest takes the jobs that ended before its hour). */
    finishOutbox: p(
      `UPDATE outbox SET state = :state, last_error = coalesce(:error, last_error), lease_until = :next, done_at = CASE WHEN :state = 'done' THEN :now END, sent_for = :sentFor WHERE id = :id`,
    ),
    /** Back in the queue untaken, for a later digest: the try did not count. */
    postponeOutbox: p(`UPDATE outbox SET next_at = :nextAt, lease_until = NULL, attempts = attempts - 1 WHERE id = :id`),
    digestSent: p(`SELECT 1 FROM outbox WHERE kind = 'digest' AND target = ? AND sent_for = ? AND state = 'done' LIMIT 1`),
    outboxOf: p(
      `SELECT kind, target AS url, state, attempts, CASE WHEN state = 'due' THEN max(next_at, coalesce(lease_until, 0)) END AS next_at, last_error, done_at, only_failures
         FROM outbox WHERE job = ? ORDER BY id`,
    ),

    // --- moi views
    hideNodes: p(`INSERT INTO hidden (owner, node) SELECT ?, value FROM json_each(?) WHERE true ON CONFLICT DO NOTHING`),
    hiddenNodes: p(`SELECT node FROM hidden WHERE owner = ?`).pluck(),

    // --- users
    insertUser: p(`INSERT INTO users (name, role, email, accounts, token_hash, created_at) VALUES (:name, :role, :email, :accounts, :tokenHash, :now)`),
    deleteUser: p(`DELETE FROM users WHERE name = ?`),
    listUsers: p(`SELECT name, role, email, accounts, created_at FROM users ORDER BY name`),
    userByName: p(`SELECT name, role, email, accounts, created_at FROM users WHERE name = ?`),
    userByToken: p(`SELECT name, role, email, accounts, created_at FROM users WHERE token_hash = ?`),

    // --- checks (the driver test suite)
    queueCounts: p(`SELECT pool, owner, class, exclusive, queued FROM queues WHERE queued > 0 ORDER BY 1, 2, 3, 4`),
    realQueueCounts: p(`SELECT pool, owner, class, exclusive, count(*) AS queued FROM units WHERE state = 'queued' GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`),
  };
}

export type Statements = ReturnType<typeof prepare>;

/**
 * Every SQL statement of the PostgreSQL driver: one per driver method (driver.ts), no decisions.
 * A batch travels as one json parameter expanded with json_to_recordset, so a batch of n rows is one
 * statement and one round trip. Claims take rows with FOR UPDATE SKIP LOCKED: workers on many
 * machines never wait for each other's rows, and never take the same unit.
 */

import type { NodeFilter } from '../driver.js';
import { containsPattern } from '../rules.js';

/** A node's info as JSON, built by PostgreSQL (the same shape as rows.ts `infoOf`). */
const INFO_JSON = `json_build_object('id', n.id, 'type', n.type, 'name', n.name, 'parent', n.parent, 'owner', n.owner, 'status', n.status,
  'status_text', n.status_text, 'job_type', n.job_type, 'tags', n.tags, 'priority', n.priority, 'class', n.class,
  'progress', n.progress, 'attempts', n.attempts, 'max_attempts', n.max_attempts, 'lost', n.lost, 'context', n.pool,
  'date_created', n.date_created, 'date_start', n.date_start, 'date_end', n.date_end, 'result', n.result, 'error', n.error)`;

export const INFO_COLUMNS =
  'id, type, name, parent, owner, status, status_text, job_type, tags, priority, class, progress, attempts, max_attempts, lost, pool, date_created, date_start, date_end, result, error';
/** The same, named as columns of `nodes` (for a query that joins another table with an id). */
export const INFO_COLUMNS_OF_NODES = INFO_COLUMNS.split(', ').map((c) => `nodes.${c}`).join(', ');

const UNIT_CLAIMED = 'units.id, units.job, units.idx, units.priority, units.token, units.attempts, units.input, units.pool, units.owner, units.class, units.ram_mb, units.exclusive';
const QUEUE_KEY = 'pool, owner, class, exclusive, ram_mb';
const CLAIM_SET = `state = 'running', worker = $1, token = units.token + 1, lease_until = $2, attempts = units.attempts + 1, started_at = $3`;
const LIVE = `status IN ('Queued', 'Running')`;

/** The columns a job row carries in a batch (driver.ts JobRow). */
const JOB_ROWS = `json_to_recordset($2::json) AS j(id text, owner text, name text, parent text, "jobType" text, tags jsonb, priority integer,
  class text, "maxAttempts" integer, "maxLost" integer, retries integer, environ json, inputs json, "failFast" boolean, exclusive boolean,
  "ramMb" integer, "runAfter" bigint, "keepMs" bigint, pool text, "callbackUrl" text, notify json, after json, "afterAny" boolean, waiting boolean, account text, ord bigint)`;

export const SQL = {
  // --- submitting
  insertJobs: `INSERT INTO nodes (id, type, name, parent, owner, status, job_type, tags, priority, class, max_attempts, date_created, environ,
                                  units_total, fail_fast, map, keep_ms, pool, after_any, account)
               SELECT j.id, 'job', j.name, j.parent, j.owner, CASE WHEN j.waiting THEN 'Waiting' ELSE 'Queued' END, j."jobType", j.tags, j.priority,
                      j.class, j."maxAttempts", $1, j.environ, coalesce(json_array_length(j.inputs), 1), j."failFast", j.inputs IS NOT NULL, j."keepMs",
                      j.pool, j."afterAny", j.account
                 FROM ${JOB_ROWS} ORDER BY j.ord`,
  insertUnits: `INSERT INTO units (job, idx, pool, owner, class, exclusive, ram_mb, state, priority, queued_at, run_after, max_attempts, retries_left, max_lost, input)
                SELECT j.id, coalesce(i.ord - 1, 0), j.pool, coalesce(j.account, j.owner), j.class, j.exclusive, j."ramMb",
                       CASE WHEN j.waiting THEN 'waiting' WHEN j."runAfter" > $1 THEN 'delayed' ELSE 'queued' END, j.priority, $1, j."runAfter", j."maxAttempts",
                       j.retries, j."maxLost", i.value
                  FROM ${JOB_ROWS}
                  LEFT JOIN LATERAL json_array_elements(j.inputs) WITH ORDINALITY AS i(value, ord) ON true
                 ORDER BY j.ord, i.ord`,
  insertCallbacks: `INSERT INTO outbox (kind, job, target, state, created_at)
                    SELECT 'callback', j.id, j."callbackUrl", 'waiting', $1 FROM ${JOB_ROWS} WHERE j."callbackUrl" IS NOT NULL ORDER BY j.ord`,
  insertDeps: `INSERT INTO deps (job, dep) SELECT j.id, d.value FROM json_to_recordset($1::json) AS j(id text, after json)
                CROSS JOIN LATERAL json_array_elements_text(j.after) AS d(value) ON CONFLICT DO NOTHING`,
  dependentsOf: `SELECT DISTINCT d.job, n.after_any FROM deps d JOIN nodes n ON n.id = d.job WHERE d.dep = ANY($1::text[]) AND n.status = 'Waiting' ORDER BY d.job`,
  depStates: `SELECT d.dep, n.status, n.result, n.output FROM deps d JOIN nodes n ON n.id = d.dep WHERE d.job = $1 ORDER BY d.dep`,
  afterAny: `SELECT after_any FROM nodes WHERE id = $1`,
  releaseJob: `UPDATE nodes SET environ = $1::json, status = 'Queued' WHERE id = $2 AND status = 'Waiting'`,
  releaseUnits: `UPDATE units SET state = 'queued', queued_at = $1 WHERE job = $2 AND state = 'waiting' RETURNING ${QUEUE_KEY}`,
  endWaitingJob: `UPDATE nodes SET status = $1, date_end = $2, error = $3 WHERE id = $4 AND status = 'Waiting'`,
  endWaitingUnits: `UPDATE units SET state = 'aborted' WHERE job = $1 AND state = 'waiting'`,
  deleteDepsOf: `DELETE FROM deps WHERE job = ANY($1::text[]) OR dep = ANY($1::text[])`,
  insertNotices: `INSERT INTO outbox (kind, job, target, state, only_failures, created_at)
                  SELECT CASE WHEN (j.notify ->> 'now')::boolean THEN 'mail' ELSE 'digest' END, j.id, j.notify ->> 'address', 'waiting',
                         (j.notify ->> 'onlyFailures')::boolean, $1
                    FROM ${JOB_ROWS} WHERE j.notify IS NOT NULL AND json_typeof(j.notify) = 'object' ORDER BY j.ord`,
  insertGroup: `INSERT INTO nodes (id, type, name, parent, owner, date_created) VALUES ($1, 'group', $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
  findGroup: `SELECT id, owner FROM nodes WHERE type = 'group' AND coalesce(parent, '') = $1 AND name = $2`,

  // --- events
  /** Serializes event appends to commit: a later seq never becomes visible before an earlier one. */
  eventsLock: `SELECT pg_advisory_xact_lock(hashtext($1))`,
  /**
   * A transaction's events in one round trip: the event lock (held to commit), the wake-up of other
   * processes (NOTIFY is delivered at commit), and the rows. The lock is taken before any row is
   * numbered: every row joins the lock's one-row CTE, which is evaluated before the first row comes out.
   */
  appendEvents: `WITH locked AS MATERIALIZED (SELECT pg_advisory_xact_lock(hashtext($1))),
                      told AS MATERIALIZED (SELECT pg_notify($2, $3))
                 INSERT INTO events (at, verb, node, owner, info)
                 SELECT e.at, e.verb, n.id, n.owner, ${INFO_JSON}
                   FROM locked, told, unnest($4::text[], $5::text[], $6::bigint[]) WITH ORDINALITY AS e(id, verb, at, ord)
                   CROSS JOIN LATERAL (SELECT * FROM nodes WHERE nodes.id = e.id) n
                  ORDER BY e.ord`,
  appendPruneEvent: `INSERT INTO events (at, verb, node, owner, info) VALUES ($1, 'prune', '', '', $2::json)`,
  /** Events after a seq, and the snapshot's xmin: which transactions have all ended (for gaps). */
  eventsAfter: `SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS xmin,
                       coalesce((SELECT value::bigint FROM meta WHERE key = 'pruned_through'), 0) AS pruned,
                       (SELECT coalesce(json_agg(e ORDER BY e.seq), '[]'::json)
                          FROM (SELECT seq, at, verb, node, owner, info FROM events WHERE seq > $1 ORDER BY seq LIMIT $2) e) AS events`,
  xmax: `SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS xmax`,
  eventsOf: `SELECT seq, at, verb, node, owner, info FROM events WHERE node = $1 ORDER BY seq LIMIT $2`,
  lastSeq: `SELECT coalesce(max(seq), 0) AS seq FROM events`,
  firstEventAfter: `SELECT seq FROM events WHERE at > $1 ORDER BY seq LIMIT 1`,
  countEventsThrough: `SELECT count(*) AS n FROM events WHERE seq <= $1`,
  deleteEventsThrough: `DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE seq <= $1 ORDER BY seq LIMIT $2)`,

  // --- reading
  getNode: `SELECT * FROM nodes WHERE id = $1`,
  units: `SELECT id, job, idx, state, input, attempts, lost, worker, run_after, started_at, ended_at, result, error, ram_mb, exclusive
            FROM units WHERE job = $1 ORDER BY idx`,
  users: `SELECT o.owner AS owner,
                 (SELECT id FROM nodes g WHERE g.type = 'group' AND g.parent IS NULL AND g.name = o.owner) AS "group",
                 (SELECT count(*) FROM nodes j WHERE j.type = 'job' AND j.owner = o.owner)::integer AS jobs
            FROM (SELECT DISTINCT owner FROM nodes) o ORDER BY o.owner`,
  jobStats: `SELECT status, count(*)::integer AS n, min(date_start) AS first, max(date_end) AS last FROM nodes WHERE type = 'job' GROUP BY status`,

  // --- fair share
  queueDelta: `INSERT INTO queues AS q (pool, owner, class, exclusive, queued, since, max_ram)
               SELECT d.pool, d.owner, d.class, d.exclusive, d.n, $1, coalesce(d."ramMb", 0)
                 FROM json_to_recordset($3::json) AS d(pool text, owner text, class text, exclusive boolean, n integer, "ramMb" integer)
                ORDER BY 1, 2, 3, 4
               ON CONFLICT (pool, owner, class, exclusive) DO UPDATE SET
                 since = CASE WHEN q.queued = 0 OR $2 THEN excluded.since ELSE q.since END,
                 queued = greatest(0, q.queued + excluded.queued),
                 max_ram = CASE WHEN q.queued + excluded.queued <= 0 THEN 0 ELSE greatest(q.max_ram, excluded.max_ram) END`,
  workerLoads: `SELECT worker, count(*)::int AS running, sum(ram_mb)::int AS "ramMb" FROM units WHERE state = 'running' GROUP BY worker`,
  /** The planner's snapshot in one statement (one snapshot of the database, one round trip). */
  queueState: `SELECT EXISTS (SELECT 1 FROM units WHERE state = 'delayed' AND run_after <= $1) AS due,
                      (SELECT coalesce(json_agg(q), '[]') FROM (SELECT pool, owner, class, exclusive, queued, since FROM queues WHERE queued > 0) q) AS queues,
                      (SELECT coalesce(json_agg(r), '[]') FROM (SELECT pool, owner, class, started_at AS "startedAt" FROM units WHERE state = 'running') r) AS running,
                      (SELECT coalesce(json_agg(o), '[]')
                         FROM (SELECT owner, share, usage, usage_at AS "usageAt", unit_seconds AS "unitSeconds", rank FROM owners
                                WHERE owner IN (SELECT owner FROM queues WHERE queued > 0 UNION SELECT owner FROM units WHERE state = 'running')) o) AS owners`,
  /** $3 null keeps the rank an account has (0 for a new one). */
  setShare: `INSERT INTO owners (owner, share, rank) VALUES ($1, $2, coalesce($3::integer, 0)) ON CONFLICT (owner) DO UPDATE SET share = excluded.share, rank = coalesce($3::integer, owners.rank)`,
  // $1 since, $2 before, $3 step. A job started in the window has ended in it (nodes_ended) or runs now (nodes_status).
  jobsStarted: `SELECT class, slot::float8 AS slot, count(*)::int AS n FROM (
                  SELECT class, date_start / $3::bigint AS slot FROM nodes WHERE type = 'job' AND date_end >= $1 AND date_start >= $1 AND date_start < $2
                  UNION ALL
                  SELECT class, date_start / $3::bigint AS slot FROM nodes WHERE status = 'Running' AND date_start >= $1 AND date_start < $2
                ) s GROUP BY class, slot`,
  jobsFinished: `SELECT class, (date_end / $3::bigint)::float8 AS slot, count(*)::int AS n FROM nodes WHERE type = 'job' AND date_end >= $1 AND date_end < $2 GROUP BY 1, 2`,
  writeUsage: `INSERT INTO owners (owner, usage, usage_at, unit_seconds)
               SELECT o.owner, o.usage, o."usageAt", o."unitSeconds"
                 FROM json_to_recordset($1::json) AS o(owner text, usage double precision, "usageAt" bigint, "unitSeconds" double precision)
                ORDER BY 1
               ON CONFLICT (owner) DO UPDATE SET usage = excluded.usage, usage_at = excluded.usage_at, unit_seconds = excluded.unit_seconds`,

    // The hot statements join a batch to a large table. Their plans must not depend on statistics:
  // right after a bulk submission (before autovacuum's first ANALYZE) the planner took nodes for a
  // few dozen rows and scanned all of them, re-read the batch's JSON once per row, and found
  // running units through units_running and its dead entries; 20,000 jobs ran at 1,900 jobs/s
  // (bench/postgres.mjs). So: the batch's ids also as = ANY(array) (looked up by key), the batch
  // read once (a MATERIALIZED CTE; a function scan is read again per row of a nested loop), rows looked up per event (LATERAL), and
  // coalesce(state, '') where only the primary key should be used.

  // --- claiming
  // The rows to take are picked once, in a MATERIALIZED CTE: a SKIP LOCKED subquery that the planner
  // re-runs (inside IN, or in a join) can pick other rows each time and take more than its LIMIT.
  promoteDue: `WITH due AS MATERIALIZED (SELECT id FROM units WHERE state = 'delayed' AND run_after <= $1 FOR UPDATE SKIP LOCKED)
               UPDATE units SET state = 'queued', queued_at = run_after FROM due WHERE units.id = due.id
               RETURNING ${QUEUE_KEY.split(', ').map((c) => `units.${c}`).join(', ')}`,
  claimFromQueue: `WITH picked AS MATERIALIZED (
                     SELECT id FROM units WHERE state = 'queued' AND pool = $4 AND owner = $5 AND class = $6 AND exclusive = $7
                        AND ram_mb <= $8 ORDER BY priority DESC, id LIMIT $9 FOR UPDATE SKIP LOCKED)
                   UPDATE units SET ${CLAIM_SET} FROM picked WHERE units.id = picked.id
                   RETURNING ${UNIT_CLAIMED}`,
  claimHeads: `WITH picked AS MATERIALIZED (
                 SELECT h.id FROM json_to_recordset($4::json) AS q(pool text, owner text, class text, exclusive boolean)
                   CROSS JOIN LATERAL (SELECT u.id FROM units u WHERE u.state = 'queued' AND u.pool = q.pool AND u.owner = q.owner
                                         AND u.class = q.class AND u.exclusive = q.exclusive AND u.ram_mb <= $5
                                       ORDER BY u.priority DESC, u.id LIMIT 1 FOR UPDATE SKIP LOCKED) h)
               UPDATE units SET ${CLAIM_SET} FROM picked WHERE units.id = picked.id
               RETURNING ${UNIT_CLAIMED}`,
  claimJobUnits: `WITH picked AS MATERIALIZED (SELECT id FROM units WHERE job = $4 AND state = 'queued' ORDER BY idx LIMIT $5 FOR UPDATE SKIP LOCKED)
                  UPDATE units SET ${CLAIM_SET} FROM picked WHERE units.id = picked.id
                  RETURNING ${UNIT_CLAIMED}`,
  unclaim: `UPDATE units SET state = 'queued', worker = NULL, lease_until = NULL, attempts = attempts - 1, token = token + 1 WHERE id = $1`,
  /** Marks the jobs Running and answers every one's environ (a job that ended meanwhile is not marked, but answered). */
  startJobs: `WITH j AS MATERIALIZED (SELECT * FROM json_to_recordset($2::json) AS j(job text, attempts integer)),
              started AS (
                UPDATE nodes SET status = 'Running', date_start = coalesce(date_start, $1), attempts = greatest(nodes.attempts, j.attempts),
                       error = CASE WHEN nodes.status = 'Queued' THEN NULL ELSE nodes.error END
                  FROM j
                 WHERE nodes.id = j.job AND nodes.id = ANY($3::text[]) AND nodes.${LIVE}
                RETURNING 1)
              SELECT id, environ, owner FROM nodes WHERE id = ANY($3::text[])`,

  // --- finishing
  /** The finished units, each with its owner's fair-share row (for charging, without another round trip). */
  finishUnits: `WITH o AS MATERIALIZED (SELECT * FROM json_to_recordset($2::json) AS o(unit bigint, token integer, state text, result json, error text)),
                finished AS (
                  UPDATE units SET state = o.state, lease_until = NULL, ended_at = $1, result = o.result, error = o.error
                    FROM o
                   WHERE units.id = o.unit AND units.id = ANY($3::bigint[]) AND units.token = o.token AND coalesce(units.state, '') = 'running'
                  RETURNING units.id, units.job, units.idx, units.owner, units.attempts, units.retries_left, units.abort_requested)
                SELECT f.*, w.share, w.usage, w.usage_at, w.unit_seconds, w.rank, w.owner IS NOT NULL AS has_owner_row
                  FROM finished f LEFT JOIN owners w ON w.owner = f.owner`,
  retryUnits: `UPDATE units SET state = 'delayed', run_after = r."runAfter", retries_left = retries_left - 1, worker = NULL, token = token + 1
                 FROM json_to_recordset($1::json) AS r(unit bigint, "runAfter" bigint) WHERE units.id = r.unit`,
  noteRetry: `UPDATE nodes SET error = $1,
                     status = CASE WHEN status = 'Running' AND NOT EXISTS (SELECT 1 FROM units WHERE job = nodes.id AND state = 'running') THEN 'Queued' ELSE status END
               WHERE id = $2 AND ${LIVE}`,
  jobTallies: `SELECT n.id, n.status, n.map, n.fail_fast, n.units_total, n.units_done, n.units_failed,
                      CASE WHEN n.map THEN (SELECT count(*) FROM units u WHERE u.job = n.id AND u.state = 'running')::integer ELSE 0 END AS units_running
                 FROM nodes n WHERE n.id = ANY($1::text[])
                  FOR UPDATE OF n`,
  unitOutcomes: `SELECT job, idx, state, result, error FROM units WHERE job = ANY($1::text[]) ORDER BY job, idx`,
  /**
   * Writes the jobs' new records; answers the ones it ended that something waits for (an outbox
   * item, a job that runs after it). The statement's snapshot is taken after jobTallies locked the
   * jobs, so a submission that waits for one of them and committed before is seen.
   */
  updateJobs: `WITH u AS MATERIALIZED (SELECT * FROM json_to_recordset($1::json) AS u(id text, status text, "unitsDone" integer, "unitsFailed" integer, "dateEnd" bigint,
                        "hasOutput" boolean, output json, "hasResult" boolean, result json, "unitOutcomes" json, progress jsonb, "hasError" boolean, error text)),
              updated AS (
                UPDATE nodes SET
                    status = u.status, units_done = u."unitsDone", units_failed = u."unitsFailed",
                    date_end = coalesce(u."dateEnd", nodes.date_end),
                    output = CASE WHEN u."hasOutput" THEN u.output ELSE nodes.output END,
                    result = CASE WHEN u."hasResult" THEN u.result ELSE nodes.result END,
                    unit_outcomes = coalesce(u."unitOutcomes", nodes.unit_outcomes),
                    progress = coalesce(u.progress, nodes.progress),
                    error = CASE WHEN u."hasError" THEN u.error ELSE nodes.error END
                   FROM u
                  WHERE nodes.id = u.id AND nodes.id = ANY($2::text[]) AND nodes.${LIVE}
                RETURNING nodes.id, u."dateEnd" IS NOT NULL AS ended)
              SELECT id FROM updated
               WHERE ended AND (EXISTS (SELECT 1 FROM outbox o WHERE o.job = updated.id AND o.state = 'waiting') OR EXISTS (SELECT 1 FROM deps d WHERE d.dep = updated.id))`,
  stopQueuedUnits: `UPDATE units SET state = 'aborted' WHERE job = $1 AND state = 'queued' RETURNING ${QUEUE_KEY}`,
  stopDelayedUnits: `UPDATE units SET state = 'aborted' WHERE job = $1 AND state IN ('delayed', 'waiting')`,
  flagRunningUnits: `UPDATE units SET abort_requested = true WHERE job = $1 AND state = 'running'`,
  setAborted: `UPDATE nodes SET status = 'Aborted', date_end = $1, error = $2 WHERE id = $3 AND status IN ('Waiting', 'Queued', 'Running')`,

  // --- releasing, reporting, reaping
  releaseUnit: `UPDATE units SET state = 'queued', worker = NULL, lease_until = NULL, attempts = attempts - 1, token = token + 1, queued_at = $1
                 WHERE id = $2 AND token = $3 AND state = 'running' RETURNING job, ${QUEUE_KEY}`,
  requeueJob: `UPDATE nodes SET status = 'Queued', attempts = (SELECT max(attempts) FROM units WHERE job = nodes.id)
                WHERE id = $1 AND status = 'Running' AND NOT EXISTS (SELECT 1 FROM units WHERE job = nodes.id AND state = 'running')`,
  setProgress: `UPDATE nodes SET progress = $1::jsonb WHERE id = (SELECT job FROM units WHERE id = $2 AND token = $3 AND state = 'running') AND ${LIVE} RETURNING id`,
  setStatusText: `UPDATE nodes SET status_text = $1 WHERE id = (SELECT job FROM units WHERE id = $2 AND token = $3 AND state = 'running') AND ${LIVE} RETURNING id`,
  expiredUnits: `SELECT id, job, lost, max_lost, abort_requested FROM units WHERE state = 'running' AND lease_until < $1 FOR UPDATE SKIP LOCKED`,
  abortUnit: `UPDATE units SET state = 'aborted', lease_until = NULL, token = token + 1 WHERE id = $1`,
  requeueLostUnit: `UPDATE units SET state = 'queued', worker = NULL, lease_until = NULL, token = token + 1, queued_at = $1, attempts = attempts - 1, lost = lost + 1
                     WHERE id = $2 RETURNING ${QUEUE_KEY}`,
  failLostUnit: `UPDATE units SET state = 'failed', lease_until = NULL, token = token + 1, error = $1, ended_at = $2, lost = lost + 1 WHERE id = $3 RETURNING idx`,
  noteLost: `UPDATE nodes SET lost = lost + 1 WHERE id = $1`,
  tooBig: `SELECT DISTINCT u.job, u.ram_mb, u.exclusive, u.pool FROM queues q
             JOIN units u ON u.pool = q.pool AND u.owner = q.owner AND u.class = q.class AND u.exclusive = q.exclusive
            WHERE q.queued > 0 AND q.max_ram > $1 AND u.state = 'queued' AND u.ram_mb > $1 LIMIT 1000`,
  exclusiveQueued: `SELECT DISTINCT u.job, u.ram_mb, u.exclusive, u.pool FROM queues q
                      JOIN units u ON u.pool = q.pool AND u.owner = q.owner AND u.class = q.class AND u.exclusive AND u.state = 'queued'
                     WHERE q.exclusive AND q.queued > 0 LIMIT 1000`,
  setNote: `UPDATE nodes SET error = $1 WHERE id = $2 AND status = 'Queued' AND coalesce(error, '') <> $1`,
  notedUnplaceable: `SELECT id FROM nodes WHERE type = 'job' AND status = 'Queued' AND error LIKE 'cannot run yet: %' LIMIT 1000`,
  clearNote: `UPDATE nodes SET error = NULL WHERE id = $1 AND status = 'Queued'`,

  // --- workers
  insertWorker: `INSERT INTO workers (id, host, pid, concurrency, ram_mb, exclusive, started_at, heartbeat_at, pools, labels)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb)`,
  deleteWorker: `DELETE FROM workers WHERE id = $1`,
  touchWorker: `UPDATE workers SET heartbeat_at = $1 WHERE id = $2`,
  extendLeases: `UPDATE units SET lease_until = $1 WHERE worker = $2 AND state = 'running' AND id = ANY($3::bigint[]) RETURNING id, abort_requested`,
  abortRequests: `SELECT id FROM units WHERE worker = $1 AND state = 'running' AND abort_requested`,
  liveWorkers: `SELECT * FROM workers WHERE heartbeat_at >= $1 ORDER BY started_at`,

  // --- pruning
  expiredJobs: `(SELECT id FROM nodes WHERE type = 'job' AND date_end <= $1::bigint - $2::bigint AND keep_ms IS NULL)
                UNION ALL (SELECT id FROM nodes WHERE type = 'job' AND date_end IS NOT NULL AND keep_ms IS NOT NULL AND date_end <= $1::bigint - keep_ms)
                LIMIT $3`,
  deleteUnitsOf: `DELETE FROM units WHERE job = ANY($1::text[])`,
  deleteNodes: `DELETE FROM nodes WHERE id = ANY($1::text[]) RETURNING parent`,
  unhideNodes: `DELETE FROM hidden WHERE node = ANY($1::text[])`,
  hideNodes: `INSERT INTO hidden (owner, node) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`,
  hiddenNodes: `SELECT node FROM hidden WHERE owner = $1`,
  deleteGroupIfEmpty: `DELETE FROM nodes WHERE id = $1 AND type = 'group' AND NOT EXISTS (SELECT 1 FROM nodes c WHERE c.parent = nodes.id) RETURNING parent`,
  getMeta: `SELECT value FROM meta WHERE key = $1`,
  setMeta: `INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,

  // --- control messages (the job's row is locked first: two messages at once get 1 and 2)
  lockJob: `SELECT 1 FROM nodes WHERE id = $1 FOR UPDATE`,
  /** Dependencies of a submission, held until it commits (a dependency's end waits for it, or it sees the end). */
  lockNodes: `SELECT 1 FROM nodes WHERE id = ANY($1::text[]) ORDER BY id FOR SHARE`,
  insertMessage: `INSERT INTO messages (job, seq, body, at) SELECT $1, coalesce(max(seq), 0) + 1, $2::json, $3 FROM messages WHERE job = $1 RETURNING seq`,
  pendingMessages: `SELECT u.id AS unit, m.seq, m.body FROM json_to_recordset($1::json) AS j(unit bigint, token integer)
                      JOIN units u ON u.id = j.unit AND u.token = j.token AND u.state = 'running'
                      JOIN messages m ON m.job = u.job AND m.seq > u.messages_seen
                     ORDER BY u.id, m.seq`,
  advanceMessages: `UPDATE units SET messages_seen = greatest(units.messages_seen, j.seq) FROM json_to_recordset($1::json) AS j(unit bigint, token integer, seq integer)
                     WHERE units.id = j.unit AND units.token = j.token`,

  // --- the outbox
  outboxDue: `UPDATE outbox SET state = 'due', next_at = $1 WHERE state = 'waiting' AND job = ANY($2::text[])`,
  claimOutbox: `WITH picked AS MATERIALIZED (
                  SELECT id FROM outbox WHERE state = 'due' AND kind = $1 AND next_at <= $5 AND coalesce(lease_until, 0) < $3 ORDER BY next_at LIMIT $4 FOR UPDATE SKIP LOCKED)
                UPDATE outbox SET lease_until = $2, attempts = outbox.attempts + 1 FROM picked WHERE outbox.id = picked.id
                RETURNING outbox.id, outbox.kind, outbox.job, outbox.target, outbox.attempts, outbox.only_failures`,
  finishOutbox: `UPDATE outbox SET state = $2, last_error = coalesce($3, last_error), lease_until = $4, done_at = CASE WHEN $2 = 'done' THEN $5::bigint END, sent_for = $6 WHERE id = $1`,
  postponeOutbox: `UPDATE outbox SET next_at = $2, lease_until = NULL, attempts = attempts - 1 WHERE id = $1`,
  digestSent: `SELECT 1 FROM outbox WHERE kind = 'digest' AND target = $1 AND sent_for = $2 AND state = 'done' LIMIT 1`,
  outboxOf: `SELECT kind, target AS url, state, attempts, CASE WHEN state = 'due' THEN greatest(next_at, coalesce(lease_until, 0)) END AS next_at, last_error, done_at, only_failures
               FROM outbox WHERE job = $1 ORDER BY id`,

  // --- users
  insertUser: `INSERT INTO users (name, role, email, accounts, token_hash, created_at) VALUES ($1, $2, $3, $4::jsonb, $5, $6)`,
  deleteUser: `DELETE FROM users WHERE name = $1`,
  listUsers: `SELECT name, role, email, accounts, created_at FROM users ORDER BY name`,
  userByName: `SELECT name, role, email, accounts, created_at FROM users WHERE name = $1`,
  userByToken: `SELECT name, role, email, accounts, created_at FROM users WHERE token_hash = $1`,

  // --- checks (the driver test suite)
  queueCounts: `SELECT pool, owner, class, exclusive, queued FROM queues WHERE queued > 0 ORDER BY 1, 2, 3, 4`,
  realQueueCounts: `SELECT pool, owner, class, exclusive, count(*)::integer AS queued FROM units WHERE state = 'queued' GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`,
};

/**
 * listNodes' query: the filters as clauses with numbered parameters, in the listing's order. With a
 * tag, the listing walks that tag's rows of node_tags in that order (no index of nodes serves a tag)
 * and looks each node up by its key. (A text search runs with sorting priced out: driver.ts.)
 */
export function listNodesSql(filter: NodeFilter): { text: string; values: unknown[] } {
  const where: string[] = [];
  const values: unknown[] = [];
  const add = (clause: (...n: string[]) => string, ...given: unknown[]) => {
    const names = given.map((value) => {
      values.push(value);
      return `$${values.length}`;
    });
    where.push(clause(...names));
  };
  const tagged = filter.tag !== undefined;
  const key = tagged ? 't' : 'nodes';
  if (tagged) add((n) => `t.tag = ${n}`, filter.tag);
  const type = filter.type ?? 'job';
  if (type !== 'any') add((n) => `nodes.type = ${n}`, type);
  if (filter.owner !== undefined) add((n) => `nodes.owner = ${n}`, filter.owner);
  if (filter.status !== undefined) add((n) => `nodes.status = ${n}`, filter.status);
  if (filter.parent !== undefined) add((n) => `nodes.parent = ${n}`, filter.parent);
  if (filter.jobType !== undefined) add((n) => `nodes.job_type = ${n}`, filter.jobType);
  if (filter.text !== undefined) {
    add((n) => `(nodes.name ILIKE ${n} ESCAPE '\\' OR nodes.tags::text ILIKE ${n} ESCAPE '\\' OR coalesce(nodes.environ::text, '') ILIKE ${n} ESCAPE '\\')`, containsPattern(filter.text));
  }
  if (filter.createdAfter !== undefined) add((n) => `${key}.date_created >= ${n}`, filter.createdAfter);
  if (filter.createdBefore !== undefined) add((n) => `${key}.date_created < ${n}`, filter.createdBefore);
  if (filter.after !== undefined) add((d, i) => `(${key}.date_created, ${key}.id) ${filter.newestFirst ? '<' : '>'} (${d}::bigint, ${i}::text)`, filter.after.date, filter.after.id);
  if (filter.under !== undefined) {
    add((n) => `nodes.id IN (WITH RECURSIVE below(id) AS (SELECT id FROM nodes WHERE parent = ${n} UNION ALL SELECT c.id FROM nodes c JOIN below b ON c.parent = b.id) SELECT id FROM below)`, filter.under);
  }
  const order = filter.newestFirst ? `${key}.date_created DESC, ${key}.id DESC` : `${key}.date_created, ${key}.id`;
  const limit = filter.limit ? ` LIMIT ${Math.floor(filter.limit)}` : '';
  const from = tagged ? 'node_tags t JOIN nodes ON nodes.id = t.id' : 'nodes';
  return { text: `SELECT ${INFO_COLUMNS_OF_NODES} FROM ${from}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${order}${limit}`, values };
}

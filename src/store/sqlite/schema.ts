/**
 * The SQLite schema, as numbered migrations applied in order and recorded in PRAGMA user_version.
 * Never edit a released migration; add the next one.
 */
export const MIGRATIONS: string[] = [
  `
  -- Groups and jobs share one tree of nodes (moi's info records).
  CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL CHECK (type IN ('job', 'group')),
    name TEXT NOT NULL,
    parent TEXT,
    owner TEXT NOT NULL,
    status TEXT,
    status_text TEXT,
    job_type TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    priority INTEGER NOT NULL DEFAULT 0,
    class TEXT NOT NULL DEFAULT 'normal',
    progress TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 3,
    date_created INTEGER NOT NULL,
    date_start INTEGER,
    date_end INTEGER,
    environ TEXT,
    output TEXT,
    result TEXT,
    error TEXT,
    units_total INTEGER NOT NULL DEFAULT 0,
    units_done INTEGER NOT NULL DEFAULT 0,
    units_failed INTEGER NOT NULL DEFAULT 0,
    fail_fast INTEGER NOT NULL DEFAULT 0
  );
  CREATE UNIQUE INDEX nodes_group_path ON nodes (coalesce(parent, ''), name) WHERE type = 'group';
  CREATE INDEX nodes_owner ON nodes (owner, date_created);
  CREATE INDEX nodes_parent ON nodes (parent);

  -- Units are what workers claim: one per job, or one per input of a map job.
  -- token fences a claim: it changes at every claim, and only its holder may finish the unit.
  -- A queue is (owner, class, exclusive): the fair-share planner ranks queues, and a claim takes
  -- the head of a queue (highest priority, then oldest) through units_queue.
  CREATE TABLE units (
    id INTEGER PRIMARY KEY,
    job TEXT NOT NULL,
    idx INTEGER NOT NULL DEFAULT 0,
    owner TEXT NOT NULL,
    class TEXT NOT NULL DEFAULT 'normal',
    exclusive INTEGER NOT NULL DEFAULT 0,
    ram_mb INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL CHECK (state IN ('queued', 'delayed', 'running', 'done', 'failed', 'aborted')),
    priority INTEGER NOT NULL DEFAULT 0,
    queued_at INTEGER NOT NULL,
    run_after INTEGER,
    worker TEXT,
    token INTEGER NOT NULL DEFAULT 0,
    lease_until INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    retries_left INTEGER NOT NULL DEFAULT 0,
    abort_requested INTEGER NOT NULL DEFAULT 0,
    started_at INTEGER,
    ended_at INTEGER,
    input TEXT,
    result TEXT,
    error TEXT
  );
  CREATE INDEX units_queue ON units (owner, class, exclusive, priority DESC, id) WHERE state = 'queued';
  CREATE INDEX units_delayed ON units (run_after) WHERE state = 'delayed';
  CREATE INDEX units_running ON units (worker) WHERE state = 'running';
  CREATE INDEX units_job ON units (job, idx);

  -- Runnable units per queue, kept by the statements that move units in and out of 'queued'
  -- (store.ts: queueDelta), so that the planner reads a few rows, not the units.
  -- since = when the queue was last served, or became non-empty: how long it has waited.
  CREATE TABLE queues (
    owner TEXT NOT NULL,
    class TEXT NOT NULL,
    exclusive INTEGER NOT NULL,
    queued INTEGER NOT NULL DEFAULT 0,
    since INTEGER NOT NULL,
    -- an upper bound of the RAM its queued units need (reset when the queue empties)
    max_ram INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (owner, class, exclusive)
  ) WITHOUT ROWID;
  CREATE INDEX queues_active ON queues (queued) WHERE queued > 0;

  -- Fair share: each owner's share and decayed usage (seconds, as of usage_at).
  CREATE TABLE owners (
    owner TEXT PRIMARY KEY,
    share REAL NOT NULL DEFAULT 1,
    usage REAL NOT NULL DEFAULT 0,
    usage_at INTEGER NOT NULL DEFAULT 0
  ) WITHOUT ROWID;

  -- Every change appends an event in the same transaction; seq is the global order.
  CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    verb TEXT NOT NULL,
    node TEXT NOT NULL,
    owner TEXT NOT NULL,
    info TEXT NOT NULL
  );

  CREATE TABLE workers (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    concurrency INTEGER NOT NULL,
    ram_mb INTEGER NOT NULL,
    exclusive INTEGER NOT NULL DEFAULT 0,
    started_at INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
  );
  `,
  `
  -- Issue 8: lost workers counted apart from attempts; map jobs' per-unit outcomes fixed at the end;
  -- per-job retention; each owner's typical unit length for the provisional fair-share charge;
  -- what pruning has removed.
  ALTER TABLE units ADD COLUMN lost INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE units ADD COLUMN max_lost INTEGER NOT NULL DEFAULT 10;
  ALTER TABLE nodes ADD COLUMN lost INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE nodes ADD COLUMN map INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE nodes ADD COLUMN unit_outcomes TEXT;
  ALTER TABLE nodes ADD COLUMN keep_ms INTEGER;
  UPDATE nodes SET map = 1 WHERE type = 'job' AND units_total > 1;
  ALTER TABLE owners ADD COLUMN unit_seconds REAL;
  CREATE INDEX nodes_ended ON nodes (date_end) WHERE type = 'job' AND date_end IS NOT NULL;
  CREATE TABLE meta (key TEXT PRIMARY KEY, value) WITHOUT ROWID;
  `,
  `
  -- Named worker pools (moi's contexts): a unit runs only on a worker of its pool, and a queue is
  -- (pool, owner, class, exclusive). Workers say which pools they serve, and carry labels (a Slurm job id).
  ALTER TABLE nodes ADD COLUMN pool TEXT NOT NULL DEFAULT 'default';
  ALTER TABLE units ADD COLUMN pool TEXT NOT NULL DEFAULT 'default';
  DROP INDEX units_queue;
  CREATE INDEX units_queue ON units (pool, owner, class, exclusive, priority DESC, id) WHERE state = 'queued';
  CREATE TABLE queues_by_pool (
    pool TEXT NOT NULL,
    owner TEXT NOT NULL,
    class TEXT NOT NULL,
    exclusive INTEGER NOT NULL,
    queued INTEGER NOT NULL DEFAULT 0,
    since INTEGER NOT NULL,
    max_ram INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (pool, owner, class, exclusive)
  ) WITHOUT ROWID;
  INSERT INTO queues_by_pool SELECT 'default', owner, class, exclusive, queued, since, max_ram FROM queues;
  DROP TABLE queues;
  ALTER TABLE queues_by_pool RENAME TO queues;
  CREATE INDEX queues_active ON queues (queued) WHERE queued > 0;
  ALTER TABLE workers ADD COLUMN pools TEXT NOT NULL DEFAULT '["default"]';
  ALTER TABLE workers ADD COLUMN labels TEXT NOT NULL DEFAULT '{}';
  `,
  `
  -- Control messages to running jobs (PARK's control), in order per job; each unit remembers the
  -- last one it took. Users of a server, with hashed tokens. The outbox: what must be sent when a
  -- job ends (a callback POST, later e-mail), retried until it goes, kept beside the fixed record.
  CREATE TABLE messages (
    job TEXT NOT NULL,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL,
    at INTEGER NOT NULL,
    PRIMARY KEY (job, seq)
  ) WITHOUT ROWID;
  ALTER TABLE units ADD COLUMN messages_seen INTEGER NOT NULL DEFAULT 0;
  CREATE TABLE users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    email TEXT,
    accounts TEXT NOT NULL DEFAULT '[]',
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE outbox (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    job TEXT NOT NULL,
    target TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('waiting', 'due', 'done', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_at INTEGER,
    lease_until INTEGER,
    last_error TEXT,
    done_at INTEGER,
    created_at INTEGER NOT NULL
  );
  CREATE INDEX outbox_job ON outbox (job);
  CREATE INDEX outbox_due ON outbox (kind, next_at) WHERE state = 'due';
  `,
  `
  -- Jobs that wait for jobs (PARK's after=): a unit is 'waiting' until every job it waits for has
  -- ended; deps lists what each job waits for. SQLite cannot change a CHECK, so units is rebuilt.
  CREATE TABLE units_with_waiting (
    id INTEGER PRIMARY KEY,
    job TEXT NOT NULL,
    idx INTEGER NOT NULL DEFAULT 0,
    pool TEXT NOT NULL DEFAULT 'default',
    owner TEXT NOT NULL,
    class TEXT NOT NULL DEFAULT 'normal',
    exclusive INTEGER NOT NULL DEFAULT 0,
    ram_mb INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL CHECK (state IN ('waiting', 'queued', 'delayed', 'running', 'done', 'failed', 'aborted')),
    priority INTEGER NOT NULL DEFAULT 0,
    queued_at INTEGER NOT NULL,
    run_after INTEGER,
    worker TEXT,
    token INTEGER NOT NULL DEFAULT 0,
    lease_until INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    retries_left INTEGER NOT NULL DEFAULT 0,
    lost INTEGER NOT NULL DEFAULT 0,
    max_lost INTEGER NOT NULL DEFAULT 10,
    abort_requested INTEGER NOT NULL DEFAULT 0,
    started_at INTEGER,
    ended_at INTEGER,
    input TEXT,
    result TEXT,
    error TEXT,
    messages_seen INTEGER NOT NULL DEFAULT 0
  );
  INSERT INTO units_with_waiting (id, job, idx, pool, owner, class, exclusive, ram_mb, state, priority, queued_at, run_after, worker, token, lease_until, attempts, max_attempts, retries_left, lost, max_lost, abort_requested, started_at, ended_at, input, result, error, messages_seen) SELECT id, job, idx, pool, owner, class, exclusive, ram_mb, state, priority, queued_at, run_after, worker, token, lease_until, attempts, max_attempts, retries_left, lost, max_lost, abort_requested, started_at, ended_at, input, result, error, messages_seen FROM units;
  DROP TABLE units;
  ALTER TABLE units_with_waiting RENAME TO units;
  CREATE INDEX units_queue ON units (pool, owner, class, exclusive, priority DESC, id) WHERE state = 'queued';
  CREATE INDEX units_delayed ON units (run_after) WHERE state = 'delayed';
  CREATE INDEX units_running ON units (worker) WHERE state = 'running';
  CREATE INDEX units_job ON units (job, idx);
  CREATE TABLE deps (
    job TEXT NOT NULL,
    dep TEXT NOT NULL,
    PRIMARY KEY (job, dep)
  ) WITHOUT ROWID;
  CREATE INDEX deps_dep ON deps (dep);
  ALTER TABLE nodes ADD COLUMN after_any INTEGER NOT NULL DEFAULT 0;
  `,
  `
  -- E-mail when a job ends: an outbox item 'mail' (sent at once) or 'digest' (listed in the
  -- address's daily digest), each perhaps for failures only.
  ALTER TABLE outbox ADD COLUMN only_failures INTEGER NOT NULL DEFAULT 0;
  -- The digest time a sent digest item went out for: one digest per address per day.
  ALTER TABLE outbox ADD COLUMN sent_for INTEGER;
  `,
  `
  -- Issue 11 (the server): a job's events by node (GET /api/v1/jobs/{id}/events); the fair-share
  -- account a job was submitted under; the nodes each user took out of their moi view (moi's remove).
  CREATE INDEX events_node ON events (node);
  ALTER TABLE nodes ADD COLUMN account TEXT;
  CREATE TABLE hidden (
    owner TEXT NOT NULL,
    node TEXT NOT NULL,
    PRIMARY KEY (owner, node)
  ) WITHOUT ROWID;
  CREATE INDEX hidden_node ON hidden (node);
  `,
  `
  -- Issue 13 (sioworkersd): an account's strict rank (contest_priority): queued work of a higher
  -- rank is claimed before any of a lower one; fair share orders the accounts of one rank.
  ALTER TABLE owners ADD COLUMN rank INTEGER NOT NULL DEFAULT 0;
  `,
  `
  -- Issue 12 (the dashboard): listings newest first in pages that stay fast with a million jobs
  -- (bench/dashboard.mjs): every filter the Jobs view offers walks an index in the listing's order
  -- (date, then id) instead of sorting what matched. A user's listing always names its owner.
  CREATE INDEX nodes_created ON nodes (type, date_created, id);
  DROP INDEX nodes_owner;
  CREATE INDEX nodes_owner ON nodes (owner, type, date_created, id);
  CREATE INDEX nodes_owner_status ON nodes (owner, status, date_created, id);
  CREATE INDEX nodes_status ON nodes (status, date_created, id);
  CREATE INDEX nodes_job_type ON nodes (job_type, date_created, id);
  DROP INDEX nodes_parent;
  CREATE INDEX nodes_parent ON nodes (parent, date_created, id);
  `,
  `
  -- Issue 12 (the dashboard): the tag filter indexed. Each tag of each node, in the listing's order
  -- (a listing by tag walks it, newest first, and stops at its page, however few jobs have the tag);
  -- kept by triggers, as tags never change once a node is made.
  CREATE TABLE node_tags (
    tag TEXT NOT NULL,
    date_created INTEGER NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (tag, date_created, id)
  ) WITHOUT ROWID;
  INSERT OR IGNORE INTO node_tags SELECT t.value, n.date_created, n.id FROM nodes n, json_each(n.tags) t WHERE n.tags <> '[]';
  CREATE TRIGGER node_tags_add AFTER INSERT ON nodes WHEN NEW.tags <> '[]' BEGIN
    INSERT OR IGNORE INTO node_tags SELECT value, NEW.date_created, NEW.id FROM json_each(NEW.tags);
  END;
  CREATE TRIGGER node_tags_remove AFTER DELETE ON nodes WHEN OLD.tags <> '[]' BEGIN
    DELETE FROM node_tags WHERE tag IN (SELECT value FROM json_each(OLD.tags)) AND date_created = OLD.date_created AND id = OLD.id;
  END;
  `,
];

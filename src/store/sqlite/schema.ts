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
    units_failed INTEGER NOT NULL DEFAULT 0
  );
  CREATE UNIQUE INDEX nodes_group_path ON nodes (coalesce(parent, ''), name) WHERE type = 'group';
  CREATE INDEX nodes_owner ON nodes (owner, date_created);
  CREATE INDEX nodes_parent ON nodes (parent);

  -- Units are what workers claim: one per job (one per input for map jobs).
  -- token fences a claim: it changes at every claim, and only its holder may finish the unit.
  CREATE TABLE units (
    id INTEGER PRIMARY KEY,
    job TEXT NOT NULL,
    idx INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed', 'aborted')),
    priority INTEGER NOT NULL DEFAULT 0,
    worker TEXT,
    token INTEGER NOT NULL DEFAULT 0,
    lease_until INTEGER,
    attempts INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    abort_requested INTEGER NOT NULL DEFAULT 0,
    input TEXT
  );
  CREATE INDEX units_queue ON units (priority DESC, id) WHERE state = 'queued';
  CREATE INDEX units_running ON units (worker) WHERE state = 'running';
  CREATE INDEX units_job ON units (job);

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
    started_at INTEGER NOT NULL,
    heartbeat_at INTEGER NOT NULL
  );
  `,
];

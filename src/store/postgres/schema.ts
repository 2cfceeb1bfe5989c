/**
 * The PostgreSQL schema, as numbered migrations applied in order and recorded in `migrations`
 * (postgres/migrate.ts applies them under an advisory lock, so two processes starting at once do
 * not race). Never edit a released migration; add the next one.
 *
 * JSON the user wrote (environs, outputs, results, inputs) is `json`, kept as written; JSON Sluice
 * queries (tags, progress, pools, labels) is `jsonb`. Times are ms since the epoch (bigint), as in
 * the SQLite store, so both drivers hand the store the same values.
 */
export const MIGRATIONS: string[] = [
  `
  CREATE TABLE nodes (
    id text PRIMARY KEY,
    type text NOT NULL CHECK (type IN ('job', 'group')),
    name text NOT NULL,
    parent text,
    owner text NOT NULL,
    status text,
    status_text text,
    job_type text,
    tags jsonb NOT NULL DEFAULT '[]',
    priority integer NOT NULL DEFAULT 0,
    class text NOT NULL DEFAULT 'normal',
    progress jsonb,
    attempts integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL DEFAULT 1,
    lost integer NOT NULL DEFAULT 0,
    date_created bigint NOT NULL,
    date_start bigint,
    date_end bigint,
    environ json,
    output json,
    result json,
    error text,
    unit_outcomes json,
    units_total integer NOT NULL DEFAULT 0,
    units_done integer NOT NULL DEFAULT 0,
    units_failed integer NOT NULL DEFAULT 0,
    fail_fast boolean NOT NULL DEFAULT false,
    map boolean NOT NULL DEFAULT false,
    keep_ms bigint
  );
  CREATE UNIQUE INDEX nodes_group_path ON nodes (coalesce(parent, ''), name) WHERE type = 'group';
  CREATE INDEX nodes_owner ON nodes (owner, date_created);
  CREATE INDEX nodes_parent ON nodes (parent);
  CREATE INDEX nodes_created ON nodes (date_created, id);
  CREATE INDEX nodes_ended ON nodes (date_end) WHERE type = 'job' AND date_end IS NOT NULL;

  -- Units are what workers claim; token fences a claim (see the SQLite schema for the whole story).
  CREATE TABLE units (
    id bigserial PRIMARY KEY,
    job text NOT NULL,
    idx integer NOT NULL DEFAULT 0,
    owner text NOT NULL,
    class text NOT NULL DEFAULT 'normal',
    exclusive boolean NOT NULL DEFAULT false,
    ram_mb integer NOT NULL DEFAULT 0,
    state text NOT NULL CHECK (state IN ('queued', 'delayed', 'running', 'done', 'failed', 'aborted')),
    priority integer NOT NULL DEFAULT 0,
    queued_at bigint NOT NULL,
    run_after bigint,
    worker text,
    token integer NOT NULL DEFAULT 0,
    lease_until bigint,
    attempts integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL,
    retries_left integer NOT NULL DEFAULT 0,
    lost integer NOT NULL DEFAULT 0,
    max_lost integer NOT NULL DEFAULT 10,
    abort_requested boolean NOT NULL DEFAULT false,
    started_at bigint,
    ended_at bigint,
    input json,
    result json,
    error text
  );
  CREATE INDEX units_queue ON units (owner, class, exclusive, priority DESC, id) WHERE state = 'queued';
  CREATE INDEX units_delayed ON units (run_after) WHERE state = 'delayed';
  CREATE INDEX units_running ON units (worker) WHERE state = 'running';
  CREATE INDEX units_job ON units (job, idx);

  CREATE TABLE queues (
    owner text NOT NULL,
    class text NOT NULL,
    exclusive boolean NOT NULL,
    queued integer NOT NULL DEFAULT 0,
    since bigint NOT NULL,
    max_ram integer NOT NULL DEFAULT 0,
    PRIMARY KEY (owner, class, exclusive)
  );
  CREATE INDEX queues_active ON queues (queued) WHERE queued > 0;

  CREATE TABLE owners (
    owner text PRIMARY KEY,
    share double precision NOT NULL DEFAULT 1,
    usage double precision NOT NULL DEFAULT 0,
    usage_at bigint NOT NULL DEFAULT 0,
    unit_seconds double precision
  );

  -- Every change appends an event; seq is the global order. Event appends are serialized by an
  -- advisory lock held to commit (postgres/driver.ts), so events become visible in seq order.
  CREATE TABLE events (
    seq bigserial PRIMARY KEY,
    at bigint NOT NULL,
    verb text NOT NULL,
    node text NOT NULL,
    owner text NOT NULL,
    info json NOT NULL
  );

  CREATE TABLE workers (
    id text PRIMARY KEY,
    host text NOT NULL,
    pid integer NOT NULL,
    concurrency integer NOT NULL,
    ram_mb integer NOT NULL,
    exclusive boolean NOT NULL DEFAULT false,
    started_at bigint NOT NULL,
    heartbeat_at bigint NOT NULL
  );

  CREATE TABLE meta (key text PRIMARY KEY, value text);
  `,
  `
  -- Named worker pools (moi's contexts): a queue is (pool, owner, class, exclusive); workers say
  -- which pools they serve, and carry labels (a Slurm job id).
  ALTER TABLE nodes ADD COLUMN pool text NOT NULL DEFAULT 'default';
  ALTER TABLE units ADD COLUMN pool text NOT NULL DEFAULT 'default';
  DROP INDEX units_queue;
  CREATE INDEX units_queue ON units (pool, owner, class, exclusive, priority DESC, id) WHERE state = 'queued';
  ALTER TABLE queues ADD COLUMN pool text NOT NULL DEFAULT 'default';
  ALTER TABLE queues DROP CONSTRAINT queues_pkey;
  ALTER TABLE queues ADD PRIMARY KEY (pool, owner, class, exclusive);
  ALTER TABLE workers ADD COLUMN pools jsonb NOT NULL DEFAULT '["default"]';
  ALTER TABLE workers ADD COLUMN labels jsonb NOT NULL DEFAULT '{}';
  `,
  `
  -- Control messages, users, the outbox (see the SQLite schema's migration 4).
  CREATE TABLE messages (
    job text NOT NULL,
    seq integer NOT NULL,
    body json NOT NULL,
    at bigint NOT NULL,
    PRIMARY KEY (job, seq)
  );
  ALTER TABLE units ADD COLUMN messages_seen integer NOT NULL DEFAULT 0;
  CREATE TABLE users (
    name text PRIMARY KEY,
    role text NOT NULL,
    email text,
    accounts jsonb NOT NULL DEFAULT '[]',
    token_hash text NOT NULL UNIQUE,
    created_at bigint NOT NULL
  );
  CREATE TABLE outbox (
    id bigserial PRIMARY KEY,
    kind text NOT NULL,
    job text NOT NULL,
    target text NOT NULL,
    state text NOT NULL CHECK (state IN ('waiting', 'due', 'done', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    next_at bigint,
    lease_until bigint,
    last_error text,
    done_at bigint,
    created_at bigint NOT NULL
  );
  CREATE INDEX outbox_job ON outbox (job);
  CREATE INDEX outbox_due ON outbox (kind, next_at) WHERE state = 'due';
  `,
  `
  -- Jobs that wait for jobs (see the SQLite schema's migration 5).
  ALTER TABLE units DROP CONSTRAINT units_state_check;
  ALTER TABLE units ADD CONSTRAINT units_state_check CHECK (state IN ('waiting', 'queued', 'delayed', 'running', 'done', 'failed', 'aborted'));
  CREATE TABLE deps (
    job text NOT NULL,
    dep text NOT NULL,
    PRIMARY KEY (job, dep)
  );
  CREATE INDEX deps_dep ON deps (dep);
  ALTER TABLE nodes ADD COLUMN after_any boolean NOT NULL DEFAULT false;
  `,
  `
  -- E-mail when a job ends (see the SQLite schema's migration 6).
  ALTER TABLE outbox ADD COLUMN only_failures boolean NOT NULL DEFAULT false;
  ALTER TABLE outbox ADD COLUMN sent_for bigint;
  `,
  `
  -- The server (see the SQLite schema's migration 7): a job's events by node, the account a job was
  -- submitted under, the nodes each user took out of their moi view.
  CREATE INDEX events_node ON events (node, seq);
  ALTER TABLE nodes ADD COLUMN account text;
  CREATE TABLE hidden (
    owner text NOT NULL,
    node text NOT NULL,
    PRIMARY KEY (owner, node)
  );
  CREATE INDEX hidden_node ON hidden (node);
  `,
  `
  -- An account's strict rank (see the SQLite schema's migration 8).
  ALTER TABLE owners ADD COLUMN rank integer NOT NULL DEFAULT 0;
  `,
  `
  -- The dashboard's listings (see the SQLite schema's migration 6): each filter in the listing's order.
  DROP INDEX nodes_owner;
  CREATE INDEX nodes_owner ON nodes (owner, type, date_created, id);
  CREATE INDEX nodes_owner_status ON nodes (owner, status, date_created, id);
  CREATE INDEX nodes_status ON nodes (status, date_created, id);
  CREATE INDEX nodes_job_type ON nodes (job_type, date_created, id);
  DROP INDEX nodes_parent;
  CREATE INDEX nodes_parent ON nodes (parent, date_created, id);
  `,
  `
  -- The tag filter indexed (see the SQLite schema's migration 7): each tag of each node in the
  -- listing's order, kept by statement triggers (one insert or delete per statement, not per row;
  -- they find node_tags in the schema they were made in, whatever the caller's search_path).
  CREATE TABLE node_tags (
    tag text NOT NULL,
    date_created bigint NOT NULL,
    id text NOT NULL,
    PRIMARY KEY (tag, date_created, id)
  );
  INSERT INTO node_tags SELECT DISTINCT t.tag, n.date_created, n.id FROM nodes n, jsonb_array_elements_text(n.tags) AS t(tag) WHERE n.tags <> '[]';
  CREATE FUNCTION node_tags_add() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
  BEGIN
    INSERT INTO node_tags SELECT DISTINCT t.tag, n.date_created, n.id FROM added n, jsonb_array_elements_text(n.tags) AS t(tag) WHERE n.tags <> '[]'
      ON CONFLICT DO NOTHING;
    RETURN NULL;
  END $$;
  CREATE FUNCTION node_tags_remove() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
  BEGIN
    DELETE FROM node_tags k USING removed n, jsonb_array_elements_text(n.tags) AS t(tag)
      WHERE n.tags <> '[]' AND k.tag = t.tag AND k.date_created = n.date_created AND k.id = n.id;
    RETURN NULL;
  END $$;
  CREATE TRIGGER node_tags_add AFTER INSERT ON nodes REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION node_tags_add();
  CREATE TRIGGER node_tags_remove AFTER DELETE ON nodes REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION node_tags_remove();
  `,
];

import type { Environ, Report } from '../environ/index.js';
import type { PriorityClass } from '../schedule/index.js';

/**
 * The persistence contract. The SQLite store (embedded default) and the PostgreSQL store implement
 * it and pass one conformance suite (test/store/conformance.ts). Every method that changes state
 * appends its events in the same transaction.
 */

/** moi's statuses. */
export type JobStatus = 'Queued' | 'Waiting' | 'Running' | 'Success' | 'Failed' | 'Aborted';
export const TERMINAL: ReadonlySet<JobStatus> = new Set(['Success', 'Failed', 'Aborted']);

/** Priority classes (schedule/ gives them their weights and charges). */
export type UnitClass = PriorityClass;

/** A node of the tree (moi's info record): a job, or a group holding jobs and groups. */
export interface NodeInfo {
  id: string;
  type: 'job' | 'group';
  name: string;
  parent: string | null;
  owner: string;
  /** null for groups */
  status: JobStatus | null;
  /** free text set by the running job (moi's status callback) */
  status_text: string | null;
  job_type: string | null;
  tags: string[];
  priority: number;
  class: UnitClass;
  /** the job's own report, or k of n units done for a map job */
  progress: { done: number; total: number; message?: string } | null;
  /** runs of its units that counted (a run whose worker vanished is given back, not counted) */
  attempts: number;
  /** 1 + retries: how many runs a unit may have before its failure is final */
  max_attempts: number;
  /** how many times its units lost their worker (kill -9, a lost lease) and were run again */
  lost: number;
  /** moi's context: the worker pool the job runs in */
  context: string;
  /** moi's url: where a browser finds jobs (links go to url/id); set by the service, null without a server */
  url?: string | null;
  /** ms since the epoch */
  date_created: number;
  date_start: number | null;
  date_end: number | null;
  /** the job's value (see environ/result.ts), a map job's list of unit results, or a failure's traceback */
  result: unknown;
  /** why a job failed, or why a queued job cannot run, in one line */
  error: string | null;
}

/** How one unit of a map job ended, as its job's record keeps it. */
export type UnitSummary =
  | { index: number; status: 'Success'; result: unknown }
  | { index: number; status: 'Failed' | 'Aborted'; error: string | null };

/** A whole job: its info plus the environ it was given and the one it returned. */
export interface JobRecord extends NodeInfo {
  environ: Environ;
  output: Environ | null;
  /** a map job that ended: each unit's outcome, in input order */
  units?: UnitSummary[];
  /** its callback's delivery (the record itself is fixed once the job ends; this lives beside it) */
  delivery?: Delivery;
  /** its e-mail: sent at once or in the address's daily digest, for every end or failures only */
  notify?: Omit<Delivery, 'url'> & { address: string; mode: 'now' | 'digest'; on: 'always' | 'failure' };
  /** the fair-share account it was submitted under, when not its owner's own (`--account`) */
  account?: string;
}

/** Where an outbox item stands: waiting for its job to end, due (being tried), done, or given up. */
export interface Delivery {
  url: string;
  state: 'waiting' | 'due' | 'done' | 'failed';
  attempts: number;
  /** the next try, while due */
  next_at: number | null;
  /** the last failed try's error, kept once it went */
  last_error: string | null;
  done_at: number | null;
}

/** Something to send when its job ends (a callback POST; e-mail later): taken with a lease by whoever sends. */
export interface OutboxItem {
  id: number;
  kind: string;
  job: string;
  target: string;
  attempts: number;
  /** send only if the job did not succeed */
  only_failures: boolean;
}

export type Role = 'admin' | 'trusted' | 'user' | 'viewer';
export const ROLES: readonly Role[] = ['admin', 'trusted', 'user', 'viewer'];

/** A user of a server (a token stands for them; only its hash is kept). */
export interface UserInfo {
  name: string;
  role: Role;
  email: string | null;
  /** fair-share accounts an admin granted them besides their own name */
  accounts: string[];
  created_at: number;
}

/** A control message a running unit has not taken yet. */
export interface UnitMessage {
  unit: number;
  seq: number;
  body: unknown;
}

export type UnitState = 'waiting' | 'queued' | 'delayed' | 'running' | 'done' | 'failed' | 'aborted';

/** One unit of a job (one per input of a map job). */
export interface UnitInfo {
  id: number;
  job: string;
  idx: number;
  state: UnitState;
  input: unknown;
  attempts: number;
  lost: number;
  worker: string | null;
  run_after: number | null;
  started_at: number | null;
  ended_at: number | null;
  result: unknown;
  error: string | null;
  /** RAM it needs, MiB, and whether it must run alone (placement) */
  ram_mb: number;
  exclusive: boolean;
}

export interface NewJob {
  owner: string;
  environ: Environ;
  name?: string;
  /** group path from a root, e.g. "alice/analysis-7"; default: the owner's root group */
  group?: string;
  tags?: string[];
  priority?: number;
  class?: UnitClass;
  /** how many times a unit may lose its worker before its job fails (default: the store's, SLUICE_MAX_LOST) */
  maxLost?: number;
  /** keep the job this long after it ends (ms); default: the store's retention (SLUICE_RETENTION) */
  keepMs?: number;
  /** a map job: one unit per input, each run with the environ plus `input` */
  inputs?: unknown[];
  /** a map job: abort the other units at the first failure */
  failFast?: boolean;
  /** run a failed unit again this many times, with exponential backoff */
  retries?: number;
  /** do not start before this time (ms since the epoch) */
  runAfter?: number;
  /** RAM a unit needs, MiB (placement) */
  ramMb?: number;
  /** units must run alone on an exclusive-capable worker (cpu-exec) */
  exclusive?: boolean;
  /** the worker pool that runs its units (moi's context); default `default` */
  pool?: string;
  /** POST the record here when the job ends (retried until it goes) */
  callbackUrl?: string;
  /** jobs this one waits for (PARK's after=): it stays Waiting until they have all ended */
  after?: string[];
  /** run once all of `after` have ended, whatever they ended with (default: only if all succeeded) */
  afterAny?: boolean;
  /** e-mail when it ends: in the address's daily digest (PARK's default) or at once, perhaps only on failure */
  notify?: { address: string; now?: boolean; onlyFailures?: boolean };
  /** the fair-share account an admin granted its owner, when not the owner's own (recorded on the job) */
  account?: string;
}

/** Jobs started and ended per class and time slot (slot = time / step, floored): the dashboard's throughput. */
export interface JobCounts {
  started: Array<{ class: string; slot: number; n: number }>;
  finished: Array<{ class: string; slot: number; n: number }>;
}

export interface JobFilter {
  owner?: string;
  status?: JobStatus;
  tag?: string;
  /** only direct children of this group */
  parent?: string;
  /** only nodes below this group, at any depth */
  under?: string;
  /** jobs (the default), groups, or both */
  type?: 'job' | 'group' | 'any';
  /** only jobs of this job type */
  jobType?: string;
  /** only nodes whose name, tags or environ text contain this (case-insensitive) */
  text?: string;
  /** only nodes made at or after / before this time (ms since the epoch) */
  createdAfter?: number;
  createdBefore?: number;
  /** only nodes after this one in the list's order (date, then id): a page's cursor */
  after?: { date: number; id: string };
  /** newest first (date, then id, descending); `after` then continues towards older nodes */
  newestFirst?: boolean;
  limit?: number;
}

/** A unit handed to a worker. `token` fences it: only the holder of the current token may finish it. */
export interface ClaimedUnit {
  unit: number;
  pool: string;
  token: number;
  job: string;
  /** the unit's position among its job's units (its input's index in a map job; 0 otherwise) */
  index: number;
  environ: Environ;
  attempt: number;
  /** who submitted its job (the run's identity) */
  owner: string;
  /** the fair-share account its queue belongs to and its usage is charged to: the job's account, else its owner */
  account: string;
  class: UnitClass;
  ramMb: number;
  exclusive: boolean;
}

/** What a worker asks for: the planner's picks, in order, within what the worker has free. */
export interface ClaimRequest {
  picks: Array<{ pool: string; owner: string; class: UnitClass; exclusive: boolean; count: number }>;
  /** MiB free on the worker: units that need more are skipped */
  freeRamMb: number;
  leaseMs: number;
}

export interface UnitOutcome {
  unit: number;
  token: number;
  /** the environ the runner returned */
  output: Environ;
  /** the job's result for its record (environ/result.ts `resultOf`); a FAILURE records its traceback instead */
  result?: unknown;
  /** set when the worker stopped the unit because of an abort */
  aborted?: boolean;
  /** usage to charge the owner, in seconds (CPU or wall, times the class charge) */
  charge?: number;
  /** how long the unit took, seconds (CPU or wall, before the class charge): its owner's typical unit length learns from it */
  seconds?: number;
}

/** A worker's offer, for placement. */
export interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
  concurrency: number;
  ram_mb: number;
  exclusive: boolean;
  /** the pools it serves */
  pools: string[];
  /** what it says of itself (e.g. the Slurm job of a pool) */
  labels: Record<string, string>;
  started_at: number;
  heartbeat_at: number;
}

/** A live worker with what it runs now (`sluice workers`). */
export interface WorkerView extends WorkerInfo {
  running: number;
  ram_used_mb: number;
}

/** One appended change. `info` is the node's info after the change. */
export type StoreEvent =
  | { seq: number; at: number; verb: 'add' | 'update'; id: string; owner: string; info: NodeInfo }
  /** pruning removed ended jobs; events through `through` may be gone */
  | { seq: number; at: number; verb: 'prune'; through: number; jobs: number };

export interface PruneReport {
  jobs: number;
  groups: number;
  events: number;
  /** events through this sequence number may be gone */
  through: number;
  dryRun: boolean;
}

export interface CompleteAndClaimAnswer {
  /** per outcome, whether it was recorded (a stale token records nothing) */
  recorded: boolean[];
  claimed: ClaimedUnit[];
  /** the change mark right after this write: wait since it to sleep until someone else changes something */
  mark: number;
}

export interface HeartbeatAnswer {
  /** units this worker still holds; a running unit not listed here was taken away and must stop */
  held: number[];
  /** held units whose job was aborted: stop them */
  abort: number[];
}

/** What the fair-share planner needs, read in one go. */
export interface QueueSnapshot {
  /** non-empty queues: runnable units per (owner, class, exclusive) */
  queues: Array<{ pool: string; owner: string; class: UnitClass; exclusive: boolean; queued: number; since: number }>;
  /**
   * owners with queued or running units, with their decayed usage as stored (value at `usage_at`)
   * and how long their units typically take (seconds; null before the first one ended)
   */
  owners: Array<{ owner: string; share: number; usage: number; usage_at: number; running: number; unit_seconds: number | null; rank: number }>;
  /** every running unit (few: at most the sum of the workers' concurrency), for provisional usage */
  running: Array<{ pool: string; owner: string; class: UnitClass; started_at: number }>;
}

/**
 * What a worker needs of a store: its registration, claims, results, heartbeats and wake-ups. A
 * worker on another machine gets these over HTTP from `sluice serve` (service/workerClient.ts), so
 * this list is also the server's worker protocol (server/routes/worker.ts).
 */
export const WORKER_CALLS = [
  'get', 'registerWorker', 'unregisterWorker', 'heartbeat', 'abortRequests', 'queueSnapshot', 'claimJob',
  'complete', 'completeAndClaim', 'release', 'report', 'reapExpired', 'takeMessages',
] as const;

export type WorkerStore = Pick<Store, (typeof WORKER_CALLS)[number] | 'changeMark' | 'waitForChange'>;

export interface Store {
  /** Adds jobs (groups made on demand) in one transaction; returns their ids in order. */
  submit(jobs: NewJob[]): Promise<string[]>;
  get(id: string): Promise<JobRecord | NodeInfo | null>;
  list(filter?: JobFilter): Promise<NodeInfo[]>;
  units(job: string): Promise<UnitInfo[]>;
  /** Owners with their root group id and job count. */
  users(): Promise<Array<{ owner: string; group: string | null; jobs: number }>>;
  /** Aborts a job: queued units never run, running ones are flagged for their worker to kill. */
  abort(id: string): Promise<JobRecord>;
  /**
   * Sets an account's fair share (default 1) and, when given, its strict rank (default 0; kept when
   * not given): queued work of a higher rank is claimed before any of a lower one.
   */
  setShare(owner: string, share: number, rank?: number): Promise<void>;

  registerWorker(info: Omit<WorkerInfo, 'id' | 'started_at' | 'heartbeat_at' | 'pools' | 'labels'> & { id?: string; pools?: string[]; labels?: Record<string, string> }): Promise<string>;
  unregisterWorker(id: string): Promise<void>;
  /**
   * Extends the leases of the units the worker says it runs (and no others: a unit claimed for it
   * that it does not know of lapses with its lease); answers which it holds and which to abort.
   */
  heartbeat(worker: string, leaseMs: number, units: number[]): Promise<HeartbeatAnswer>;
  liveWorkers(withinMs: number): Promise<WorkerInfo[]>;
  /** Running units and the RAM they take (MiB), per worker id. */
  workerLoads(): Promise<Array<{ worker: string; running: number; ramMb: number }>>;
  /**
   * Jobs started and jobs ended in [since, before), per class and slot of stepMs (slot = time /
   * stepMs, floored): what the dashboard's throughput chart starts from. A job counts as started
   * when it has ended since, or runs now (a job sent back to the queue by a lost worker is not).
   */
  jobCounts(since: number, before: number, stepMs: number): Promise<JobCounts>;
  /** Running units of this worker whose job was aborted (a cheap read, for prompt kills). */
  abortRequests(worker: string): Promise<number[]>;
  /** The queues and owners the fair-share planner ranks (of these pools only, when named). */
  queueSnapshot(pools?: string[]): Promise<QueueSnapshot>;
  /** Takes the head units of the picked queues, in order, within the worker's free RAM. */
  claim(worker: string, request: ClaimRequest): Promise<ClaimedUnit[]>;
  /** Takes up to `limit` units of one job, in input order (to run it in-process when no worker is alive). */
  claimJob(worker: string, job: string, limit: number, leaseMs: number): Promise<ClaimedUnit[]>;
  /** Records results; a stale token changes nothing. Returns, per outcome, whether it was recorded. */
  complete(outcomes: UnitOutcome[]): Promise<boolean[]>;
  /** complete() then claim() in one transaction: the worker's hot path. */
  completeAndClaim(worker: string, finished: UnitOutcome[], request: ClaimRequest | null): Promise<CompleteAndClaimAnswer>;
  /** Gives units back to the queue without charging an attempt (graceful shutdown). */
  release(units: Array<{ unit: number; token: number }>): Promise<void>;
  /** Records a progress or status report from a running unit. */
  report(unit: number, token: number, report: Report): Promise<void>;
  /**
   * Housekeeping any worker runs now and then: re-queues units whose lease ran out (or fails their
   * job when attempts are exhausted), and notes on queued jobs that no live worker could hold them.
   */
  reapExpired(): Promise<number>;

  /** The jobs a job waits for (`after`), and where they stand. */
  dependencies(job: string): Promise<Array<{ id: string; status: JobStatus }>>;
  /** A group by its path from a root ("alice/analysis-7"), or null. */
  group(path: string): Promise<NodeInfo | null>;
  /**
   * Removes ended jobs whose time is up (ended before `now - keep`, keep = the job's own or
   * `olderThanMs`, default the store's retention; `olderThanMs: 0` = every ended job), their units,
   * the groups left empty, and events older than the retention. Appends one `prune` event with the
   * sequence number through which events may be gone. `dryRun` counts and removes nothing.
   */
  prune(options?: { olderThanMs?: number; dryRun?: boolean }): Promise<PruneReport>;
  /** Events at or below this sequence number may have been pruned (0: none was). */
  prunedThrough(): Promise<number>;

  /**
   * A control message to a job (PARK's control): kept in order until each of its units takes it; a
   * queued job gets it when it starts. Refused for a job that has ended.
   */
  control(job: string, message: unknown): Promise<{ seq: number }>;
  /** The messages these running units of the worker have not taken yet, marked taken (fenced by token). */
  takeMessages(worker: string, units: Array<{ unit: number; token: number }>): Promise<UnitMessage[]>;

  /**
   * Outbox items of this kind that are due (by `dueBy`, default now: a digest takes the jobs that ended
   * before its hour), each taken for `leaseMs` (another sender skips it meanwhile).
   */
  claimOutbox(kind: string, limit: number, leaseMs: number, dueBy?: number): Promise<OutboxItem[]>;
  /** How sending went: done, or failed with a retry time (null: given up). */
  finishOutbox(id: number, outcome: { ok: true; /** the digest time it went out in */ digestOf?: number } | { ok: false; error: string; retryAt: number | null }): Promise<void>;
  /** Back untaken, due at `nextAt` (a digest item for a digest that has gone out waits for the next). */
  postponeOutbox(id: number, nextAt: number): Promise<void>;
  /** Whether `address`'s digest for the digest time `at` has gone out. */
  digestSent(address: string, at: number): Promise<boolean>;

  createUser(user: Omit<UserInfo, 'created_at' | 'accounts' | 'email'> & { email?: string | null; accounts?: string[]; tokenHash: string }): Promise<void>;
  listUsers(): Promise<UserInfo[]>;
  getUser(name: string): Promise<UserInfo | null>;
  userByTokenHash(hash: string): Promise<UserInfo | null>;
  updateUser(name: string, patch: { role?: Role; email?: string | null; accounts?: string[]; tokenHash?: string }): Promise<UserInfo>;
  deleteUser(name: string): Promise<void>;

  /** Jobs per status, and the first start and last end over all jobs (benchmarks, metrics). */
  jobStats(): Promise<{ byStatus: Partial<Record<JobStatus, number>>; firstStart: number | null; lastEnd: number | null }>;
  /** What `doctor` says of the store: the kind of database, its version, where it is. */
  readonly description: string;

  /** Events after `seq`, oldest first. */
  eventsAfter(seq: number, limit?: number): Promise<StoreEvent[]>;
  /** The events of one node (a job's history), oldest first, at most `limit`. */
  eventsOf(node: string, limit?: number): Promise<StoreEvent[]>;

  /** Takes nodes out of a user's moi view (moi's `remove`); their records stay. */
  hide(owner: string, nodes: string[]): Promise<void>;
  /** The nodes a user took out of their moi view. */
  hidden(owner: string): Promise<string[]>;
  lastSeq(): Promise<number>;
  /**
   * A count of the changes this process has seen (its own writes and other processes'). Take it
   * before reading, then `waitForChange(…, mark)`: a change in between is never missed.
   */
  changeMark(): number;
  /** Resolves once a change after `since` (default: now) is seen, or after `timeoutMs`, or on abort. */
  waitForChange(timeoutMs: number, signal?: AbortSignal, since?: number): Promise<void>;
  close(): Promise<void>;
}

/** What a store is told by its configuration (environ/config.ts); the defaults are `DEFAULTS` there. */
export interface StoreOptions {
  /** fair-share usage half-life */
  halfLifeMs: number;
  /** a worker counts as alive while its last heartbeat is this recent (one lease) */
  liveWorkerMs: number;
  /** how many times a unit may lose its worker before its job fails */
  maxLost: number;
  /** how long ended jobs and old events are kept */
  retentionMs: number;
  /** the largest environ accepted, bytes of JSON */
  maxEnvironBytes: number;
}

/**
 * The thin database driver under the store (after River's `riverdriver`): one method per query,
 * plus transactions and wake-ups. Every decision (retries, tallies, job status, charging, placement
 * notes, group ownership, pruning order) lives above it in `store/engine.ts` and `store/decide/`, so
 * that each database keeps only its statements. One driver test suite (test/store/driver.ts) runs
 * against every driver, and the store's behaviour suite against the store on each.
 *
 * Times are ms since the epoch; JSON values travel parsed. Batches are arrays: a driver sends each
 * as one statement where its database can (SQLite: a JSON array expanded by json_each; PostgreSQL:
 * jsonb_to_recordset).
 */
import type { Environ } from '../environ/index.js';
import type { Delivery, JobCounts, JobStatus, NodeInfo, OutboxItem, StoreEvent, UnitClass, UnitInfo, UnitSummary, UserInfo, WorkerInfo } from './types.js';

/**
 * What a listing asks for, every field optional: the store's `JobFilter`. `text` matches name, tags
 * and environ text case-insensitively (a driver escapes its LIKE wildcards); the order is date, then
 * id, and `after` continues after one node of it.
 */
export interface NodeFilter {
  type?: 'job' | 'group' | 'any';
  owner?: string;
  status?: JobStatus;
  tag?: string;
  parent?: string;
  under?: string;
  jobType?: string;
  text?: string;
  createdAfter?: number;
  createdBefore?: number;
  after?: { date: number; id: string };
  /** date, then id, descending */
  newestFirst?: boolean;
  limit?: number;
}

/** A queue of units: one owner's units of one class, exclusive or not, in one worker pool. */
export interface QueueKey {
  pool: string;
  owner: string;
  class: UnitClass;
  exclusive: boolean;
}

/** Units joining (n > 0) or leaving (n < 0) a queue; `ramMb` bounds what the joining units need. */
export interface QueueDelta extends QueueKey {
  n: number;
  ramMb: number;
}

/** A job to insert, with its units (one, or one per input). */
export interface JobRow {
  id: string;
  owner: string;
  name: string;
  parent: string;
  jobType: string | null;
  tags: string[];
  priority: number;
  class: UnitClass;
  maxAttempts: number;
  maxLost: number;
  retries: number;
  environ: Environ;
  /** a map job's inputs (one unit each); null: one unit without input */
  inputs: unknown[] | null;
  failFast: boolean;
  exclusive: boolean;
  ramMb: number;
  /** not before (ms); units are 'delayed' until then */
  runAfter: number | null;
  keepMs: number | null;
  pool: string;
  callbackUrl: string | null;
  notify: { address: string; now: boolean; onlyFailures: boolean } | null;
  /** the jobs it waits for ([]: none), and whether it starts Waiting (some of them have not ended) */
  after: string[];
  afterAny: boolean;
  waiting: boolean;
  account: string | null;
}

/** A unit as a claim returns it. */
export interface ClaimedRow extends QueueKey {
  id: number;
  job: string;
  idx: number;
  priority: number;
  token: number;
  attempts: number;
  input: unknown;
  ramMb: number;
}

/** What finishing a unit asks the database to write. */
export interface UnitFinish {
  unit: number;
  token: number;
  state: 'done' | 'failed' | 'aborted';
  result: unknown;
  error: string | null;
}

/** A unit that was running with a matching token and is now finished. */
export interface FinishedRow {
  id: number;
  job: string;
  idx: number;
  owner: string;
  attempts: number;
  retriesLeft: number;
  abortRequested: boolean;
  /** its owner's fair-share row as it was (null: none yet), read by the same statement, for charging */
  ownerRow: OwnerRow | null;
}

/** What the decisions about a job's end need to know of it. */
export interface JobTally {
  id: string;
  status: JobStatus;
  map: boolean;
  failFast: boolean;
  unitsTotal: number;
  unitsDone: number;
  unitsFailed: number;
  /** units of the job still running (besides the ones being finished now) */
  unitsRunning: number;
}

/** The fields of a job's record that finishing units changes; undefined: unchanged. */
export interface JobUpdate {
  id: string;
  status: JobStatus;
  unitsDone: number;
  unitsFailed: number;
  dateEnd?: number;
  output?: Environ | null;
  result?: unknown;
  unitOutcomes?: UnitSummary[];
  progress?: { done: number; total: number };
  error?: string | null;
}

/** A unit's outcome as a map job's record lists it. */
export interface UnitOutcomeRow {
  job: string;
  idx: number;
  state: UnitInfo['state'];
  result: unknown;
  error: string | null;
}

export interface OwnerRow {
  owner: string;
  share: number;
  usage: number;
  usageAt: number;
  unitSeconds: number | null;
  /** strict rank: a higher one is served first (sioworkersd's contest_priority) */
  rank: number;
}

export interface ExpiredRow {
  id: number;
  job: string;
  lost: number;
  maxLost: number;
  abortRequested: boolean;
}

/** Queries that change the database; a driver runs them inside `transaction`. */
export interface WriteTx extends ReadTx {
  /** Takes the nodes' rows for reading until the commit, so that none of them changes meanwhile (SQLite: one writer at a time already). */
  lockNodes(ids: string[]): Promise<void>;
  /**
   * This transaction changed what others wait for (events, queues, shares): waiters in this process
   * wake when it commits, and other processes are told (PostgreSQL: NOTIFY; SQLite: they see the WAL).
   */
  notifyChange(): void;
  insertJobs(rows: JobRow[], now: number): Promise<void>;
  /** False when a group of that name under that parent exists already (made by a concurrent transaction). */
  insertGroup(row: { id: string; name: string; parent: string | null; owner: string }, now: number): Promise<boolean>;
  /** One event per entry, carrying its node's info as it is now, in the order given (one statement). */
  appendEvents(events: Array<{ verb: 'add' | 'update'; id: string; at: number }>): Promise<void>;
  appendPruneEvent(through: number, jobs: number, now: number): Promise<void>;
  queueDelta(deltas: QueueDelta[], now: number, served: boolean): Promise<void>;

  /** Delayed units whose time has come become queued; returns their queues. */
  promoteDue(now: number): Promise<Array<QueueKey & { ramMb: number }>>;
  /** The head unit of each queue (highest priority, then oldest) that fits `freeRamMb`, marked running. */
  claimHeads(worker: string, queues: QueueKey[], freeRamMb: number, leaseUntil: number, now: number): Promise<ClaimedRow[]>;
  /** Up to `count` head units of one queue. */
  claimFromQueue(worker: string, queue: QueueKey, count: number, freeRamMb: number, leaseUntil: number, now: number): Promise<ClaimedRow[]>;
  /** Up to `count` queued units of one job, in input order. */
  claimJobUnits(worker: string, job: string, count: number, leaseUntil: number, now: number): Promise<ClaimedRow[]>;
  /** Puts a unit claimed in this transaction back (it did not fit the worker's RAM). */
  unclaim(unit: number): Promise<void>;
  /** Marks the jobs of claimed units Running (attempts: the largest of each job's claimed units); returns their environs. */
  /** Marks the jobs Running; each job's environ and owner (a job that ended meanwhile keeps its status but still answers). */
  startJobs(units: Array<{ job: string; attempts: number }>, now: number): Promise<Map<string, { environ: Environ; owner: string }>>;

  finishUnits(outcomes: UnitFinish[], now: number): Promise<FinishedRow[]>;
  /** A failed unit waits for its retry. */
  retryUnits(units: Array<{ unit: number; runAfter: number }>): Promise<void>;
  /** The reason a job waits for a retry (only while it has not ended). */
  noteRetry(job: string, text: string): Promise<void>;
  jobTallies(jobs: string[]): Promise<JobTally[]>;
  unitOutcomes(jobs: string[]): Promise<UnitOutcomeRow[]>;
  /**
   * Writes finished units' effects on their jobs (only jobs still Queued or Running). Answers the
   * jobs it ended that something waits for (an outbox item, or a job that runs after it), read by
   * the same statement, after jobTallies locked the jobs: a job submitted to wait for one of them
   * either committed before (and is seen) or waits for the lock (and sees the end).
   */
  updateJobs(updates: JobUpdate[]): Promise<string[]>;
  /** A job's queued units are aborted (returns their queues) and its delayed ones too. */
  stopWaitingUnits(job: string): Promise<Array<QueueKey & { ramMb: number }>>;
  flagRunningUnits(job: string): Promise<void>;
  setAborted(job: string, reason: string, now: number): Promise<boolean>;
  writeUsage(rows: Array<Omit<OwnerRow, 'share' | 'rank'>>): Promise<void>;
  /** An account's share and, when given, its rank (otherwise kept). */
  setShare(owner: string, share: number, rank?: number): Promise<void>;

  /** Gives a running unit back (the attempt not counted); undefined when its token is stale. */
  releaseUnit(unit: number, token: number, now: number): Promise<(QueueKey & { job: string; ramMb: number }) | undefined>;
  /** A job with no running unit left goes back to Queued. */
  requeueJob(job: string): Promise<void>;
  setProgress(unit: number, token: number, progress: { done: number; total: number; message?: string }): Promise<string | undefined>;
  setStatusText(unit: number, token: number, text: string): Promise<string | undefined>;

  expiredUnits(now: number): Promise<ExpiredRow[]>;
  abortUnit(unit: number): Promise<void>;
  /** A unit whose worker vanished goes back to its queue, counted as lost, not as an attempt. */
  requeueLostUnit(unit: number, now: number): Promise<QueueKey & { ramMb: number }>;
  /** A unit lost too often fails; returns its index. */
  failLostUnit(unit: number, reason: string, now: number): Promise<number>;
  noteLost(job: string): Promise<void>;
  /** Queued units whose RAM exceeds `ramMb`, or that are exclusive (when `exclusive`), with their job and pool. */
  unplaceableCandidates(ramMb: number, exclusive: boolean): Promise<Array<{ job: string; ramMb: number; exclusive: boolean; pool: string }>>;
  /** Sets a queued job's waiting note; false when it already said so (or the job is not queued). */
  setNote(job: string, note: string): Promise<boolean>;
  /** Queued jobs whose note says no worker could hold them. */
  notedUnplaceable(): Promise<string[]>;
  clearNote(job: string): Promise<boolean>;

  insertWorker(info: WorkerInfo): Promise<void>;
  deleteWorker(id: string): Promise<void>;
  /** Extends the leases of these running units of the worker; returns the ones it still holds, with their abort flags. */
  heartbeat(worker: string, units: number[], leaseUntil: number, now: number): Promise<Array<{ id: number; abortRequested: boolean }>>;

  /** Removes jobs with their units; returns the parents they leave. */
  deleteJobs(ids: string[]): Promise<Array<string | null>>;
  /** Removes a group if it holds nothing; returns its parent (null for a root), or undefined when it stays. */
  deleteGroupIfEmpty(id: string): Promise<string | null | undefined>;
  deleteEventsThrough(seq: number, limit: number): Promise<number>;
  setMeta(key: string, value: string): Promise<void>;

  /** A Waiting job may run: its environ becomes `environ`, its units join their queues (returned), it is Queued. */
  releaseWaiting(job: string, environ: Environ, now: number): Promise<Array<QueueKey & { ramMb: number }>>;
  /** A Waiting job ends without running (what it waited for failed, or was aborted). */
  endWaiting(job: string, status: 'Failed' | 'Aborted', reason: string, now: number): Promise<boolean>;

  /** Appends a control message to a job; returns its number (1, 2, ... per job). */
  insertMessage(job: string, body: unknown, now: number): Promise<number>;
  /** Units (their tokens still current) have taken their messages through `seq`. */
  advanceMessages(units: Array<{ unit: number; token: number; seq: number }>): Promise<void>;

  /** Records that a user took these nodes out of their moi view. */
  hideNodes(owner: string, nodes: string[]): Promise<void>;

  /** Outbox items become due when their jobs end. */
  outboxDue(jobs: string[], now: number): Promise<void>;
  claimOutbox(kind: string, limit: number, leaseUntil: number, dueBy: number, now: number): Promise<OutboxItem[]>;
  finishOutbox(id: number, state: 'done' | 'due' | 'failed', error: string | null, nextAt: number | null, now: number, sentFor: number | null): Promise<void>;
  postponeOutbox(id: number, nextAt: number): Promise<void>;

  insertUser(user: { name: string; role: string; email: string | null; accounts: string[]; tokenHash: string }, now: number): Promise<void>;
  updateUser(name: string, patch: { role?: string; email?: string | null; accounts?: string[]; tokenHash?: string }): Promise<boolean>;
  deleteUser(name: string): Promise<boolean>;
}

/** Queries that only read; outside a transaction each sees a consistent state of its own. */
export interface ReadTx {
  getNode(id: string): Promise<(NodeInfo & { environ?: Environ; output?: Environ | null; units?: UnitSummary[] }) | undefined>;
  listNodes(filter: NodeFilter): Promise<NodeInfo[]>;
  units(job: string): Promise<UnitInfo[]>;
  users(): Promise<Array<{ owner: string; group: string | null; jobs: number }>>;
  liveWorkers(since: number): Promise<WorkerInfo[]>;
  abortRequests(worker: string): Promise<number[]>;
  /**
   * What the fair-share planner needs, in one consistent read: the non-empty queues, the running
   * units, the rows of the owners of either, and whether delayed units are due (`due`: promote them,
   * then read again).
   */
  queueState(now: number): Promise<{
    due: boolean;
    queues: Array<QueueKey & { queued: number; since: number }>;
    running: Array<{ pool: string; owner: string; class: UnitClass; startedAt: number }>;
    owners: OwnerRow[];
  }>;
  /** Running units and the RAM they take, per worker. */
  workerLoads(): Promise<Array<{ worker: string; running: number; ramMb: number }>>;
  /** Jobs started and ended in [since, before), counted per class and slot (time / stepMs, floored). */
  jobCounts(since: number, before: number, stepMs: number): Promise<JobCounts>;
  findGroup(parent: string | null, name: string): Promise<{ id: string; owner: string } | undefined>;
  /** Ended jobs whose time is up: ended before now − keepMs, or before now − their own keep. */
  expiredJobs(now: number, keepMs: number, limit: number): Promise<string[]>;
  /** The queue counts kept, and the queued units counted (they must agree; for the driver test suite). */
  queueCounts(): Promise<{ kept: Array<QueueKey & { queued: number }>; real: Array<QueueKey & { queued: number }> }>;
  eventsAfter(seq: number, limit: number): Promise<StoreEvent[]>;
  /** One node's events, oldest first. */
  eventsOf(node: string, limit: number): Promise<StoreEvent[]>;
  hiddenNodes(owner: string): Promise<string[]>;
  lastSeq(): Promise<number>;
  /** The first event younger than `at` (its seq), or undefined when none is. */
  firstEventAfter(at: number): Promise<number | undefined>;
  countEventsThrough(seq: number): Promise<number>;
  getMeta(key: string): Promise<string | undefined>;
  /** Waiting jobs that wait for any of these jobs. */
  dependentsOf(jobs: string[]): Promise<Array<{ job: string; afterAny: boolean }>>;
  /** What a job waits for, as those jobs stand now, and whether it runs after any outcome. */
  depStates(job: string): Promise<{ afterAny: boolean; deps: Array<{ dep: string; status: JobStatus; result: unknown; output: Environ | null }> }>;
  /** The control messages these units (running, token current) have not taken. */
  pendingMessages(units: Array<{ unit: number; token: number }>): Promise<Array<{ unit: number; seq: number; body: unknown }>>;
  /** What a job's outbox holds for it (its callback, its mail), oldest first. */
  outboxOf(job: string): Promise<Array<Delivery & { kind: string; only_failures: boolean }>>;
  /** Whether this address's digest for this digest time has gone out. */
  digestSent(address: string, at: number): Promise<boolean>;
  listUsers(): Promise<UserInfo[]>;
  userWhere(by: 'name' | 'token', value: string): Promise<UserInfo | undefined>;
  /** Jobs per status, and the first start and last end over all jobs (benchmarks, metrics). */
  jobStats(): Promise<{ byStatus: Partial<Record<JobStatus, number>>; firstStart: number | null; lastEnd: number | null }>;
}

export interface Driver {
  /** What `doctor` shows: the kind of database, its version, where it is. */
  readonly description: string;
  /** Runs `fn` in one write transaction; a driver error comes out as a StoreError naming the database and the cause. */
  transaction<T>(fn: (tx: WriteTx) => Promise<T>): Promise<T>;
  /**
   * `transaction`, and the change mark a caller that read inside it should sleep since: the count as
   * the transaction began, plus its own commit. A change another process made while it ran wakes
   * that caller at once (it may not have seen it); its own commit does not.
   */
  transactionWithMark<T>(fn: (tx: WriteTx) => Promise<T>): Promise<{ result: T; mark: number }>;
  /** Runs reads that must agree with each other (one snapshot). */
  snapshot<T>(fn: (tx: ReadTx) => Promise<T>): Promise<T>;
  /** Plain reads. */
  readonly read: ReadTx;
  /** The change count (see ChangeNotifier): this process's commits and other processes' as they are seen. */
  changeMark(): number;
  waitForChange(timeoutMs: number, signal?: AbortSignal, since?: number): Promise<void>;
  close(): Promise<void>;
}

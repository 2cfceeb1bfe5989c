import type { Environ, Report } from '../environ/index.js';

/**
 * The persistence contract. The SQLite store (embedded default) and the PostgreSQL store implement
 * it and pass one conformance suite (test/store/conformance.ts). Every method that changes state
 * appends its events in the same transaction.
 */

/** moi's statuses. */
export type JobStatus = 'Queued' | 'Running' | 'Success' | 'Failed' | 'Aborted';
export const TERMINAL: ReadonlySet<JobStatus> = new Set(['Success', 'Failed', 'Aborted']);

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
  progress: { done: number; total: number; message?: string } | null;
  attempts: number;
  max_attempts: number;
  /** ms since the epoch */
  date_created: number;
  date_start: number | null;
  date_end: number | null;
  /** the job's value (see environ/result.ts), or the failure's traceback text */
  result: unknown;
  /** why a job failed or waits, in one line */
  error: string | null;
}

/** A whole job: its info plus the environ it was given and the one it returned. */
export interface JobRecord extends NodeInfo {
  environ: Environ;
  output: Environ | null;
}

export interface NewJob {
  owner: string;
  environ: Environ;
  name?: string;
  /** group path from a root, e.g. "alice/analysis-7"; default: the owner's root group */
  group?: string;
  tags?: string[];
  priority?: number;
  /** how many times a unit may be started before its job fails (lost workers count) */
  maxAttempts?: number;
}

export interface JobFilter {
  owner?: string;
  status?: JobStatus;
  tag?: string;
  /** only direct children of this group */
  parent?: string;
  type?: 'job' | 'group';
  limit?: number;
}

/** A unit handed to a worker. `token` fences it: only the holder of the current token may finish it. */
export interface ClaimedUnit {
  unit: number;
  token: number;
  job: string;
  environ: Environ;
  attempt: number;
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
}

export interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
  concurrency: number;
  started_at: number;
  heartbeat_at: number;
}

/** One appended change. `info` is the node's info after the change. */
export interface StoreEvent {
  seq: number;
  at: number;
  verb: 'add' | 'update';
  id: string;
  owner: string;
  info: NodeInfo;
}

export interface HeartbeatAnswer {
  /** units this worker still holds; a running unit not listed here was taken away and must stop */
  held: number[];
  /** held units whose job was aborted: stop them */
  abort: number[];
}

export interface Store {
  /** Adds jobs (groups made on demand) in one transaction; returns their ids in order. */
  submit(jobs: NewJob[]): Promise<string[]>;
  get(id: string): Promise<JobRecord | NodeInfo | null>;
  list(filter?: JobFilter): Promise<NodeInfo[]>;
  /** Owners with their root group id and job count. */
  users(): Promise<Array<{ owner: string; group: string | null; jobs: number }>>;
  /** Aborts a job: queued units never run, running ones are flagged for their worker to kill. */
  abort(id: string): Promise<JobRecord>;

  registerWorker(info: Omit<WorkerInfo, 'id' | 'started_at' | 'heartbeat_at'> & { id?: string }): Promise<string>;
  unregisterWorker(id: string): Promise<void>;
  /** Extends the leases of the worker's running units; answers which it holds and which to abort. */
  heartbeat(worker: string, leaseMs: number): Promise<HeartbeatAnswer>;
  liveWorkers(withinMs: number): Promise<WorkerInfo[]>;
  /** Running units of this worker whose job was aborted (a cheap read, for prompt kills). */
  abortRequests(worker: string): Promise<number[]>;
  /** Takes up to `limit` runnable units for `worker`, in order (priority, then age). */
  claim(worker: string, limit: number, leaseMs: number): Promise<ClaimedUnit[]>;
  /** Takes the units of one job (to run it in-process when no worker is alive). */
  claimJob(worker: string, job: string, leaseMs: number): Promise<ClaimedUnit[]>;
  /** Records results; a stale token changes nothing. Returns, per outcome, whether it was recorded. */
  complete(outcomes: UnitOutcome[]): Promise<boolean[]>;
  /** complete() then claim() in one transaction: the worker's hot path. */
  completeAndClaim(worker: string, finished: UnitOutcome[], limit: number, leaseMs: number): Promise<{ recorded: boolean[]; claimed: ClaimedUnit[] }>;
  /** Gives units back to the queue without charging an attempt (graceful shutdown). */
  release(units: Array<{ unit: number; token: number }>): Promise<void>;
  /** Records a progress or status report from a running unit. */
  report(unit: number, token: number, report: Report): Promise<void>;
  /** Re-queues units whose lease ran out (or fails their job when attempts are exhausted). */
  reapExpired(): Promise<number>;

  /** Events after `seq`, oldest first. */
  eventsAfter(seq: number, limit?: number): Promise<StoreEvent[]>;
  lastSeq(): Promise<number>;
  /** Resolves when another process may have changed the store, or after `timeoutMs`. */
  waitForChange(timeoutMs: number, signal?: AbortSignal): Promise<void>;
  close(): Promise<void>;
}

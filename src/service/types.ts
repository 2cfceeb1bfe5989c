import type { JobFilter, JobRecord, NewJob, NodeInfo, PruneReport, Role, StoreEvent, UnitInfo, UserInfo, WorkerView } from '../store/index.js';

/**
 * A job to submit: as the store takes it, except that the service decides exclusivity from the job
 * type, and the owner may be left out (the local default owner; on a server, the signed-in user).
 */
export type SubmitRequest = Omit<NewJob, 'exclusive' | 'owner'> & { owner?: string };

/** One line of `sluice fairshare`. */
export interface FairshareRow {
  /** the worker pool: fair share holds within each, so an owner active in two has a row in each */
  pool: string;
  owner: string;
  share: number;
  /** decayed usage now, seconds */
  usage: number;
  factor: number;
  running: number;
  queued: number;
  /** strict rank (sioworkersd's contest_priority; default 0): a higher one is served first */
  rank: number;
  /**
   * The owner's queue that comes first in the fair-share order (its pool and class, how long its
   * oldest unit has waited), with its score and what the score is made of: class weight × factor × age bonus. Null
   * when nothing of the owner's is queued.
   */
  next: { pool: string; class: string; waited_ms: number; score: number; weight: number; age_bonus: number } | null;
}

/**
 * One line of a stream: the current state first (`get`, then one `sync`), then every change. A
 * watcher that asks for (or falls behind to) events that pruning removed gets `resync` with the
 * sequence number through which events are gone, then the current state again.
 */
export type StreamItem =
  | { verb: 'get'; id: string; info: NodeInfo }
  | { verb: 'sync'; seq: number }
  | { verb: 'resync'; seq: number }
  | { verb: 'add' | 'update'; seq: number; at: number; id: string; info: NodeInfo };

export interface StreamFilter {
  owner?: string;
  job?: string;
  tag?: string;
  status?: NodeInfo['status'];
  /** jobs (the default for the current state; changes of groups pass unless 'job' is asked), groups, or both */
  type?: 'job' | 'group' | 'any';
}

export interface StreamOptions {
  /** the changes after this sequence number only (no current state first) */
  since?: number;
  signal?: AbortSignal;
  /**
   * After a pruning, answer `resync` and the current state again, as for a watcher that fell
   * behind: a mirror (the moi bridge) learns that way which nodes are gone.
   */
  resyncOnPrune?: boolean;
}

export interface WaitOptions {
  timeoutMs?: number;
  /** called with the job's info whenever it changes */
  onChange?: (info: NodeInfo) => void;
  signal?: AbortSignal;
}

/** Who a service acts for: the signed-in user on a server; locally, this machine's user. */
export interface Principal {
  name: string;
  role: Role;
  /** fair-share accounts an admin granted besides their own name */
  accounts: string[];
}

/** A user with their token, which is shown once (only its hash is kept). */
export interface NewUser {
  user: UserInfo;
  token: string;
}

export interface UserPatch {
  role?: Role;
  email?: string | null;
  accounts?: string[];
}

/** An owner with their root group and job count (`sluice users`, moi's users). */
export interface OwnerSummary {
  owner: string;
  group: string | null;
  jobs: number;
}

/**
 * The one API that the CLI, the HTTP server and programs call (PARK's service): the same whether it
 * talks to a store in this process (`LocalService`) or to a server over HTTP (`RemoteService`).
 * Errors are the SluiceError classes (NotFoundError, UsageError, ConflictError, TimeoutError,
 * ForbiddenError, ...) in both cases, so a caller's handling (and the CLI's exit codes) hold.
 */
export interface Service {
  submit(requests: SubmitRequest[]): Promise<string[]>;
  get(id: string): Promise<JobRecord | NodeInfo>;
  list(filter?: JobFilter): Promise<NodeInfo[]>;
  /** A group by its path ("alice/analysis-7"); NotFoundError when there is none. */
  group(path: string): Promise<NodeInfo>;
  users(): Promise<OwnerSummary[]>;
  /** Resolves with the record once the job has ended; TimeoutError after `timeoutMs`. */
  wait(id: string, options?: WaitOptions): Promise<JobRecord>;
  abort(id: string): Promise<JobRecord>;
  /** A control message to a queued or running job (PARK's control); refused for a job that ended. */
  control(id: string, message: unknown): Promise<{ seq: number }>;
  /** Current state of matching jobs, then each change; with `since`, the changes after that seq only. */
  stream(filter: StreamFilter, options?: StreamOptions): AsyncIterable<StreamItem>;
  units(id: string): Promise<UnitInfo[]>;
  /** A job's events, oldest first (its history). */
  events(id: string): Promise<StoreEvent[]>;
  /** Why each queued job of `infos` waits (behind whom, for what), by job id. */
  waitReasons(infos: NodeInfo[]): Promise<Map<string, string>>;
  /** Per pool (only `pool`'s when given), owners by fair-share factor, as that pool's workers rank them. */
  fairshare(pool?: string): Promise<FairshareRow[]>;
  setShare(owner: string, share: number): Promise<void>;
  /** Removes ended jobs past their retention, and old events (see Store.prune). */
  prune(options?: { olderThanMs?: number; dryRun?: boolean }): Promise<PruneReport>;
  /** Live workers (`sluice workers`). */
  workers(): Promise<WorkerView[]>;
  /** Who this service acts for. */
  whoami(): Promise<Principal>;
  addUser(name: string, options?: UserPatch): Promise<NewUser>;
  listUsers(): Promise<UserInfo[]>;
  setUser(name: string, patch: UserPatch): Promise<UserInfo>;
  removeUser(name: string): Promise<void>;
  /** A new token for a user; the old one stops working. */
  newToken(name: string): Promise<string>;
  close(): Promise<void>;
}

/** What only a service in this process can do (PARK's local service). */
export interface LocalExtension {
  /** Whether some worker process is alive to take jobs. */
  workersAlive(): Promise<boolean>;
  /** Runs a job's units here, in this process (used by `submit --block` when no worker is alive). */
  runHere(id: string): Promise<void>;
}

export type { StoreEvent };

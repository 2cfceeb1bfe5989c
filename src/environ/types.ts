import type { Inbox } from './inbox.js';

/**
 * The environ contract (from SIO2 sioworkers): a job is a JSON object in and the same object out.
 * These types are the bottom of Sluice; every other layer speaks them.
 */

/** A JSON value, as stored and transported. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** An environ: a JSON object with at least `job_type` when it is run. */
export interface Environ {
  [key: string]: unknown;
  job_type?: string;
  prefilters?: string[];
  postfilters?: string[];
  result?: 'SUCCESS' | 'FAILURE';
  exception?: string;
  traceback?: string;
  worker?: string;
}

/** What a running job tells the outside world: moi's status callback and PARK's progress k of n. */
export type Report =
  | { kind: 'progress'; done: number; total: number; message?: string }
  | { kind: 'status'; text: string };

/** How a job reaches the files its environ names (local paths, or the file store). */
export interface FileAccess {
  /** Copies the file named by `environ[key]` to `dest` (relative to the job's folder); returns the absolute path. */
  download(environ: Environ, key: string, dest: string, opts?: { addToCache?: boolean }): Promise<string>;
  /** Stores the file `source` (relative to the job's folder) under the name in `environ[key]`; returns the stored (possibly versioned) name. */
  upload(environ: Environ, key: string, source: string, opts?: { toRemote?: boolean }): Promise<string>;
}

/** Everything a job gets besides its environ. */
/** Which job and unit a run belongs to (absent for a bare `run()`, as in `sluice batch`). */
export interface RunIdentity {
  /** the job's id */
  job: string;
  /** the unit's index (a map job's input index; 0 otherwise) */
  unit: number;
  /** who submitted the job */
  owner: string;
}

export interface JobContext {
  /** The job and unit this run belongs to, when a worker runs it. */
  readonly identity?: RunIdentity;
  /** The run's private working folder, created on first use and removed after the run. */
  readonly tmpdir: string;
  /** Aborted when the job is aborted or its worker shuts down; a job must stop promptly when it fires. */
  readonly signal: AbortSignal;
  /** Reports progress: `done` of `total` units of work, with an optional message. */
  progress(done: number, total: number, message?: string): void;
  /** Sets the job's free-text status (moi's status callback). */
  status(text: string): void;
  /** File access for this environ (local paths or the file store). */
  readonly files: FileAccess;
  /** Control messages sent to the job (`sluice control ID JSON`), in order, until the run ends. */
  messages(): AsyncIterable<unknown>;
  /** Calls `listener` with each control message (those that came before, first). */
  on(event: 'message', listener: (message: unknown) => void): void;
  /** Where the run's control messages arrive (for job types that pass them on to a process). */
  readonly inbox: Inbox;
}

/** A job: takes the environ and its context, returns the environ (or mutates it and returns nothing). */
export type JobFn = (environ: Environ, ctx: JobContext) => Environ | void | Promise<Environ | void>;

/** A filter: takes the environ, returns it (sioworkers' pre- and postfilters). */
export type FilterFn = (environ: Environ) => Environ | void | Promise<Environ | void>;

/** Keys the runner itself reads or writes; they are not part of a job's own result. */
export const BOOKKEEPING_KEYS: ReadonlySet<string> = new Set([
  'job_type', 'prefilters', 'postfilters', 'result', 'exception', 'traceback', 'worker',
]);

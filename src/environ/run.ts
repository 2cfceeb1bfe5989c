import os from 'node:os';
import type { Environ, FileAccess, JobContext, Report, RunIdentity } from './types.js';
import type { Registry } from './registry.js';
import { assertEnviron } from './parse.js';
import { Workdir } from './workdir.js';
import { LocalFiles } from './localFiles.js';
import { Inbox } from './inbox.js';

export interface RunOptions {
  registry: Registry;
  /** Fires when the job must stop (abort, shutdown). */
  signal?: AbortSignal;
  /** Receives progress and status reports from the job. */
  report?: (report: Report) => void;
  /** File access for this run; default: local paths relative to cwd. */
  files?: (workdir: () => string, environ: Environ) => FileAccess;
  /** The job and unit this run belongs to (a worker sets it). */
  identity?: RunIdentity;
  /** Where the worker puts the unit's control messages; closed here when the run ends. */
  inbox?: Inbox;
  /** The name written to `worker`; default: the host name. */
  hostname?: string;
  /** Where the run's private folder is made (SLUICE_TMPDIR); default: the system's temp folder. */
  tmpdir?: string | undefined;
}

const HOSTNAME = os.hostname();
const NEVER = new AbortController().signal;

/**
 * Runs one environ (sioworkers' runner.run): prefilters, the job, postfilters; `result` is SUCCESS
 * or FAILURE, with `exception` and `traceback` on failure. It never throws for a job's trouble
 * (unknown job type or filter included): only an input that is not an object is refused.
 * The input object itself is not modified; the returned environ is a new object.
 */
export async function run(input: unknown, options: RunOptions): Promise<Environ> {
  // A shallow copy: the caller's object stays as it was given (the worker compares against it).
  let environ: Environ = { ...assertEnviron(input) };
  const workdir = new Workdir(options.tmpdir);
  const signal = options.signal ?? NEVER;
  const report = options.report ?? (() => {});
  const inbox = options.inbox ?? new Inbox();
  let files: FileAccess | undefined;
  const ctx: JobContext = {
    ...(options.identity ? { identity: options.identity } : {}),
    get tmpdir() {
      return workdir.path;
    },
    signal,
    progress: (done, total, message) => report({ kind: 'progress', done, total, ...(message === undefined ? {} : { message }) }),
    status: (text) => report({ kind: 'status', text: String(text) }),
    get files() {
      return (files ??= (options.files ?? defaultFiles)(() => workdir.path, environ));
    },
    inbox,
    messages: () => inbox,
    on: (event, listener) => {
      if (event === 'message') inbox.forward(listener);
    },
  };
  try {
    const jobType = environ.job_type;
    if (typeof jobType !== 'string' || jobType === '') throw new TypeError('environ has no "job_type"');
    for (const name of listOf(environ.prefilters, 'prefilters')) {
      environ = (await (await options.registry.filter(name))(environ)) ?? environ;
    }
    environ.worker = options.hostname ?? HOSTNAME;
    const job = await options.registry.job(jobType);
    environ = (await job(environ, ctx)) ?? environ;
    environ.result = 'SUCCESS';
  } catch (err) {
    environ.result = 'FAILURE';
    environ.exception = describe(err);
    environ.traceback = traceOf(err);
  } finally {
    inbox.close();
    await workdir.dispose();
  }
  try {
    for (const name of listOf(environ.postfilters, 'postfilters')) {
      environ = (await (await options.registry.filter(name))(environ)) ?? environ;
    }
  } catch (err) {
    environ.result = 'FAILURE';
    environ.exception = describe(err);
    environ.traceback = traceOf(err);
  }
  environ.worker ??= options.hostname ?? HOSTNAME;
  return environ;
}

function defaultFiles(workdir: () => string): FileAccess {
  return new LocalFiles(workdir);
}

function listOf(value: unknown, key: string): string[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
  throw new TypeError(`environ "${key}" must be a list of filter names`);
}

function describe(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}

function traceOf(err: unknown): string {
  if (err instanceof Error && err.stack) return err.stack;
  return describe(err);
}

import type { Environ } from '../environ/index.js';
import { UsageError } from '../environ/index.js';

/** What one run may use. Times in ms, memory in KiB, output in bytes; 0 = no limit. */
export interface Limits {
  /** CPU time of the whole process tree (threads and children count). */
  timeMs: number;
  /** Wall-clock time from start to end. */
  realTimeMs: number;
  /** Peak resident memory. */
  memKb: number;
  /** Bytes the program may write to its standard output (and to any one file). */
  outputBytes: number;
  /** Processes and threads at once (the run's own; the sandbox's two are added). */
  processes: number;
  /** Bytes the program may add to its box and /tmp (sandboxed runs: docs/sandbox.md, "Disk"). */
  diskBytes: number;
}

/** `*_disk_limit`'s default (INTERFACE.md: exec_disk_limit). */
export const DEFAULT_DISK_BYTES = 256 * 1024 * 1024;

/** sioworkers' defaults for an exec when a limit is missing or falsy (notes §2.3). */
export const EXEC_DEFAULTS: Limits = {
  timeMs: 30_000,
  realTimeMs: 0, // derived from timeMs, see realTimeFor()
  memKb: 64 * 1024,
  outputBytes: 50 * 1024 * 1024,
  processes: 16,
  diskBytes: DEFAULT_DISK_BYTES,
};

/** Checker defaults (notes §3.4): 30 s, 256 MiB. */
export const CHECKER_DEFAULTS: Limits = {
  timeMs: 30_000,
  realTimeMs: 0,
  memKb: 256 * 1024,
  outputBytes: 1024 * 1024,
  processes: 16,
  diskBytes: DEFAULT_DISK_BYTES,
};

/** The default wall limit: generous against the CPU limit, so only a program that waits is stopped by it. */
export function realTimeFor(timeMs: number): number {
  return timeMs * 3 + 1000;
}

/**
 * Reads `<prefix>time_limit`, `<prefix>mem_limit`, `<prefix>real_time_limit`, `<prefix>output_limit`,
 * `<prefix>process_limit` and `<prefix>disk_limit` from the environ, with defaults for missing or
 * zero values.
 */
export function limitsFrom(environ: Environ, prefix: string, defaults: Limits): Limits {
  const timeMs = positive(environ, `${prefix}time_limit`) ?? defaults.timeMs;
  const real = positive(environ, `${prefix}real_time_limit`);
  return {
    timeMs,
    realTimeMs: real ?? (defaults.realTimeMs || realTimeFor(timeMs)),
    memKb: positive(environ, `${prefix}mem_limit`) ?? defaults.memKb,
    outputBytes: positive(environ, `${prefix}output_limit`) ?? defaults.outputBytes,
    processes: positive(environ, `${prefix}process_limit`) ?? defaults.processes,
    diskBytes: positive(environ, `${prefix}disk_limit`) ?? defaults.diskBytes,
  };
}

function positive(environ: Environ, key: string): number | undefined {
  const value = environ[key];
  if (value === undefined || value === null || value === 0 || value === '') return undefined;
  const n = typeof value === 'string' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n) || n < 0) {
    throw new UsageError(`environ "${key}" must be a non-negative number, got ${JSON.stringify(value)}`);
  }
  return n === 0 ? undefined : Math.ceil(n);
}

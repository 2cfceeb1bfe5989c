import type { NewJob, StoreOptions } from './types.js';
import { DEFAULTS, UsageError } from '../environ/index.js';
import { isPriorityClass } from '../schedule/index.js';

/** A store's settings when its opener names none (environ/config.ts DEFAULTS; the lease is the live-worker window). */
export const DEFAULT_STORE_OPTIONS: Readonly<StoreOptions> = Object.freeze({
  halfLifeMs: DEFAULTS.halfLifeMs,
  liveWorkerMs: DEFAULTS.leaseMs,
  maxLost: DEFAULTS.maxLost,
  retentionMs: DEFAULTS.retentionMs,
  maxEnvironBytes: DEFAULTS.maxEnvironBytes,
});

/** The wait before retry number `attempt` of a failed unit: 1 s, 2 s, 4 s, ... at most 10 minutes. */
export function backoffMs(attempt: number): number {
  return Math.min(600_000, 1000 * 2 ** Math.max(0, attempt - 1));
}

/** Checks a job before anything is stored; the message says what is wrong and with which value. */
export function validateNewJob(job: NewJob, options: Pick<StoreOptions, 'maxEnvironBytes'> = DEFAULT_STORE_OPTIONS): void {
  if (typeof job.owner !== 'string' || job.owner === '' || job.owner.includes('/')) {
    throw new UsageError(`owner must be a non-empty name without "/", got ${JSON.stringify(job.owner)}`);
  }
  if (job.environ === null || typeof job.environ !== 'object' || Array.isArray(job.environ)) throw new UsageError('environ must be a JSON object');
  if (job.priority !== undefined && !Number.isInteger(job.priority)) throw new UsageError(`priority must be an integer, got ${job.priority}`);
  if (job.class !== undefined && !isPriorityClass(job.class)) throw new UsageError(`class must be nice, normal or urgent, got "${job.class}"`);
  if (job.maxLost !== undefined && (!Number.isInteger(job.maxLost) || job.maxLost < 1)) throw new UsageError(`max lost must be a positive integer, got ${job.maxLost}`);
  if (job.retries !== undefined && (!Number.isInteger(job.retries) || job.retries < 0)) throw new UsageError(`retries must be a whole number, got ${job.retries}`);
  if (job.tags !== undefined && !job.tags.every((t) => typeof t === 'string')) throw new UsageError('tags must be strings');
  if (job.inputs !== undefined && (!Array.isArray(job.inputs) || job.inputs.length === 0)) throw new UsageError('inputs must be a non-empty list');
  if (job.ramMb !== undefined && !(job.ramMb >= 0)) throw new UsageError(`ram must be a number of MiB, got ${job.ramMb}`);
  if (job.runAfter !== undefined && !Number.isFinite(job.runAfter)) throw new UsageError(`the start time must be a time, got ${job.runAfter}`);
  if (job.pool !== undefined) poolName(job.pool);
  if (job.notify !== undefined) emailAddress(job.notify.address);
  if (job.callbackUrl !== undefined && !/^https?:\/\/\S+$/.test(job.callbackUrl)) throw new UsageError(`a callback must be an http:// or https:// URL, got ${JSON.stringify(job.callbackUrl)}`);
  if (job.keepMs !== undefined && !(job.keepMs >= 0 && Number.isFinite(job.keepMs))) throw new UsageError(`keep must be a duration, got ${job.keepMs}`);
  if (job.account !== undefined && (typeof job.account !== 'string' || job.account === '')) throw new UsageError(`account must be a name, got ${JSON.stringify(job.account)}`);
  checkEnvironSize(job, options.maxEnvironBytes);
}

/** An environ (with the largest input of a map job) may hold at most `max` bytes of JSON: files belong in the file store. */
function checkEnvironSize(job: NewJob, max: number): void {
  const bytes = (value: unknown) => {
    try {
      return Buffer.byteLength(JSON.stringify(value) ?? '');
    } catch {
      throw new UsageError('the environ cannot be stored as JSON');
    }
  };
  let largestInput = 0;
  for (const input of job.inputs ?? []) largestInput = Math.max(largestInput, bytes(input));
  const size = bytes(job.environ) + largestInput;
  if (size > max) {
    throw new UsageError(`the environ is ${mib(size)} of JSON, more than the ${mib(max)} allowed (SLUICE_MAX_ENVIRON); put large data in the file store (sluice files put) and name it in the environ`);
  }
}

function mib(bytes: number): string {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MiB` : `${bytes} bytes`;
}

/** The names of a group path ("alice/analysis-7"), each checked. */
export function groupPathParts(text: string): string[] {
  const parts = text.split('/').filter((p) => p !== '');
  if (!parts.length) throw new UsageError(`group path "${text}" has no group names`);
  for (const p of parts) {
    if (p.length > 200) throw new UsageError(`group name "${p.slice(0, 20)}..." is longer than 200 characters`);
  }
  return parts;
}

/** A pool's name: letters, digits and . _ - (it names a queue and shows in records). */
export function poolName(text: string): string {
  if (typeof text !== 'string' || !/^[\w.-]{1,100}$/.test(text)) throw new UsageError(`a pool name is 1-100 letters, digits, ".", "_" or "-", got ${JSON.stringify(text)}`);
  return text;
}

/** An e-mail address as a person writes it (one @, something on each side, a dot in the domain): refused at submit, not when the mail bounces. */
export function emailAddress(text: string): string {
  if (typeof text !== 'string' || !/^[^\s@<>(),;:"]+@[^\s@<>(),;:"]+\.[^\s@<>(),;:".]+$/.test(text)) throw new UsageError(`not an e-mail address: ${JSON.stringify(text)}`);
  return text;
}

/** A LIKE pattern matching values that contain `text`, its wildcards escaped with a backslash (both drivers use ESCAPE '\\'). */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

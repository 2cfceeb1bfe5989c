import type { NewJob } from './types.js';
import { UsageError } from '../environ/index.js';

/** A unit may be started this many times (lost workers included) before its job fails; retries add to it. */
export const DEFAULT_MAX_ATTEMPTS = 3;

const CLASSES = new Set(['nice', 'normal', 'urgent']);

/** The wait before retry number `attempt` of a failed unit: 1 s, 2 s, 4 s, ... at most 10 minutes. */
export function backoffMs(attempt: number): number {
  return Math.min(600_000, 1000 * 2 ** Math.max(0, attempt - 1));
}

/** Checks a job before anything is stored; the message says what is wrong and with which value. */
export function validateNewJob(job: NewJob): void {
  if (typeof job.owner !== 'string' || job.owner === '' || job.owner.includes('/')) {
    throw new UsageError(`owner must be a non-empty name without "/", got ${JSON.stringify(job.owner)}`);
  }
  if (job.environ === null || typeof job.environ !== 'object' || Array.isArray(job.environ)) throw new UsageError('environ must be a JSON object');
  if (job.priority !== undefined && !Number.isInteger(job.priority)) throw new UsageError(`priority must be an integer, got ${job.priority}`);
  if (job.class !== undefined && !CLASSES.has(job.class)) throw new UsageError(`class must be nice, normal or urgent, got "${job.class}"`);
  if (job.maxAttempts !== undefined && (!Number.isInteger(job.maxAttempts) || job.maxAttempts < 1)) {
    throw new UsageError(`max attempts must be a positive integer, got ${job.maxAttempts}`);
  }
  if (job.retries !== undefined && (!Number.isInteger(job.retries) || job.retries < 0)) throw new UsageError(`retries must be a whole number, got ${job.retries}`);
  if (job.tags !== undefined && !job.tags.every((t) => typeof t === 'string')) throw new UsageError('tags must be strings');
  if (job.inputs !== undefined && (!Array.isArray(job.inputs) || job.inputs.length === 0)) throw new UsageError('inputs must be a non-empty list');
  if (job.ramMb !== undefined && !(job.ramMb >= 0)) throw new UsageError(`ram must be a number of MiB, got ${job.ramMb}`);
  if (job.runAfter !== undefined && !Number.isFinite(job.runAfter)) throw new UsageError(`the start time must be a time, got ${job.runAfter}`);
}

import type { Environ } from '../../environ/index.js';
import type { JobTally, JobUpdate, UnitOutcomeRow } from '../driver.js';
import type { JobStatus, UnitSummary } from '../types.js';

/** One job's share of a batch of finished units. */
export interface JobBatch {
  done: number;
  failed: number;
  aborted: boolean;
  /** the environ of the batch's last unit (a single-unit job's output) */
  output: Environ | null;
  result: unknown;
  /** the last failure's message and the index of its unit */
  error: string | null;
  unit: number | null;
}

export function emptyBatch(): JobBatch {
  return { done: 0, failed: 0, aborted: false, output: null, result: null, error: null, unit: null };
}

/** Whether this batch ends the job: all its units done, an abort, or a failed unit of a fail-fast job. */
export function endsJob(t: JobTally, b: JobBatch): boolean {
  return b.aborted || t.unitsDone + b.done >= t.unitsTotal || (b.failed > 0 && t.failFast);
}

/**
 * A job's record after a batch of its units finished: moi's statuses derived from its units (Aborted;
 * Failed at the first failure of a fail-fast job, else when all ended and one failed; Success when
 * all succeeded; Running or Queued while some remain), k of n progress for a map job, and at the end
 * its result: a single unit's value, or a map job's positional list (null where a unit failed) with
 * each unit's outcome. A job that has ended is never passed here (its record is fixed).
 */
export function jobUpdate(t: JobTally, b: JobBatch, outcomes: UnitOutcomeRow[] | undefined, now: number): JobUpdate {
  const done = t.unitsDone + b.done;
  const failed = t.unitsFailed + b.failed;
  const ended = endsJob(t, b);
  let status: JobStatus;
  if (b.aborted) status = 'Aborted';
  else if (b.failed > 0 && t.failFast) status = 'Failed';
  else if (done < t.unitsTotal) status = t.unitsRunning > 0 ? 'Running' : 'Queued';
  else status = failed > 0 ? 'Failed' : 'Success';
  const update: JobUpdate = { id: t.id, status, unitsDone: done, unitsFailed: failed };
  if (ended) update.dateEnd = now;
  if (b.error !== null) update.error = t.map ? `unit ${b.unit}: ${b.error}` : b.error;
  if (!t.map) {
    update.output = b.output;
    update.result = b.result;
    return update;
  }
  update.progress = { done, total: t.unitsTotal };
  if (ended && outcomes) {
    update.result = outcomes.map((u) => (u.state === 'done' ? u.result : null));
    update.unitOutcomes = outcomes.map(summaryOf);
  }
  return update;
}

/** A unit's outcome in its job's record; one not finished when the job ended is Aborted (it is stopped). */
function summaryOf(u: UnitOutcomeRow): UnitSummary {
  if (u.state === 'done') return { index: u.idx, status: 'Success', result: u.result };
  return { index: u.idx, status: u.state === 'failed' ? 'Failed' : 'Aborted', error: u.error };
}

import { randomUUID } from 'node:crypto';
import { UsageError, type Environ } from '../../environ/index.js';

/** The priorities are stored as 32-bit integers. */
const INT32 = 2 ** 31 - 1;

/** A group env as oioioi sends it to sioworkersd (notes-sioworkers.md §7.1), checked. */
export interface GroupEnv extends Environ {
  workers_jobs: Record<string, Environ>;
  group_id: string;
}

/** How a group is placed in Sluice's fair share (docs/sio2.md, "Priorities"). */
export interface GroupPlacement {
  /** `contest:<id>`, or undefined for work outside a contest (the client's own account) */
  account: string | undefined;
  /** `contest_weight`: the account's share */
  weight: number;
  /** `contest_priority`: strict between contests */
  priority: number;
}

/**
 * The argument of `run_group` / `sync_run_group`: the group env as a JSON string (what oioioi sends
 * today) or as an XML-RPC struct (older oioioi), as sioworkersd's `escape_arguments` takes both.
 * Gives the group its `group_id` and every job its `group_id` and `task_id` (sioworkersd's
 * `_prepare_group`). A malformed env is a UsageError naming what is wrong (an XML-RPC fault).
 */
export function prepareGroup(arg: unknown): GroupEnv {
  let env: unknown = arg;
  if (typeof arg === 'string') {
    try {
      env = JSON.parse(arg);
    } catch (err) {
      throw new UsageError(`the group env is not JSON: ${(err as Error).message}`);
    }
  }
  if (!isObject(env)) throw new UsageError('the group env must be an object (a JSON string or a struct) with workers_jobs');
  const jobs = env.workers_jobs;
  if (!isObject(jobs)) throw new UsageError('the group env needs workers_jobs: {key: environ}');
  for (const [key, job] of Object.entries(jobs)) {
    if (!isObject(job)) throw new UsageError(`workers_jobs.${key} must be an environ (an object)`);
    if (typeof job.job_type !== 'string' || !job.job_type) throw new UsageError(`workers_jobs.${key} has no job_type`);
  }
  if (env.return_url !== undefined && !isHttpUrl(env.return_url)) throw new UsageError(`return_url must be an http(s) URL, got ${JSON.stringify(env.return_url)}`);
  const groupId = `GROUP_urn:uuid:${randomUUID()}`;
  const workers = Object.fromEntries(Object.entries(jobs as Record<string, Environ>).map(([key, job]) => [key, { ...job, group_id: groupId, task_id: `urn:uuid:${randomUUID()}` }]));
  return { ...env, group_id: groupId, workers_jobs: workers };
}

/** Where the group's jobs go in fair share: `contest_id`, `contest_weight` (≥ 1, default 1), `contest_priority` (default 0). */
export function placementOf(env: Environ): GroupPlacement {
  const id = env.contest_id;
  const weight = env.contest_weight ?? 1;
  const priority = env.contest_priority ?? 0;
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0) throw new UsageError(`contest_weight must be a number above 0, got ${JSON.stringify(weight)}`);
  if (typeof priority !== 'number' || !Number.isInteger(priority) || Math.abs(priority) > INT32) throw new UsageError(`contest_priority must be an integer (32-bit), got ${JSON.stringify(priority)}`);
  const account = id === undefined || id === null || id === '' ? undefined : `contest:${String(id)}`;
  return { account, weight, priority };
}

/** A job's `task_priority` (an integer, default 0): its order within its contest. */
export function taskPriority(key: string, job: Environ): number {
  const p = job.task_priority ?? 0;
  if (typeof p !== 'number' || !Number.isInteger(p) || Math.abs(p) > INT32) throw new UsageError(`workers_jobs.${key}.task_priority must be an integer (32-bit), got ${JSON.stringify(p)}`);
  return p;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isHttpUrl(v: unknown): boolean {
  if (typeof v !== 'string') return false;
  try {
    const u = new URL(v);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

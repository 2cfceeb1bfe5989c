import { UsageError, type Environ } from '../../environ/index.js';
import { ramNeedMb } from '../../schedule/index.js';
import type { AccessPolicy, LocalService, Principal, SubmitRequest } from '../../service/index.js';
import { placementOf, prepareGroup, taskPriority, type GroupEnv } from './groupEnv.js';

/** The job type of a group's answer (src/jobs/sioworkersdGroup.ts). */
export const GROUP_JOB_TYPE = 'sioworkersd-group';

/**
 * sioworkersd's task manager on Sluice's queue. A group becomes one Sluice job per entry of
 * `workers_jobs` (owned by the signed-in client, in the contest's fair-share account, ordered by
 * `task_priority`) and one `sioworkersd-group` job that waits for them all and puts the answer
 * together; a `run_group` answer goes to `return_url` through the server's callback sender, which
 * sends it as sioworkersd does. Everything lives in the store: a group waiting to run and a group
 * waiting to be returned survive a restart (sioworkersd's `to_judge` and `to_return`).
 */
export class SioworkersdGroups {
  constructor(
    private readonly service: LocalService,
    private readonly policy: AccessPolicy,
  ) {}

  /** `run_group(env)`: queues the group and answers its id at once; the answer goes to `return_url`. */
  async run(principal: Principal, arg: unknown): Promise<string> {
    const env = prepareGroup(arg);
    if (typeof env.return_url !== 'string') throw new UsageError('run_group needs return_url (where the results are POSTed); sync_run_group answers them instead');
    await this.submit(principal, env, env.return_url);
    return env.group_id;
  }

  /** `sync_run_group(env)`: the group env with `workers_jobs.results` (or `error`), once every job has ended. */
  async runSync(principal: Principal, arg: unknown, signal?: AbortSignal): Promise<Environ> {
    const env = prepareGroup(arg);
    const id = await this.submit(principal, env, undefined);
    const record = await this.service.wait(id, signal ? { signal } : {});
    return answerOf(record.output, env, record.error);
  }

  /** The group's jobs, then its answer job waiting for them; the answer job's id. */
  private async submit(principal: Principal, env: GroupEnv, returnUrl: string | undefined): Promise<string> {
    const place = placementOf(env);
    const owner = principal.name;
    const tooBig = await this.tooBig(env);
    const entries = Object.entries(env.workers_jobs);
    const requests: SubmitRequest[] = entries.map(([key, job]) => ({
      owner,
      environ: this.policy.admit(principal, job, owner, undefined),
      name: key,
      tags: ['sioworkersd', ...(place.account ? [place.account] : [])],
      priority: taskPriority(key, job),
      ...(place.account ? { account: place.account } : {}),
    }));
    if (place.account) await this.service.setShare(place.account, place.weight, place.priority);
    // A group one of whose jobs no worker could hold is not run: its answer says so at once (sioworkersd checks up front).
    const ids = tooBig ? [] : await this.service.submit(requests);
    const keys = Object.fromEntries(entries.map(([key], i) => [key, ids[i]]).filter(([, id]) => id !== undefined));
    const group: Environ = tooBig ? { ...env, error: { message: tooBig, traceback: '' } } : env;
    const [answer] = await this.service.submit([
      {
        owner,
        environ: { job_type: GROUP_JOB_TYPE, group, keys },
        name: env.group_id,
        tags: ['sioworkersd', 'sioworkersd-group', ...(place.account ? [place.account] : [])],
        // First in its contest once released: it only reads what its jobs returned.
        priority: 1_000_000_000,
        ramMb: 0,
        ...(ids.length ? { after: ids, afterAny: true } : {}),
        ...(returnUrl ? { callbackUrl: returnUrl } : {}),
        ...(place.account ? { account: place.account } : {}),
      },
    ]);
    return answer!;
  }

  /** Why the group cannot run: a job that needs more RAM than any live worker offers (null when all fit, or no worker is up yet). */
  private async tooBig(env: GroupEnv): Promise<string | null> {
    const workers = await this.service.workers();
    if (!workers.length) return null;
    const most = Math.max(...workers.map((w) => w.ram_mb));
    for (const [key, job] of Object.entries(env.workers_jobs)) {
      const need = ramNeedMb(job);
      if (need > most) return `Task ${key} (${String(job.job_type)}) needs ${need} MiB of RAM; the largest worker offers ${most} MiB`;
    }
    return null;
  }
}

/** The group env a `sioworkersd-group` job answered, or the group with `error` when that job itself failed. */
export function answerOf(output: Environ | null, env: GroupEnv, error: string | null): Environ {
  const group = output?.group;
  if (group && typeof group === 'object' && !Array.isArray(group)) return group as Environ;
  return { ...env, 'workers_jobs.results': {}, error: { message: error ?? 'the group ended without an answer', traceback: typeof output?.traceback === 'string' ? output.traceback : '' } };
}

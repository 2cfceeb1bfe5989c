import { UsageError, type Environ } from '../environ/index.js';

/** What a job waited for looks like in `environ.after` (the store's release). */
interface Ended {
  status: string;
  result?: unknown;
  output?: Environ | null;
}

const RULE = `${'='.repeat(80)}\n`;

/**
 * `sioworkersd-group`: the answer to a sioworkersd group (`run_group`, `sync_run_group`), put
 * together once every job of the group has ended. The server submits one per group, waiting for
 * the group's jobs whatever their outcome (`after`, `after_any`), so that a group, its jobs and its
 * answer all live in the store and survive a restart (sioworkersd's `to_judge` and `to_return`).
 *
 * In: `group` (the group env as the client sent it, with `group_id`), `keys` (`{key: job id}`) and,
 * from the store, `after`. Out: `group` with `workers_jobs.results` `{key: the job's environ}` for
 * every job that succeeded and, when one failed or was aborted, `error {message, traceback}` in
 * sioworkersd's words ("Some tasks in a group failed." and each failure's exception and traceback).
 * `after` is dropped: the results are in `group`.
 */
export function sioworkersdGroup(environ: Environ): Environ {
  const group = environ.group;
  const keys = environ.keys;
  const after = (environ.after ?? {}) as Record<string, Ended>;
  if (!group || typeof group !== 'object' || Array.isArray(group)) throw new UsageError('sioworkersd-group needs "group", the group env');
  if (!keys || typeof keys !== 'object' || Array.isArray(keys)) throw new UsageError('sioworkersd-group needs "keys", {key: job id}');
  const results: Record<string, Environ> = {};
  const failed: string[] = [];
  for (const [key, id] of Object.entries(keys as Record<string, string>)) {
    const ended = after[id];
    if (ended?.status === 'Success' && ended.output) results[key] = ended.output;
    else failed.push(failure(key, id, ended));
  }
  const answer: Environ = { ...(group as Environ), 'workers_jobs.results': results };
  if (failed.length) {
    answer.error = { message: `Some tasks in a group failed.\n\n${failed.join(RULE)}`, traceback: failed.join(RULE) };
  }
  environ.group = answer;
  delete environ.after;
  return environ;
}

/** One failed job as sioworkersd's MultiException lists it: "Exception: message" and its traceback. */
function failure(key: string, id: string, ended: Ended | undefined): string {
  if (!ended) return `Exception: job ${id} (${key}) was not waited for\n`;
  const output = ended.output ?? {};
  const message = typeof output.exception === 'string' ? output.exception : `job ${id} (${key}) ended ${ended.status}`;
  const traceback = typeof output.traceback === 'string' ? output.traceback : typeof ended.result === 'string' ? ended.result : '';
  return `Exception: ${message}\n${traceback}${traceback.endsWith('\n') || !traceback ? '' : '\n'}`;
}

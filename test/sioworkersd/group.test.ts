import { describe, expect, it } from 'vitest';
import { run } from '../../src/environ/index.js';
import { builtinRegistry } from '../../src/jobs/index.js';

/* The job that answers a sioworkersd group once its jobs have ended, through the runner (as a worker runs it). */
describe('sioworkersd-group', () => {
  const registry = builtinRegistry();
  const group = { group_id: 'GROUP_urn:uuid:1', contest_id: 'c1', return_url: 'http://x/', submission_id: 7, 'workers_jobs.extra_args': { a: 1 }, workers_jobs: { t1: { job_type: 'ping' }, t2: { job_type: 'ping' } } };

  it('every job done: workers_jobs.results by key, the rest of the group env as given, no error', async () => {
    const out = await run({
      job_type: 'sioworkersd-group', group, keys: { t1: 'J1', t2: 'J2' },
      after: { J1: { status: 'Success', result: null, output: { job_type: 'ping', pong: 1, task_id: 'a' } }, J2: { status: 'Success', result: null, output: { job_type: 'ping', pong: 2 } } },
    }, { registry });
    expect(out.result).toBe('SUCCESS');
    expect(out.after).toBeUndefined();
    expect(out.group).toEqual({ ...group, 'workers_jobs.results': { t1: { job_type: 'ping', pong: 1, task_id: 'a' }, t2: { job_type: 'ping', pong: 2 } } });
  });

  it('a job that failed or was aborted: error {message, traceback} as sioworkersd words it, the others\' results kept', async () => {
    const out = await run({
      job_type: 'sioworkersd-group', group, keys: { t1: 'J1', t2: 'J2', t3: 'J3' },
      after: {
        J1: { status: 'Success', output: { pong: 1 } },
        J2: { status: 'Failed', result: 'Traceback: at x', output: { result: 'FAILURE', exception: 'exec: no "exe_file" in the environ', traceback: 'TypeError: no exe_file\n    at exec' } },
        J3: { status: 'Aborted', result: null, output: null },
      },
    }, { registry });
    const answer = out.group as Record<string, { message: string; traceback: string }>;
    expect(answer['workers_jobs.results']).toEqual({ t1: { pong: 1 } });
    expect(answer.error!.message).toMatch(/^Some tasks in a group failed\.\n\nException: exec: no "exe_file" in the environ\nTypeError: no exe_file\n {4}at exec\n=+\nException: job J3 \(t3\) ended Aborted\n$/);
    expect(answer.error!.traceback).toContain('TypeError: no exe_file');
  });

  it('without its group or keys it is a FAILURE saying which', async () => {
    expect(await run({ job_type: 'sioworkersd-group', keys: {} }, { registry })).toMatchObject({ result: 'FAILURE', exception: expect.stringMatching(/needs "group"/) });
    expect(await run({ job_type: 'sioworkersd-group', group: {} }, { registry })).toMatchObject({ result: 'FAILURE', exception: expect.stringMatching(/needs "keys"/) });
  });
});

import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { SQLITE } from '../helpers/backends.js';
import { until } from '../helpers/cli.js';
import { requireProgram } from '../helpers/require.js';
import { api, startServe, type Served } from '../helpers/server.js';

/*
 * sioworkersd's contests in Sluice's fair share (docs/sio2.md, "Priorities"): each contest is the
 * account contest:<id> with its contest_weight as share, so under load (both contests with work
 * queued) a contest of weight 2 gets twice the runs of a contest of weight 1.
 */
const python = requireProgram('python3', 'python3');
const CLIENT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'oioioi.py');
const run = promisify(execFile);
const PER_CONTEST = 45;

async function call(rpc: string, method: string, env: unknown): Promise<unknown> {
  const { stdout } = await run(python, [CLIENT, 'call', rpc, method, JSON.stringify(env)], { timeout: 120_000 });
  return JSON.parse(stdout);
}

function rpcUrl(served: Served): string {
  return /sioworkersd's XML-RPC at (http:\/\/\S+\/) /.exec(served.log())![1]!;
}

describe('contests share the workers by their weight', () => {
  it('under load, a contest of weight 2 gets twice the throughput of a contest of weight 1', async () => {
    const home = SQLITE.fresh();
    let served: Served | undefined;
    try {
      // Both contests' groups are queued before a worker starts, so that both have work all along.
      served = await startServe(home.env, ['--no-auth', '--no-workers', '--sioworkersd-port', '0']);
      // Equal units of 50 ms (usage is charged by the seconds units run; near-empty units would make it noise).
      const jobs = (tag: string) => Object.fromEntries(Array.from({ length: PER_CONTEST }, (_, i) => [`${tag}${i}`, { job_type: 'system', cmd: 'sleep 0.05', n: i }]));
      const returnUrl = 'http://127.0.0.1:9/'; // nobody: the results are read from Sluice here
      await call(rpcUrl(served), 'run_group', { workers_jobs: jobs('heavy'), return_url: returnUrl, contest_id: 'heavy', contest_weight: 2 });
      await call(rpcUrl(served), 'run_group', { workers_jobs: jobs('light'), return_url: returnUrl, contest_id: 'light', contest_weight: 1 });
      expect(await served.stop()).toBe(0);

      // One worker slot: the order in which units start is the fair-share order.
      served = await startServe(home.env, ['--no-auth', '--workers', '1']);
      const s = served;
      const ended = await until(async () => {
        const list = await api(s.url, null, 'GET', '/api/v1/jobs?tag=sioworkersd&type=system&status=Success&limit=1000');
        return list.body.jobs.length === 2 * PER_CONTEST ? (list.body.jobs as Array<{ name: string; date_start: number | string }>) : undefined;
      }, 300_000, 'every job run');
      const order = ended.sort((a, b) => Date.parse(String(a.date_start)) - Date.parse(String(b.date_start))).map((j) => (j.name.startsWith('heavy') ? 'H' : 'L'));
      // While both still have work queued: the first PER_CONTEST runs (the light contest's share of them is 1/3).
      const window = order.slice(0, PER_CONTEST);
      const heavy = window.filter((c) => c === 'H').length;
      const light = window.length - heavy;
      expect({ heavy, light, ratio: heavy / light, order: order.join('') }).toMatchObject({ ratio: expect.toSatisfy((r: number) => r >= 1.6 && r <= 2.5) });
    } finally {
      await served?.stop();
      home.cleanup();
    }
  }, 600_000);

  it('contest_priority is strict: a contest of higher priority runs all its queued work first, whatever the weights', async () => {
    const home = SQLITE.fresh();
    let served: Served | undefined;
    try {
      served = await startServe(home.env, ['--no-auth', '--no-workers', '--sioworkersd-port', '0']);
      const jobs = (tag: string) => Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`${tag}${i}`, { job_type: 'ping', ping: i }]));
      const returnUrl = 'http://127.0.0.1:9/';
      await call(rpcUrl(served), 'run_group', { workers_jobs: jobs('low'), return_url: returnUrl, contest_id: 'practice', contest_priority: 0, contest_weight: 1000 });
      await call(rpcUrl(served), 'run_group', { workers_jobs: jobs('high'), return_url: returnUrl, contest_id: 'final', contest_priority: 10, contest_weight: 1 });
      // sluice fairshare (and GET /api/v1/fairshare) list the accounts as the planner serves them.
      const rows = (await api(served.url, null, 'GET', '/api/v1/fairshare')).body;
      expect(rows.owners.map((r: { owner: string; rank: number; share: number; queued: number }) => [r.owner, r.rank, r.share, r.queued])).toEqual([
        ['contest:final', 10, 1, 12],
        ['contest:practice', 0, 1000, 12],
      ]);
      expect(await served.stop()).toBe(0);
      served = await startServe(home.env, ['--no-auth', '--workers', '1']);
      const s = served;
      const ended = await until(async () => {
        const list = await api(s.url, null, 'GET', '/api/v1/jobs?tag=sioworkersd&type=ping&status=Success&limit=1000');
        return list.body.jobs.length === 24 ? (list.body.jobs as Array<{ name: string; date_start: number | string }>) : undefined;
      }, 300_000, 'every job run');
      const order = ended.sort((a, b) => Date.parse(String(a.date_start)) - Date.parse(String(b.date_start))).map((j) => (j.name.startsWith('high') ? 'H' : 'L')).join('');
      expect(order).toBe(`${'H'.repeat(12)}${'L'.repeat(12)}`);
    } finally {
      await served?.stop();
      home.cleanup();
    }
  }, 600_000);
});

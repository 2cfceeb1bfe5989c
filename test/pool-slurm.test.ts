import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatLocalTime } from '../src/environ/index.js';
import { SqliteStore, type Store } from '../src/store/index.js';
import { exited, sluice, startWorker, until } from './helpers/cli.js';
import { startSlurm, type Slurm } from './helpers/slurm.js';
import { api, startServe } from './helpers/server.js';

/**
 * Pools inside a real Slurm allocation (one node: this machine). The store is a SQLite file in a
 * folder every node reaches (here the one node shares this machine's disk); a real cluster uses
 * PostgreSQL or a server URL, passed to the workers the same way, through the script's environment.
 */
describe('sluice pool slurm, on a real Slurm', () => {
  let slurm: Slurm;
  let dir: string;
  const stores: Store[] = [];
  beforeAll(async () => {
    slurm = await startSlurm();
    dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-pool-'));
  }, 90_000);
  afterAll(async () => {
    for (const s of stores) await s.close();
    await slurm?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  /** A store and the environment a user has on the login node; UNIT_SLEEP reaches `system` units through SLUICE_JOB_ENV. */
  function setup(name: string, unitSleep: string) {
    const home = path.join(dir, name);
    const file = path.join(dir, `${name}.db`);
    const store = new SqliteStore(file);
    stores.push(store);
    const env = { ...process.env, ...slurm.env, SLUICE_HOME: home, SLUICE_STORE: file, SLUICE_USER: '', SLUICE_JOB_ENV: 'UNIT_SLEEP', UNIT_SLEEP: unitSleep };
    return { store, env };
  }
  const pools = async (env: NodeJS.ProcessEnv) => JSON.parse((await sluice(['pool', 'ls', '--json'], env)).stdout) as Array<{ id: string; state: string; owner: string | null; ends_at: string }>;
  const statuses = async (store: Store, ids: string[]) => Promise.all(ids.map(async (id) => (await store.get(id))!.status));
  const allAre = (store: Store, ids: string[], status: string, timeoutMs: number) =>
    until(async () => ((await statuses(store, ids)).every((s) => s === status) ? true : undefined), timeoutMs, `${ids.length} job(s) ${status}`);
  const logOf = (id: string) => {
    const file = path.join(dir, `sluice-pool-${id}.out`);
    return existsSync(file) ? readFileSync(file, 'utf8') : '';
  };

  it("a private pool runs its owner's 100 jobs and nobody else's; stopped mid-job, it gives its units back and they run elsewhere", async () => {
    const { store, env } = setup('private', '60');
    const bobs = await store.submit(Array.from({ length: 3 }, () => ({ owner: 'bob', environ: { job_type: 'ping' } })));
    const alices = await store.submit(Array.from({ length: 100 }, (_, n) => ({ owner: 'alice', environ: { job_type: 'system', cmd: `echo ${n}` } })));

    const submitted = await sluice(['pool', 'slurm', '--nodes', '1', '--cpus-per-node', '2', '--time', '5', '--owner', 'alice', '--grace', '2', '--submit'], env, undefined, dir);
    expect(submitted.code, submitted.stderr).toBe(0);
    const id = submitted.stdout.trim();
    expect(id).toMatch(/^\d+$/);
    expect((await pools(env)).find((p) => p.id === id)).toMatchObject({ owner: 'alice' });

    await allAre(store, alices, 'Success', 90_000);
    expect((await store.get(alices[42]!))!.result).toMatchObject({ stdout: '42\n', return_code: 0 });
    expect(await statuses(store, bobs)).toEqual(['Queued', 'Queued', 'Queued']);

    // The worker names its allocation, and stops a minute before the allocation's end (read from Slurm inside it).
    const pool = (await pools(env)).find((p) => p.id === id)!;
    expect(pool.state).toBe('RUNNING');
    const line = (await sluice(['pool', 'ls'], env)).stdout.split('\n').find((l) => l.startsWith(`id: ${id}\t`));
    expect(line).toMatch(new RegExp(`^id: ${id}\tstate: RUNNING\tnodes: 1 \\(${os.hostname()}\\)\towner: alice\tuser: \\S+\tpartition: debug\tstarted: \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.000\tends: ${formatLocalTime(Date.parse(pool.ends_at)).replace('.', '\\.')}$`));
    const log = logOf(id);
    expect(log).toContain(`slurm_job=${id}`);
    expect(log).toContain("only alice's units");
    expect(log).toContain(`stops at ${formatLocalTime(Date.parse(pool.ends_at) - 60_000)}`);

    const long = await store.submit(Array.from({ length: 2 }, () => ({ owner: 'alice', environ: { job_type: 'system', cmd: 'sleep "${UNIT_SLEEP:-0}"; echo done' } })));
    await allAre(store, long, 'Running', 30_000);
    const stopped = await sluice(['pool', 'stop', id], env);
    expect(stopped).toMatchObject({ code: 0, stdout: `pool ${id} is stopping: its workers give their running units back and exit\n` });
    await until(async () => ((await pools(env)).some((p) => p.id === id) ? undefined : true), 60_000, 'the pool to leave the queue');
    expect(logOf(id)).toContain('gave back 2 unfinished unit(s)');
    for (const id of long) expect(await store.get(id)).toMatchObject({ status: 'Queued', attempts: 0, lost: 0 });

    // Elsewhere: a worker outside Slurm, where the units do not sleep.
    const elsewhere = await startWorker({ ...env, UNIT_SLEEP: '0' }, ['--owner', 'alice']);
    try {
      await allAre(store, long, 'Success', 30_000);
      for (const id of long) expect(await store.get(id)).toMatchObject({ attempts: 1, lost: 0, result: { stdout: 'done\n' } });
    } finally {
      elsewhere.kill('SIGTERM');
      await exited(elsewhere);
    }
  }, 240_000);

  it("a pool for a server: its workers reach only the server's URL, with a token that is never written into the script", async () => {
    const home = path.join(dir, 'served');
    const served = await startServe({ ...process.env, SLUICE_HOME: home, SLUICE_STORE: '', SLUICE_USER: '' }, ['--no-workers']);
    try {
      // The login node's environment names no store: only the server.
      const env = { ...process.env, ...slurm.env, SLUICE_HOME: path.join(dir, 'login'), SLUICE_STORE: '', SLUICE_USER: '' };
      const script = path.join(dir, 'served.sh');
      const submitted = await sluice(['pool', 'slurm', '--url', served.url, '--token', served.token!, '--nodes', '1', '--cpus-per-node', '2', '--time', '5', '--idle-exit', '20s', '--script', script, '--submit'], env, undefined, dir);
      expect(submitted.code, submitted.stderr).toBe(0);
      const id = submitted.stdout.trim();
      const text = readFileSync(script, 'utf8');
      expect(text).toContain(`export SLUICE_URL='${served.url}'`);
      expect(text).not.toContain('SLUICE_STORE');
      expect(text).not.toContain(served.token!);
      const { body } = await api(served.url, served.token, 'POST', '/api/v1/jobs', { jobs: Array.from({ length: 20 }, (_, n) => ({ environ: { job_type: 'system', cmd: `echo ${n}` } })) });
      for (const [n, job] of (body.ids as string[]).entries()) {
        const done = await api(served.url, served.token, 'GET', `/api/v1/jobs/${job}/wait?timeout=90`);
        expect(done.body).toMatchObject({ status: 'Success', result: { stdout: `${n}\n` } });
      }
      // The pool's worker shows its Slurm job in `sluice workers`, asked of the server.
      const workers = await sluice(['workers', '--url', served.url, '--token', served.token!], env);
      expect(workers.stdout).toMatch(new RegExp(`labels: slurm_job=${id}`));
      expect((await sluice(['pool', 'stop', id], env)).code).toBe(0);
      await until(async () => ((await pools(env)).some((p) => p.id === id) ? undefined : true), 60_000, 'the pool to end');
      expect(logOf(id)).toContain(`for the server ${served.url}`);
    } finally {
      await served.stop();
    }
  }, 180_000);

  it('an idle pool ends its allocation by itself', async () => {
    const { env } = setup('idle', '0');
    const submitted = await sluice(['pool', 'slurm', '--nodes', '1', '--cpus-per-node', '1', '--time', '10m', '--owner', 'carol', '--idle-exit', '2s', '--submit'], env, undefined, dir);
    const id = submitted.stdout.trim();
    expect(id, submitted.stderr).toMatch(/^\d+$/);
    await until(async () => ((await pools(env)).some((p) => p.id === id) ? undefined : true), 60_000, 'the idle pool to end');
    expect(logOf(id)).toMatch(/idle for \ds: stopping/);
    expect(slurm.run('scontrol', ['show', 'job', id])).toContain('JobState=COMPLETED');
  }, 90_000);

  it('Slurm refusing what was asked, and an unknown pool, are one-line errors', async () => {
    const { env } = setup('errors', '0');
    const bad = await sluice(['pool', 'slurm', '--nodes', '1', '--time', '5', '--partition', 'nosuch', '--submit'], env, undefined, dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim().split('\n').at(-1)).toMatch(/^sluice: sbatch failed: .*invalid partition/i);
    const unknown = await sluice(['pool', 'stop', '999999'], env);
    expect(unknown).toMatchObject({ code: 3, stderr: 'sluice: no pool with Slurm job id 999999 (sluice pool ls lists them)\n' });
  });
});

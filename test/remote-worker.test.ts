import { existsSync, readdirSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { freshHome, sluice, startWorker, until } from './helpers/cli.js';
import { BACKENDS } from './helpers/backends.js';
import { freePort } from './helpers/ports.js';
import { api, startServe, type Served } from './helpers/server.js';

/**
 * `sluice worker --url URL --token T`: a worker on a machine that cannot reach the store, working
 * for a server over its worker protocol (POST /api/v1/worker/NAME). Each worker here has a home of
 * its own with no store in it, as another machine would.
 */
describe.each(BACKENDS)('workers of a server on $name', (backend) => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  const serve = async (args: string[] = []): Promise<{ server: Served; home: ReturnType<typeof backend.fresh> }> => {
    const home = backend.fresh();
    cleanups.push(home.cleanup);
    const server = await startServe(home.env, ['--no-workers', ...args]);
    cleanups.push(() => server.stop());
    return { server, home };
  };
  /** Another machine: its own home, no SLUICE_STORE, the server's URL and token. */
  const remoteWorker = async (server: { url: string }, token: string | null, args: string[] = []) => {
    const machine = freshHome();
    cleanups.push(machine.cleanup);
    const env = { ...machine.env, SLUICE_URL: server.url, SLUICE_TOKEN: token ?? '' };
    const child = await startWorker(env, args);
    cleanups.push(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
    return { child, home: machine.home, env };
  };

  it('runs the jobs submitted to the server, once each, and opens no store of its own', async () => {
    const { server } = await serve();
    const a = await remoteWorker(server, server.token, ['--concurrency', '4', '--label', 'rack=7']);
    const b = await remoteWorker(server, server.token, ['--concurrency', '4']);
    expect(a.child.log()).toMatch(new RegExp(`for the server ${server.url.replace(/[.:/]/g, '\\$&')}`));
    const { body } = await api(server.url, server.token, 'POST', '/api/v1/jobs', {
      jobs: Array.from({ length: 60 }, (_, n) => ({ owner: n % 2 ? 'alice' : 'bob', environ: { job_type: 'js', n, cmd: 'return environ.n * 2' } })),
    });
    const ids: string[] = body.ids;
    const system = await api(server.url, server.token, 'POST', '/api/v1/jobs', { environ: { job_type: 'system', cmd: 'echo from "$(hostname)"' } });
    for (const id of [...ids, system.body.id]) {
      const done = await api(server.url, server.token, 'GET', `/api/v1/jobs/${id}/wait?timeout=60`);
      expect(done.body.status).toBe('Success');
    }
    const records = await Promise.all(ids.map((id) => api(server.url, server.token, 'GET', `/api/v1/jobs/${id}`)));
    expect(records.map((r) => r.body.result)).toEqual(ids.map((_, n) => n * 2));
    expect(records.every((r) => r.body.attempts === 1)).toBe(true);
    // Both took work; `sluice workers --url` shows them with their labels.
    const workers = await sluice(['workers', '--json'], a.env);
    expect(workers.code).toBe(0);
    const listed = JSON.parse(workers.stdout) as Array<{ labels: Record<string, string>; concurrency: number }>;
    expect(listed).toHaveLength(2);
    expect(listed.map((w) => w.labels.rack ?? null).sort()).toEqual(['7', null]);
    for (const machine of [a, b]) expect(readdirSync(machine.home).filter((f) => f.startsWith('sluice.db'))).toEqual([]);
    expect(existsSync(`${a.home}/sluice.db`)).toBe(false);
  }, 120_000);

  it('a worker killed with -9 mid-job: its unit runs again on another worker after the lease', async () => {
    const { server } = await serve();
    const first = await remoteWorker(server, server.token, ['--lease', '1']);
    const { body } = await api(server.url, server.token, 'POST', '/api/v1/jobs', { environ: { job_type: 'js', cmd: 'await new Promise((r) => setTimeout(r, 1500)); return "done"' } });
    await until(async () => ((await api(server.url, server.token, 'GET', `/api/v1/jobs/${body.id}`)).body.status === 'Running' ? true : undefined), 20_000, 'running');
    first.child.kill('SIGKILL');
    await remoteWorker(server, server.token, ['--lease', '1']);
    const done = await api(server.url, server.token, 'GET', `/api/v1/jobs/${body.id}/wait?timeout=60`);
    expect(done.body).toMatchObject({ status: 'Success', result: 'done', attempts: 1, lost: 1 });
  }, 60_000);

  it('rides out a server restart: store errors while it is down, then the queued jobs run', async () => {
    const port = await freePort();
    const home = backend.fresh();
    cleanups.push(home.cleanup);
    let server = await startServe(home.env, ['--no-workers', '--port', String(port)]);
    cleanups.push(() => server.stop());
    const worker = await remoteWorker(server, server.token);
    const token = server.token;
    await server.stop();
    await until(() => (/store error/.test(worker.child.log()) ? true : undefined), 20_000, 'the worker to see the server gone');
    expect(worker.child.exitCode).toBeNull();
    server = await startServe(home.env, ['--no-workers', '--port', String(port)]);
    const { body } = await api(server.url, token, 'POST', '/api/v1/jobs', { environ: { job_type: 'js', cmd: 'return 42' } });
    const done = await api(server.url, token, 'GET', `/api/v1/jobs/${body.id}/wait?timeout=60`);
    expect(done.body).toMatchObject({ status: 'Success', result: 42 });
    await until(() => (/answers again/.test(worker.child.log()) ? true : undefined), 10_000, 'the worker to say the store answers again');
  }, 90_000);

  it("only an admin's token makes a worker: another role, no token or a wrong one is one clear line and exit", async () => {
    const { server, home } = await serve();
    const added = await sluice(['users', 'add', 'carol', '--role', 'trusted', '--json'], home.env);
    expect(added.code).toBe(0);
    const carol = JSON.parse(added.stdout).token as string;
    const machine = freshHome();
    cleanups.push(machine.cleanup);
    const run = (token: string) => sluice(['worker', '--url', server.url, ...(token ? ['--token', token] : [])], machine.env);
    const trusted = await run(carol);
    expect(trusted.code).not.toBe(0);
    expect(trusted.stderr).toMatch(/^sluice: a worker needs an admin's token \(carol is trusted\)/m);
    for (const token of ['', 'sluice_wrong']) {
      const refused = await run(token);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr.trim().split('\n').filter((l) => l.startsWith('sluice:'))).toHaveLength(1);
    }
    // The protocol refuses a call a worker does not make, and bad arguments, without harm.
    expect(await api(server.url, server.token, 'POST', '/api/v1/worker/submit', { args: [[]] })).toMatchObject({ status: 404, body: { error: 'not_found' } });
    expect(await api(server.url, server.token, 'POST', '/api/v1/worker/heartbeat', { args: 'x' })).toMatchObject({ status: 400 });
    expect(await api(server.url, server.token, 'POST', '/api/v1/worker/waitForChange', { args: ['soon'] })).toMatchObject({ status: 400 });
    expect(await api(server.url, server.token, 'GET', '/healthz')).toMatchObject({ status: 200 });
  }, 60_000);
});

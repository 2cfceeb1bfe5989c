import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, exited, freshHome, sluice, until } from './helpers/cli.js';
import { BACKENDS } from './helpers/backends.js';
import { freePort } from './helpers/ports.js';
import { api, startServe, type Served } from './helpers/server.js';

type Line = { verb: string; seq?: number; id?: string; info?: { status: string | null; name: string } };

/** `sluice watch ARGS` running, its stdout read as JSON lines. */
function watch(args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess; lines: Line[]; err: () => string } {
  const child = spawn(process.execPath, [BIN, 'watch', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Line[] = [];
  let pending = '';
  let err = '';
  child.stdout!.on('data', (d) => {
    pending += d;
    for (let nl = pending.indexOf('\n'); nl >= 0; nl = pending.indexOf('\n')) {
      lines.push(JSON.parse(pending.slice(0, nl)));
      pending = pending.slice(nl + 1);
    }
  });
  child.stderr!.on('data', (d) => (err += d));
  return { child, lines, err: () => err };
}

/**
 * The CLI against a server (`--url`/`--token`, or SLUICE_URL/SLUICE_TOKEN), from a machine with
 * no store of its own: each command works as it does locally, as the signed-in user.
 */
describe.each(BACKENDS)('the CLI over the network on $name', (backend) => {
  let server: Served;
  let home: ReturnType<typeof backend.fresh>;
  let client: ReturnType<typeof freshHome>;
  let remote: NodeJS.ProcessEnv;
  let alice: string;
  beforeAll(async () => {
    home = backend.fresh();
    server = await startServe(home.env, ['--workers', '2']);
    alice = (await api(server.url, server.token, 'POST', '/api/v1/users', { name: 'alice', role: 'user' })).body.token;
    client = freshHome();
    remote = { ...client.env, SLUICE_URL: server.url, SLUICE_TOKEN: alice };
  });
  afterAll(async () => {
    await server?.stop();
    home?.cleanup();
    client?.cleanup();
  });

  it('submit, job, jobs, wait, abort, control and the errors, as the signed-in user; no store is made here', async () => {
    const submitted = await sluice(['submit', '--job-type', 'ping', '--set', 'ping="far"', '--name', 'far', '--tag', 'net', '--json'], remote);
    expect(submitted).toMatchObject({ code: 0, stderr: '' });
    const { id } = JSON.parse(submitted.stdout) as { id: string };
    expect(await sluice(['wait', id, '--timeout', '30'], remote)).toMatchObject({ code: 0 });
    const job = JSON.parse((await sluice(['job', id, '--json'], remote)).stdout);
    expect(job).toMatchObject({ id, name: 'far', owner: 'alice', status: 'Success', result: { pong: 'far' }, tags: ['net'] });
    // The flags name the server as well as the variables do.
    const flags = await sluice(['jobs', '--tag', 'net', '--json', '--url', server.url, '--token', alice], client.env);
    expect(JSON.parse(flags.stdout).map((j: { id: string }) => j.id)).toEqual([id]);
    // --block waits for the job through the API and prints its record.
    const blocked = await sluice(['submit', '--job-type', 'ping', '--set', 'ping=2', '--block', '--json'], remote);
    expect(blocked.code).toBe(0);
    expect(JSON.parse(blocked.stdout)).toMatchObject({ status: 'Success', result: { pong: 2 }, owner: 'alice' });
    // A job that cannot run yet: aborted over the network, after which wait exits 1 and control is refused.
    const later = (await sluice(['submit', '--job-type', 'ping', '--delay', '1h'], remote)).stdout.trim();
    expect(await sluice(['control', later, '{"hello": 1}'], remote)).toMatchObject({ code: 0 });
    expect(await sluice(['abort', later], remote)).toMatchObject({ code: 0 });
    expect(await sluice(['wait', later], remote)).toMatchObject({ code: 1 });
    const refused = await sluice(['control', later, '{"late": true}'], remote);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^sluice: .*\n$/);
    // A user may not submit what runs unsandboxed; a missing job is exit 3; a wrong token exit 2. One line each.
    const js = await sluice(['submit', '--cmd', 'return 1'], remote);
    expect(js.code).toBe(2);
    expect(js.stderr).toMatch(/^sluice: .*js.*\n$/);
    const missing = await sluice(['job', '00000000-0000-4000-8000-000000000000'], remote);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toMatch(/^sluice: .*\n$/);
    const wrong = await sluice(['jobs'], { ...remote, SLUICE_TOKEN: 'not-a-token' });
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/^sluice: the token is not valid.*\n$/);
    expect(existsSync(path.join(client.home, 'sluice.db'))).toBe(false);
  });

  it('watch --url follows the server\'s SSE stream: the current state, a sync, then each change once', async () => {
    const w = watch(['--user', 'alice'], remote);
    try {
      const sync = await until(() => w.lines.find((l) => l.verb === 'sync'), 20_000, 'the sync');
      expect(w.lines.slice(0, w.lines.indexOf(sync)).every((l) => l.verb === 'get')).toBe(true);
      // The server holds it as an SSE client.
      await until(async () => (/sluice_stream_clients\{kind="sse"\} [1-9]/.test((await api(server.url, server.token, 'GET', '/metrics')).body) ? true : undefined), 20_000, 'the SSE client counted');
      const id = (await sluice(['submit', '--job-type', 'ping', '--name', 'watched'], remote)).stdout.trim();
      await until(() => (w.lines.some((l) => l.id === id && l.info?.status === 'Success') ? true : undefined), 30_000, 'the end of the watched job');
      const mine = w.lines.filter((l) => l.id === id);
      expect(mine[0]).toMatchObject({ verb: 'add', info: { status: 'Queued', name: 'watched' } });
      expect(mine.filter((l) => l.info?.status === 'Success')).toHaveLength(1);
    } finally {
      w.child.kill('SIGTERM');
    }
    expect(await exited(w.child)).toBe(0);
  });
});

describe.each(BACKENDS)('watch --url across a server restart on $name', (backend) => {
  it('resumes after the last id it printed: the changes made while the server was down come once, none lost', async () => {
    const home = backend.fresh();
    const client = freshHome();
    const port = String(await freePort());
    let server = await startServe(home.env, ['--port', port, '--no-workers']);
    const remote = { ...client.env, SLUICE_URL: server.url, SLUICE_TOKEN: server.token! };
    const w = watch([], remote);
    try {
      const sync = await until(() => w.lines.find((l) => l.verb === 'sync'), 20_000, 'the sync');
      const first = (await sluice(['submit', '--job-type', 'ping', '--name', 'first'], remote)).stdout.trim();
      await until(() => (w.lines.some((l) => l.id === first) ? true : undefined), 20_000, 'the first job');
      expect(await server.stop()).toBe(0);
      // While the server is down, jobs are submitted to the store directly (on its machine).
      const direct: string[] = [];
      for (const name of ['second', 'third']) direct.push((await sluice(['submit', '--job-type', 'ping', '--name', name], home.env)).stdout.trim());
      server = await startServe(home.env, ['--port', port, '--workers', '2']);
      expect(server.url).toBe(remote.SLUICE_URL);
      for (const id of [first, ...direct]) {
        await until(() => (w.lines.some((l) => l.id === id && l.info?.status === 'Success') ? true : undefined), 60_000, `the end of ${id}`);
      }
      // Every change after the sync exactly once, in order: the store's own event log.
      const changes = w.lines.filter((l) => l.verb === 'add' || l.verb === 'update');
      const seqs = changes.map((l) => l.seq!);
      expect(new Set(seqs).size).toBe(seqs.length);
      expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      expect(seqs[0]).toBeGreaterThan(sync.seq!);
      const store = await home.open();
      try {
        const logged = (await store.eventsAfter(sync.seq!, 10_000)).filter((e) => e.verb !== 'prune').map((e) => e.seq);
        expect(seqs).toEqual(logged);
      } finally {
        await store.close();
      }
      for (const id of direct) expect(changes.filter((l) => l.id === id && l.verb === 'add')).toHaveLength(1);
      expect(w.lines.filter((l) => l.verb === 'sync')).toHaveLength(1);
      expect(w.err()).toBe('');
    } finally {
      w.child.kill('SIGTERM');
      await exited(w.child);
      await server.stop();
      home.cleanup();
      client.cleanup();
    }
  });
});

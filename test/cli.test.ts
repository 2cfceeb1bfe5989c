import { spawn } from 'node:child_process';
import os from 'node:os';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, exited, sluice, startWorker, until } from './helpers/cli.js';
import { requireProgram } from './helpers/require.js';
import { BACKENDS } from './helpers/backends.js';

describe.each(BACKENDS)('the CLI on $name', (backend) => {
  const { env, home, cleanup } = backend.fresh();
  afterAll(cleanup);

  describe('the moi scenario, end to end through the built bin', () => {
    it('two users, each a job that succeeds and one that fails; jobs --summary shows both, by date', async () => {
      const submitted: Array<{ user: string; id: string; ok: boolean }> = [];
      for (const user of ['alice', 'bob']) {
        for (const [cmd, type, ok] of [
          ['return 42', 'js', true],
          ["return float('crash and burn')", 'js', false],
          ['echo 42', 'system', true],
          ['crash-and-burn', 'system', false],
        ] as const) {
          const r = await sluice(['submit', '--user', user, '--cmd', cmd, '--cmd-type', type, '--block'], env);
          const id = r.stdout.split('\n')[0]!;
          expect(id).toMatch(/^[0-9a-f-]{36}$/);
          expect(r.code).toBe(ok ? 0 : 1);
          expect(r.stdout).toContain(`********** ${id} **********`);
          expect(r.stdout).toMatch(new RegExp(`status\\s+: ${ok ? 'Success' : 'Failed'}`));
          submitted.push({ user, id, ok });
        }
      }
      for (const user of ['alice', 'bob']) {
        const r = await sluice(['jobs', '--user', user, '--summary'], env);
        expect(r.code).toBe(0);
        const lines = r.stdout.trim().split('\n');
        const mine = submitted.filter((s) => s.user === user);
        expect(lines).toHaveLength(4);
        lines.forEach((line, i) => {
          expect(line).toMatch(new RegExp(`^date: \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\tid: ${mine[i]!.id}\\tstatus: ${mine[i]!.ok ? 'Success' : 'Failed'}$`));
        });
        expect(lines.filter((l) => l.endsWith('Success'))).toHaveLength(2);
        expect(lines.filter((l) => l.endsWith('Failed'))).toHaveLength(2);
      }
      // The full record: result last; a failed js job's traceback is readable text.
      const failed = submitted.find((s) => s.user === 'alice' && !s.ok)!;
      const record = (await sluice(['job', failed.id], env)).stdout;
      const lines = record.trim().split('\n');
      expect(lines[0]).toBe(`********** ${failed.id} **********`);
      expect(record).toMatch(/\nresult\s+: ReferenceError: float is not defined\n\s+at the job's code, line 1/);
      const users = (await sluice(['users'], env)).stdout;
      expect(users).toMatch(/^alice : [0-9a-f-]{36} \(4 jobs\)\nbob : [0-9a-f-]{36} \(4 jobs\)\n$/);
    }, 60_000);

    it('system job results carry the streams, as moi did', async () => {
      const r = await sluice(['submit', '--cmd', "echo 'hello from moi'", '--cmd-type', 'system', '--block', '--json'], env);
      const record = JSON.parse(r.stdout);
      expect(record).toMatchObject({ status: 'Success', result: { stdout: 'hello from moi\n', stderr: '', return_code: 0 } });
    });
  });

  describe('submit --block on a terminal', () => {
    it('shows a live line with status, progress k of n and elapsed time', async () => {
      requireProgram('script', 'util-linux');
      const cmd = 'ctx.progress(1, 2, "half"); await new Promise((r) => setTimeout(r, 500)); ctx.progress(2, 2); await new Promise((r) => setTimeout(r, 300)); return 1';
      const line = `${process.execPath} ${BIN} submit --block --cmd '${cmd}'`;
      // script(1) gives the command a pseudo-terminal, as a person's shell would.
      const r = await new Promise<string>((resolve) => {
        const child = spawn('script', ['-qfec', line, '/dev/null'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        child.stdout.on('data', (d) => (out += d));
        child.on('close', () => resolve(out));
      });
      const ESC = String.fromCharCode(27);
      expect(r).toMatch(new RegExp(`\r${ESC}\\[KRunning {2}1/2 half {2}\\d+\\.\\ds`));
      expect(r).toMatch(new RegExp(`\r${ESC}\\[KRunning {2}2/2 {2}\\d+\\.\\ds`));
      expect(r).toMatch(/status\s+: Success/);
    });
  });

  describe('sluice batch, as sio-batch', () => {
    it('prints the environ between the markers, byte for byte', async () => {
      const r = await sluice(['batch'], { ...env, environ: '{"job_type": "ping", "ping": "hello"}' });
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(
        `--- BEGIN ENVIRON ---\n{"job_type":"ping","ping":"hello","worker":"${os.hostname()}","pong":"hello","result":"SUCCESS"}\n--- END ENVIRON ---\n`,
      );
    });

    it('takes the job type argument and prefilters/postfilters variables; a failure is printed too', async () => {
      const r = await sluice(['batch', 'ping'], { ...env, environ: '{"job_type": "nothing", "ping": 1}', postfilters: 'nope' });
      const json = JSON.parse(r.stdout.split('\n')[1]!);
      expect(json).toMatchObject({ job_type: 'ping', pong: 1, postfilters: ['nope'], result: 'FAILURE', exception: expect.stringMatching(/unknown filter "nope"/) });
    });

    it('refuses a missing or non-JSON environ with one line and exit 2', async () => {
      const missing = await sluice(['batch'], { ...env, environ: undefined });
      expect(missing).toMatchObject({ code: 2, stdout: '' });
      expect(missing.stderr).toBe('sluice: batch reads its environ from the environment variable "environ", which is not set\n');
      const bad = await sluice(['batch'], { ...env, environ: '{"job_type": ' });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/^sluice: the environment variable "environ" is not valid JSON: .*\n$/);
    });
  });

  describe('submit options and errors', () => {
    it('--job-type with --environ - and --set (values parsed as JSON when they parse)', async () => {
      const r = await sluice(['submit', '--job-type', 'ping', '--environ', '-', '--set', 'ping=[1,2]', '--set', 'note=plain text', '--block', '--json', '--name', 'mine', '--tag', 'x', '--tag', 'y', '--group', 'carol/exp-1', '--user', 'carol', '--priority', '3'], env, '{"extra": true}');
      const record = JSON.parse(r.stdout);
      expect(record).toMatchObject({ name: 'mine', owner: 'carol', tags: ['x', 'y'], priority: 3, status: 'Success', result: { pong: [1, 2] } });
      expect(record.environ).toEqual({ extra: true, job_type: 'ping', ping: [1, 2], note: 'plain text' });
      const group = JSON.parse((await sluice(['job', record.parent, '--json'], env)).stdout);
      expect(group).toMatchObject({ type: 'group', name: 'exp-1' });
    });

    it('--environ from a file; a file that is not JSON is one clear line and exit 2', async () => {
      const good = path.join(home, 'env.json');
      writeFileSync(good, '{"job_type": "ping", "ping": 5}');
      const r = await sluice(['submit', '--environ', good, '--block', '--json'], env);
      expect(JSON.parse(r.stdout).result).toEqual({ pong: 5 });
      const badFile = path.join(home, 'bad.json');
      writeFileSync(badFile, 'not json');
      const bad = await sluice(['submit', '--environ', badFile], env);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/^sluice: environ file ".*bad.json" is not valid JSON/);
      expect(bad.stderr.trim().split('\n')).toHaveLength(1);
      const missing = await sluice(['submit', '--environ', path.join(home, 'nope.json')], env);
      expect(missing).toMatchObject({ code: 2 });
      expect(missing.stderr).toMatch(/cannot read environ file .*nope.json.*ENOENT/);
    });

    it('every error is one line on stderr with a documented exit code, and nothing is stored', async () => {
      const before = (await sluice(['jobs', '--json'], env)).stdout;
      const cases: Array<[string[], number, RegExp]> = [
        [['submit'], 2, /submit needs --cmd/],
        [['submit', '--cmd', 'x', '--cmd-type', 'perl'], 2, /--cmd-type must be js or system/],
        [['submit', '--cmd', 'x', '--job-type', 'ping'], 2, /either --cmd/],
        [['submit', '--cmd', 'x', '--priority', 'high'], 2, /--priority must be an integer/],
        [['submit', '--environ', '-'], 2, /environ file "-" is not valid JSON/],
        [['job', 'no-such-id'], 3, /no job or group with id no-such-id/],
        [['wait', 'no-such-id'], 3, /no job or group with id no-such-id/],
        [['abort', 'no-such-id'], 3, /no job or group with id no-such-id/],
        [['jobs', '--status', 'Sleeping'], 2, /--status must be one of/],
        [['job'], 2, /job needs an id/],
        [['frobnicate'], 2, /unknown command/],
        [['worker', '--concurrency', '0'], 2, /--concurrency must be/],
        [['watch', '--since', 'yesterday'], 2, /--since must be/],
      ];
      for (const [args, code, message] of cases) {
        const r = await sluice(args, env);
        expect({ args, code: r.code }).toEqual({ args, code });
        expect(r.stderr).toMatch(message);
        expect(r.stderr.trim().split('\n').filter((l) => l.startsWith('sluice:'))).toHaveLength(1);
      }
      expect((await sluice(['jobs', '--json'], env)).stdout).toBe(before);
    }, 60_000);
  });

  describe('wait, abort and watch', () => {
    it('wait --timeout gives up with exit 4; abort of a queued job; wait then reports it', async () => {
      const { env: e2, cleanup: c2 } = backend.fresh();
      try {
        const id = (await sluice(['submit', '--cmd', 'return 1'], e2)).stdout.trim();
        const timedOut = await sluice(['wait', id, '--timeout', '0.3'], e2);
        expect(timedOut.code).toBe(4);
        expect(timedOut.stderr).toMatch(/has not ended after 300 ms \(status Queued\)/);
        expect((await sluice(['abort', id], e2)).stdout).toBe(`job ${id} aborted\n`);
        expect((await sluice(['abort', id], e2)).stdout).toBe(`job ${id} had already ended (Aborted)\n`);
        const waited = await sluice(['wait', id], e2);
        expect(waited.code).toBe(1);
        expect(waited.stdout).toMatch(/status\s+: Aborted/);
      } finally {
        c2();
      }
    });

    it('watch prints the current state, then each change as a JSON line; --since replays', async () => {
      const { env: e3, cleanup: c3 } = backend.fresh();
      const first = (await sluice(['submit', '--user', 'dora', '--job-type', 'ping'], e3)).stdout.trim();
      const watch = spawn(process.execPath, [BIN, 'watch', '--user', 'dora'], { env: e3, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      watch.stdout.on('data', (d) => (out += d));
      try {
        await until(() => (out.includes('"sync"') ? true : undefined), 10_000, 'the header');
        const header = out.trim().split('\n').map((l) => JSON.parse(l));
        expect(header).toEqual([{ verb: 'get', id: first, info: expect.objectContaining({ status: 'Queued', owner: 'dora' }) }, { verb: 'sync', seq: expect.any(Number) }]);
        const w = await startWorker(e3, []);
        await until(() => (out.split('\n').filter((l) => l.includes('"Success"')).length === 1 ? true : undefined), 10_000, 'the change');
        const changes = out.trim().split('\n').slice(2).map((l) => JSON.parse(l));
        expect(changes.map((c) => [c.verb, c.id, c.info.status])).toEqual([['update', first, 'Running'], ['update', first, 'Success']]);
        w.kill('SIGTERM');
        await exited(w);
        const replay = spawn(process.execPath, [BIN, 'watch', '--since', String(header[1].seq)], { env: e3, stdio: ['ignore', 'pipe', 'pipe'] });
        let replayed = '';
        replay.stdout.on('data', (d) => (replayed += d));
        await until(() => (replayed.includes('"Success"') ? true : undefined), 10_000, 'the replay');
        replay.kill('SIGTERM');
        expect(await exited(replay)).toBe(0);
        expect(replayed.trim().split('\n').map((l) => JSON.parse(l).info.status)).toEqual(['Running', 'Success']);
      } finally {
        watch.kill('SIGTERM');
        await exited(watch);
        c3();
      }
    }, 30_000);
  });
});

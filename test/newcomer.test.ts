import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/store/index.js';
import { BIN, exited, freshHome, sluice, startWorker } from './helpers/cli.js';
import { requireProgram } from './helpers/require.js';

/** What a new user meets in the first hour (issue 8): each through the door the user uses, the CLI. */
describe('a newcomer at the command line', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const home = () => {
    const h = freshHome();
    cleanups.push(h.cleanup);
    return h;
  };
  /** Runs a shell line, returning what it printed. */
  const shell = (line: string, env: NodeJS.ProcessEnv) => execFileSync('bash', ['-c', line], { env, encoding: 'utf8' });
  const onTerminal = (line: string, env: NodeJS.ProcessEnv) =>
    new Promise<string>((resolve) => {
      requireProgram('script', 'util-linux');
      const child = spawn('script', ['-qfec', line, '/dev/null'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.on('close', () => resolve(out));
    });

  it('a closed pipe ends the command quietly: jobs | head -1', async () => {
    const { env, home: dir } = home();
    const store = new SqliteStore(path.join(dir, 'sluice.db'));
    await store.submit(Array.from({ length: 300 }, () => ({ owner: 'a', environ: { job_type: 'ping' } })));
    await store.close();
    const out = shell(`node ${BIN} jobs 2>${dir}/err | head -1; echo "exit \${PIPESTATUS[0]}"; cat ${dir}/err`, env);
    expect(out).toMatch(/^\*{10} .* \*{10}\nexit 0\n$/);
  });

  it('an unknown job type is refused at submit, listing the known ones; nothing is stored', async () => {
    const { env } = home();
    const r = await sluice(['submit', '--job-type', 'nosuch'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^sluice: unknown job type "nosuch"; known job types: .*\bcompile\b.*\bexec\b.*\bjs\b.*\bping\b.*\bsystem\b/);
    expect((await sluice(['jobs', '--json'], env)).stdout.trim()).toBe('[]');
  });

  it('prints "Submitted job id: ID" on a terminal, the bare id off one, {"id"} with --json', async () => {
    const { env } = home();
    const tty = await onTerminal(`${process.execPath} ${BIN} submit --job-type ping`, env);
    expect(tty).toMatch(/^Submitted job id: [0-9a-f-]{36}\r?\n$/);
    expect((await sluice(['submit', '--job-type', 'ping'], env)).stdout).toMatch(/^[0-9a-f-]{36}\n$/);
    expect(JSON.parse((await sluice(['submit', '--job-type', 'ping', '--json'], env)).stdout)).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
  });

  it("moi's spellings: job --job-id ID, userjobs --key NAME [--summary], Unknown key", async () => {
    const { env } = home();
    const id = (await sluice(['submit', '--job-type', 'ping', '--user', 'alice'], env)).stdout.trim();
    const byFlag = await sluice(['job', '--job-id', id], env);
    expect(byFlag.stdout).toBe((await sluice(['job', id], env)).stdout);
    expect(byFlag.stdout).toMatch(/context\s+: default/);
    const summary = await sluice(['userjobs', '--key', 'alice', '--summary'], env);
    expect(summary).toMatchObject({ code: 0 });
    expect(summary.stdout).toMatch(new RegExp(`^date: .*\\tid: ${id}\\tstatus: Queued`));
    expect(await sluice(['userjobs', '--key', 'nobody'], env)).toMatchObject({ code: 3, stderr: 'sluice: Unknown key: nobody\n' });
  });

  it('errors never echo raw bytes, and an environ file with a byte order mark is read', async () => {
    const { env, home: dir } = home();
    const binary = await sluice(['submit', '--environ', '-'], env, '\u0000\u0001\u001b[31mred\u0007');
    expect(binary.code).toBe(2);
    expect(binary.stderr).toMatch(/^sluice: environ file "-" is not valid JSON/);
    expect(binary.stderr.trim().split('\n')).toHaveLength(1);
    // eslint-disable-next-line no-control-regex
    expect(binary.stderr).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
    const file = path.join(dir, 'bom.json');
    writeFileSync(file, '\ufeff{"job_type": "ping", "ping": 7}');
    const ok = await sluice(['submit', '--environ', file, '--block', '--json'], env);
    expect(JSON.parse(ok.stdout)).toMatchObject({ status: 'Success', result: { pong: 7 } });
  });

  it('a SLUICE_HOME that cannot be written is one line naming the folder or the database', async () => {
    const { env, home: dir } = home();
    const notAFolder = path.join(dir, 'file');
    writeFileSync(notAFolder, 'x');
    const r = await sluice(['jobs'], { ...env, SLUICE_HOME: path.join(notAFolder, 'home') });
    expect(r).toMatchObject({ code: 70, stderr: `sluice: cannot create the folder ${path.join(notAFolder, 'home')} for the database (SLUICE_HOME): ENOTDIR\n` });
    const ro = path.join(dir, 'ro');
    mkdirSync(ro);
    if (process.getuid?.() === 0) {
      // root ignores permissions: a read-only mount is what a read-only home is to it.
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro]);
      cleanups.push(() => execFileSync('umount', [ro]));
    } else {
      execFileSync('chmod', ['555', ro]);
    }
    const denied = await sluice(['submit', '--job-type', 'ping'], { ...env, SLUICE_HOME: ro });
    expect(denied.code).toBe(70);
    expect(denied.stderr).toMatch(new RegExp(`^sluice: (cannot open the database ${path.join(ro, 'sluice.db')}|the database ${path.join(ro, 'sluice.db')} cannot be written).* \\(SQLITE_[A-Z_]+\\)\\n$`));
  });

  it('files serve on a busy port says which port, with exit 2', async () => {
    const { env } = home();
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((r) => blocker.close(r)));
    const port = (blocker.address() as net.AddressInfo).port;
    const r = await sluice(['files', 'serve', '--port', String(port)], env);
    expect(r).toMatchObject({ code: 2, stderr: `sluice: cannot listen on 127.0.0.1:${port}: the port is already in use (choose another with --port, or 0 for any free port)\n` });
  });

  it('a RAM need no live worker can meet is said at once, at submit and in job', async () => {
    const { env } = home();
    const w = await startWorker(env, ['--ram', '1G']);
    cleanups.push(async () => {
      w.kill('SIGKILL');
      await exited(w);
    });
    const r = await sluice(['submit', '--job-type', 'ping', '--ram', '100G'], env);
    const id = r.stdout.trim();
    expect(r.stderr).toBe(`sluice: job ${id} cannot run yet: needs 102400 MiB of RAM; the largest live worker offers 1024 MiB\n`);
    expect((await sluice(['job', id], env)).stdout).toMatch(/waiting\s+: cannot run yet: needs 102400 MiB of RAM; the largest live worker offers 1024 MiB/);
  });

  it('the worker says which process to signal to stop it; --help shows each default once', async () => {
    const { env } = home();
    const w = await startWorker(env, []);
    cleanups.push(async () => {
      w.kill('SIGKILL');
      await exited(w);
    });
    expect(w.log()).toContain(`started (pid ${w.pid}: stop with kill -TERM ${w.pid}`);
    const help = (await sluice(['worker', '--help'], env)).stdout;
    expect(help).not.toMatch(/\(default[^)]*\)\s*\(default/);
    expect(help.replace(/\s+/g, ' ')).toMatch(/--grace <seconds> [^-]*\(default 10\)/);
  });

  it("groups: another owner cannot submit into alice's group; jobs --group lists its children, --recursive everything below", async () => {
    const { env } = home();
    const a = (await sluice(['submit', '--job-type', 'ping', '--user', 'alice', '--group', 'alice/analysis-7'], env)).stdout.trim();
    const b = (await sluice(['submit', '--job-type', 'ping', '--user', 'alice', '--group', 'alice/analysis-7/run-2'], env)).stdout.trim();
    const mallory = await sluice(['submit', '--job-type', 'ping', '--user', 'mallory', '--group', 'alice/analysis-7'], env);
    expect(mallory).toMatchObject({ code: 2, stderr: 'sluice: group "alice" belongs to alice; mallory cannot submit into it (choose another group path)\n' });
    const children = (await sluice(['jobs', '--group', 'alice/analysis-7', '--summary'], env)).stdout;
    expect(children).toMatch(new RegExp(`id: ${a}\\tstatus: Queued`));
    expect(children).toMatch(/group: run-2\tid: /);
    expect(children).not.toContain(b);
    expect((await sluice(['jobs', '--group', 'alice/analysis-7', '--recursive', '--summary'], env)).stdout).toContain(b);
    expect(await sluice(['jobs', '--group', 'alice/nothing'], env)).toMatchObject({ code: 3, stderr: 'sluice: no group "alice/nothing"\n' });
  });
});

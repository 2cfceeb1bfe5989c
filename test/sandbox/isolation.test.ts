import { existsSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Environ } from '../../src/environ/index.js';
import { capabilities, configureSandbox } from '../../src/sandbox/index.js';
import { file, processesNamed, program, requireSandboxTools, runWithOutput, scratch } from './helpers.js';

requireSandboxTools();

const dir = scratch();
const secret = file(dir, 'secret.txt', 'host secret\n');

/** Runs a fixture binary under a job type and returns the environ with the program's output in `stdout`. */
function runOutput(jobType: string, exe: string, stdin = '', extra: Environ = {}): Promise<Environ & { stdout: string }> {
  return runWithOutput(dir, jobType, exe, stdin, { exec_time_limit: 2000, exec_mem_limit: 64 * 1024, ...extra });
}

beforeAll(async () => {
  await Promise.all([program('readfile', { SECRET: secret }), program('symlink', { TARGET: secret }), program('net'), program('writes')]);
}, 120_000);

describe('isolation: what a sandboxed program can reach', () => {
  it('host files (including /etc and home) are not visible; without a sandbox they are', async () => {
    const exe = await program('readfile', { SECRET: secret });
    const boxed = await runOutput('exec', exe);
    expect(boxed).toMatchObject({ result_code: 'OK' });
    expect(boxed.stdout).toBe('blocked\n');
    const unsafe = await runOutput('unsafe-exec', exe);
    expect(unsafe.stdout).toContain(`opened ${secret}`);
    expect(unsafe.stdout).toContain('opened /etc/passwd');
  });

  it('system folders are read-only, /tmp is private, the box is writable, the uid is unprivileged with no capabilities', async () => {
    rmSync('/tmp/sluice-sandbox-private-probe', { force: true });
    const out = await runOutput('exec', await program('writes'));
    expect(out.stdout).not.toMatch(/wrote (usr|etc|root|dev)/);
    expect(out.stdout).toContain('wrote box');
    expect(out.stdout).toContain('wrote tmp');
    expect(existsSync('/tmp/sluice-sandbox-private-probe')).toBe(false);
    expect(out.stdout).toContain('uid=65534');
    expect(out.stdout).toContain('caps=000000000\n');
  });

  it('its own hostname and pid namespace, no capability even in the bounding set, no_new_privs, a fresh IPC namespace every run', async () => {
    const exe = await program('identity');
    for (let i = 0; i < 2; i++) {
      const out = await runOutput('exec', exe);
      expect(out.stdout).toBe('host=sluice pid=2 ppid=1 bounding=0 nonewprivs=1 shm=fresh\n');
    }
  });

  it('a network socket cannot reach the host; without a sandbox it can', async () => {
    const received: string[] = [];
    const server = net.createServer((socket) => socket.on('data', (d) => received.push(d.toString())));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const exe = await program('net');
      const boxed = await runOutput('exec', exe, String(port));
      expect(boxed.stdout).toMatch(/^blocked /);
      expect(received).toEqual([]);
      const unsafe = await runOutput('unsafe-exec', exe, String(port));
      expect(unsafe.stdout).toBe('connected\n');
      await new Promise((r) => setTimeout(r, 50));
      expect(received.join('')).toBe('hello');
    } finally {
      server.close();
    }
  });

  it('a forbidden syscall (ptrace) ends the run as RV; without a sandbox it runs', async () => {
    const caps = await capabilities();
    if (!caps.seccomp.ok) throw new Error(`this test needs the seccomp filter: ${caps.seccomp.detail}`);
    const exe = await program('ptrace');
    expect(await runOutput('exec', exe)).toMatchObject({ result_code: 'RV', result_string: 'intercepted forbidden syscall', exit_signal: 31 });
    expect(await runOutput('unsafe-exec', exe)).toMatchObject({ result_code: 'OK' });
  });
});

describe('isolation: processes', () => {
  it('the process limit holds for root: 60 children under a limit of 100, at most 10 under 10; none is left behind', async () => {
    const exe = await program('forkmany');
    const many = await runOutput('exec', exe, '', { exec_process_limit: 100 });
    expect(many).toMatchObject({ result_code: 'OK' });
    expect(Number(many.stdout)).toBe(60);
    const few = await runOutput('exec', exe, '', { exec_process_limit: 10 });
    expect(Number(few.stdout)).toBeLessThanOrEqual(10);
    expect(processesNamed('sluiceforkmany')).toEqual([]);
  });

  it('a fork bomb is contained and stopped, and leaves no process behind', async () => {
    const started = Date.now();
    // Failed forks leave kernel memory charged to the run's group: 35–72 MiB within 300 ms here, near
    // a 64 MiB limit's 76 MiB cgroup (MLE then). The memory limit is raised so that time decides.
    const out = await runOutput('exec', await program('forkbomb'), '', { exec_time_limit: 300, exec_real_time_limit: 3000, exec_mem_limit: 256 * 1024 });
    expect(out.result_code).toBe('TLE');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(processesNamed('sluiceforkbomb')).toEqual([]);
  });

  it('killing its parent does not stop the sandbox from reporting; without a sandbox the supervisor dies and the run is SE', async () => {
    const exe = await program('killparent');
    const boxed = await runOutput('exec', exe);
    expect(boxed).toMatchObject({ result_code: 'OK' });
    expect(boxed.stdout).toBe('alive\n');
    const unsafe = await runOutput('unsafe-exec', exe);
    expect(unsafe.result_code).toBe('SE');
    expect(unsafe.result_string).toMatch(/supervisor died/);
  });
});

describe('isolation: a symlink planted in the box', () => {
  it('leaves the host file untouched through the run, the checker and the upload; without a sandbox the file is overwritten', async () => {
    const exe = await program('symlink', { TARGET: secret });
    const boxed = await runOutput('exec', exe, '', {
      check_output: true,
      hint_file: file(dir, 'hint84', '84\n'),
      chk_file: await program('chk_compare'),
    });
    expect(boxed).toMatchObject({ result_code: 'OK', result_percentage: [42, 1] });
    expect(boxed.stdout).toBe('84\n');
    expect(readFileSync(secret, 'utf8')).toBe('host secret\n');

    await runOutput('unsafe-exec', exe);
    expect(readFileSync(secret, 'utf8')).toBe('pwned\n');
  });
});

describe('without isolation', () => {
  afterAll(() => {
    configureSandbox({ off: false });
  });

  it('exec refuses with SE and says why, and never runs the program; unsafe-exec still runs', async () => {
    configureSandbox({ off: true });
    const caps = await capabilities();
    expect(caps.tier).toBe('C');
    expect(caps.executors.exec.ok).toBe(false);
    const exe = await program('writes');
    const out = await runOutput('exec', exe);
    expect(out).toMatchObject({ result: 'SUCCESS', result_code: 'SE' });
    expect(out.result_string).toMatch(/cannot run: isolation unavailable: disabled by SLUICE_SANDBOX=off/);
    expect(out.stdout).toBe('');
    expect(await runOutput('unsafe-exec', exe)).toMatchObject({ result_code: 'OK' });
  });
});

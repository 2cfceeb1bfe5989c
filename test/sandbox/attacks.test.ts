import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PACKAGE_ROOT, type Environ } from '../../src/environ/index.js';
import { capabilities, configureSandbox, helperServer } from '../../src/sandbox/index.js';
import { requireProgram } from '../helpers/require.js';
import { file, processesNamed, program, requireSandboxTools, runJob, runWithOutput, scratch } from './helpers.js';

/*
 * The holes an attack pass found (issue 9), each as the program that did it. Besides the verdict,
 * each checks that the host was not touched: job folders are made in a folder of this file's own
 * (SLUICE_TMPDIR), which must be empty after every job; free space; processes left behind.
 */
requireSandboxTools();
const chattr = requireProgram('chattr', 'e2fsprogs');

const tmp = mkdtempSync(path.join(os.tmpdir(), 'sluice-attacks-'));
chmodSync(tmp, 0o711); // the sandbox's uid must reach its box (docs/sandbox.md, SLUICE_TMPDIR)
process.env.SLUICE_TMPDIR = tmp; // the job folders (helpers.ts's runJob)
configureSandbox({ tmpdir: tmp }); // the run disks
const dir = scratch();
const MiB = 1024 * 1024;

/** What jobs left in SLUICE_TMPDIR (disk templates stay: they are shared, made once). */
const leftovers = () => readdirSync(tmp).filter((name) => name !== 'sluice-disks');
const hostFree = () => {
  const st = statfsSync(tmp);
  return st.bavail * st.bsize;
};

async function job(jobType: string, name: string, stdin: string, extra: Environ = {}, defines: Record<string, string | number> = {}): Promise<Environ & { stdout: string }> {
  return runWithOutput(dir, jobType, await program(name, defines), stdin, { exec_time_limit: 5000, exec_mem_limit: 64 * 1024, ...extra });
}

/** Runs `fn` while sampling the host's free space every 5 ms; returns its result and the lowest free space seen. */
async function sampled<T>(fn: () => Promise<T>): Promise<{ result: T; lowest: number }> {
  let lowest = hostFree();
  const timer = setInterval(() => (lowest = Math.min(lowest, hostFree())), 5);
  try {
    return { result: await fn(), lowest: Math.min(lowest, hostFree()) };
  } finally {
    clearInterval(timer);
  }
}

beforeAll(async () => {
  await Promise.all(['deep', 'fill', 'oom_threads', 'napper', 'exit_n', 'raise', 'pid1mem', 'mountinfo', 'immutable', 'aplusb'].map((p) => program(p)));
}, 120_000);

afterAll(async () => {
  delete process.env.SLUICE_TMPDIR;
  configureSandbox({ tmpdir: undefined });
  // The served helper keeps a disk ready under tmp: it unmounts it when it stops.
  helperServer.close();
  for (let i = 0; i < 100 && readFileSync('/proc/self/mountinfo', 'utf8').includes(tmp); i++) await new Promise((r) => setTimeout(r, 50));
  rmSync(tmp, { recursive: true, force: true });
});

describe('a program cannot leave files on the host', () => {
  it.each(['exec', 'unsafe-exec'])('%s: a folder 2,100 levels deep with 80 MiB at its bottom is removed, and the verdict comes back', async (jobType) => {
    const out = await job(jobType, 'deep', '');
    expect(out).toMatchObject({ result_code: 'OK' });
    expect(out.stdout).toBe('made 2100 levels\n');
    expect(leftovers()).toEqual([]);
  });

  it('a job folder that cannot be removed is logged, its environ still comes back, and it is removed after the next job', async () => {
    const warn = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const out = await job('unsafe-exec', 'immutable', '');
      expect(out).toMatchObject({ result: 'SUCCESS', result_code: 'OK' });
      const stuck = out.stdout.trim();
      expect(leftovers()).toHaveLength(1);
      expect(warn.mock.calls.map((c) => String(c[0])).join('')).toMatch(/^sluice: cannot remove the job folder .*; it is tried again after the next job\n$/m);
      execFileSync(chattr, ['-i', stuck]);
      expect(await job('unsafe-exec', 'aplusb', '1 2\n')).toMatchObject({ result_code: 'OK' });
      expect(leftovers()).toEqual([]);
    } finally {
      warn.mockRestore();
    }
  });
});

describe('a run cannot fill the host disk', () => {
  it.each(['.', '/tmp'])('reserving 1000 MiB in %s under a 64 MiB disk limit is OLE "disk limit exceeded"; the host never loses the space', async (where) => {
    const before = hostFree();
    const { result, lowest } = await sampled(() => job('exec', 'fill', `${where} 1000`, { exec_disk_limit: 64 * MiB }));
    expect(result).toMatchObject({ result_code: 'OLE', result_string: 'disk limit exceeded' });
    expect(result.stdout).toMatch(/^fallocated (6[0-4]|[0-5]\d) MiB: No space left on device\n/);
    // Other test suites write to this disk meanwhile: the margin is wide, the attack far wider.
    expect(before - lowest).toBeLessThan(200 * MiB);
    expect(before - hostFree()).toBeLessThan(200 * MiB);
    expect(leftovers()).toEqual([]);
    expect(processesNamed('sluicefill')).toEqual([]);
  });

  it('within the default 256 MiB, 100 MiB reserved and 100 MiB written are OK', async () => {
    const out = await job('exec', 'fill', '. 100');
    expect(out).toMatchObject({ result_code: 'OK' });
    expect(out.stdout).toBe('fallocated 112 MiB: ok\nwrote 112 MiB: ok\n');
  });

  it('a checker is bounded too: one that fills its disk is SE "checker: disk limit exceeded"', async () => {
    const out = await job('exec', 'aplusb', '1 2\n', {
      check_output: true,
      hint_file: file(dir, 'hint3', '3\n'),
      chk_file: await program('fill', { FILL_WHERE: '.', FILL_MIB: 1000 }),
      checker_disk_limit: 32 * MiB,
      // RLIMIT_FSIZE is the output limit: above the 16 MiB files, so that the disk limit is what stops it.
      checker_output_limit: 64 * MiB,
    });
    expect(out).toMatchObject({ result_code: 'SE', result_string: 'checker: disk limit exceeded' });
    expect(leftovers()).toEqual([]);
  });

  it('a compiler is bounded too: an object file beyond compilation_disk_limit fails to be written, and the compile is CE', async () => {
    // 20 MiB of initialised data: under the per-file limit (result size + 16 MiB), over the disk limit.
    const source = file(dir, 'big.c', 'char big[20 << 20] = {1};\nint main(void) { return big[0] - 1; }\n');
    const out = await runJob({ job_type: 'compile', source_file: source, out_file: path.join(dir, 'big'), compilation_disk_limit: 8 * MiB });
    expect(out).toMatchObject({ result: 'SUCCESS', result_code: 'CE' });
    // The assembler removes its partial output at once, often before the helper's next look (every
    // 10 ms): the reason is the compiler's own ENOSPC then. The bound holds either way.
    expect(out.compiler_output).toMatch(/Compilation disk limit exceeded\.$|No space left on device/);
    expect(leftovers()).toEqual([]);
  });
});

describe('without a bounded disk', () => {
  afterAll(() => {
    configureSandbox({ mke2fs: undefined });
  });

  it('exec refuses with SE and says why, and never runs the program; unsafe-exec still runs', async () => {
    configureSandbox({ mke2fs: '/nonexistent/mke2fs' });
    const caps = await capabilities();
    expect(caps.disk).toMatchObject({ ok: false, detail: expect.stringMatching(/mke2fs not found.*e2fsprogs/) });
    const out = await job('exec', 'fill', '. 1');
    expect(out).toMatchObject({ result: 'SUCCESS', result_code: 'SE', result_string: expect.stringMatching(/^cannot run: no bounded disk for the box: mke2fs not found/) });
    expect(out.stdout).toBe('');
    expect(await job('unsafe-exec', 'aplusb', '1 2\n')).toMatchObject({ result_code: 'OK' });
    expect(leftovers()).toEqual([]);
  });
});

describe('verdicts the sandbox used to get wrong', () => {
  it('eight threads over the memory limit are MLE every time, never SE (60 runs: a 1-in-12 miss shows with 99.5 % odds)', async () => {
    const codes: string[] = [];
    for (let i = 0; i < 30; i++) {
      const pair = await Promise.all([0, 1].map(() => job('exec', 'oom_threads', '')));
      codes.push(...pair.map((out) => `${out.result_code} ${out.result_code === 'MLE' ? '' : out.result_string}`.trim()));
    }
    expect(codes.filter((c) => c !== 'MLE')).toEqual([]);
    expect(processesNamed('sluiceoom')).toEqual([]);
  }, 120_000);

  it('the OOM killer picks the program first (oom_score_adj 1000), then the sandbox\'s pid 1 (500), never its supervisor (-1000, or 0 without CAP_SYS_RESOURCE)', async () => {
    const running = job('exec', 'napper', '', { exec_time_limit: 1000, exec_real_time_limit: 1500 });
    const field = (pid: number, name: string) => readFileSync(`/proc/${pid}/${name}`, 'utf8').trim();
    const parent = (pid: number) => Number(/^\S+ \(.*\) \S (\d+)/.exec(field(pid, 'stat'))![1]);
    let seen: number[] = [];
    for (let i = 0; i < 100 && seen[1] !== 500; i++) {
      await new Promise((r) => setTimeout(r, 10));
      const [program] = processesNamed('sluicenapper');
      if (!program) continue;
      const init = parent(program);
      seen = [program, init, parent(init)].map((pid) => Number(field(pid, 'oom_score_adj')));
    }
    const [program, init, supervisor] = seen;
    expect(program).toBe(1000);
    expect(init).toBe(500);
    expect(supervisor === -1000 || supervisor === 0).toBe(true);
    expect(await running).toMatchObject({ result_code: 'TLE', result_string: 'real time limit exceeded' });
  });

  it('exit(152) is RE "exited with code 152", not a signal; a real SIGXCPU is TLE', async () => {
    expect(await job('exec', 'exit_n', '152')).toMatchObject({ result_code: 'RE', result_string: 'program exited with code 152', return_code: 152 });
    expect(await job('exec', 'exit_n', '139')).toMatchObject({ result_code: 'RE', return_code: 139 });
    expect(await job('exec', 'raise', '24')).toMatchObject({ result_code: 'TLE', result_string: 'time limit exceeded' });
    expect(await job('exec', 'raise', '11')).toMatchObject({ result_code: 'RE', exit_signal: 11 });
  });

  describe('with /proc mounted (SLUICE_SANDBOX_PROC=1)', () => {
    beforeAll(() => {
      configureSandbox({ proc: true });
    });
    afterAll(() => {
      configureSandbox({ proc: false });
    });

    it('the sandbox\'s pid 1 cannot be written to, so it cannot burn CPU on the program\'s behalf', async () => {
      const out = await job('exec', 'pid1mem', '', { exec_time_limit: 1000, exec_real_time_limit: 3000 });
      // pid 1 is root's: the sandbox's /proc (hidepid=invisible) does not even show it to the program.
      expect(out.stdout).toBe('blocked: No such file or directory\n');
      expect(out).toMatchObject({ result_code: 'OK' });
    });

    it('mountinfo shows no host path of the box or of Sluice', async () => {
      const out = await job('exec', 'mountinfo', '');
      expect(out.stdout).toContain(' /box ');
      expect(out.stdout).not.toContain(tmp);
      expect(out.stdout).not.toContain(PACKAGE_ROOT);
    });
  });
});

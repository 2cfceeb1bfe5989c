import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Environ } from '../../src/environ/index.js';
import { requireProgram } from '../helpers/require.js';
import { file, program, requireSandboxTools, runJob, scratch } from './helpers.js';

/*
 * The holes an attack pass found (issue 9), each as the program that did it. Besides the verdict,
 * each checks that the host was not touched: job folders are made in a folder of this file's own
 * (SLUICE_TMPDIR), which must be empty after every job; processes left behind.
 */
requireSandboxTools();
const chattr = requireProgram('chattr', 'e2fsprogs');

const tmp = mkdtempSync(path.join(os.tmpdir(), 'sluice-attacks-'));
chmodSync(tmp, 0o711); // the sandbox's uid must reach its box (docs/sandbox.md, SLUICE_TMPDIR)
process.env.SLUICE_TMPDIR = tmp;
const dir = scratch();

/** What jobs left in SLUICE_TMPDIR. */
const leftovers = () => readdirSync(tmp);

async function job(jobType: string, name: string, stdin: string, extra: Environ = {}, defines: Record<string, string | number> = {}): Promise<Environ & { stdout: string }> {
  const outFile = path.join(dir, `out-${Math.random().toString(36).slice(2)}`);
  const out = await runJob({
    job_type: jobType,
    exe_file: await program(name, defines),
    in_file: file(dir, `in-${Math.random().toString(36).slice(2)}`, stdin),
    out_file: outFile,
    exec_time_limit: 5000,
    exec_mem_limit: 64 * 1024,
    ...extra,
  });
  if (out.result !== 'SUCCESS') throw new Error(`job failed: ${out.exception}`);
  return { ...out, stdout: existsSync(outFile) ? readFileSync(outFile, 'utf8') : '' };
}

beforeAll(async () => {
  await Promise.all(['deep', 'immutable', 'aplusb'].map((p) => program(p)));
}, 120_000);

afterAll(() => {
  delete process.env.SLUICE_TMPDIR;
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

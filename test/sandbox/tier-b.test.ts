import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Environ } from '../../src/environ/index.js';
import { DEFAULT_SANDBOX } from '../../src/environ/index.js';
import { capabilities, configureSandbox } from '../../src/sandbox/index.js';
import { file, processesNamed, program, requireSandboxTools, runJob, scratch } from './helpers.js';

requireSandboxTools();

const dir = scratch();

async function exec(name: string, extra: Environ = {}, jobType = 'exec'): Promise<Environ> {
  const out = await runJob({ job_type: jobType, exe_file: await program(name), in_file: file(dir, `in-${name}`, '150\n'), exec_time_limit: 2000, ...extra });
  if (out.result !== 'SUCCESS') throw new Error(`job failed: ${out.exception}`);
  return out;
}

/** Tier B: isolation without cgroups; memory by RSS polling, processes by RLIMIT_NPROC, CPU from /proc. */
describe('without cgroups (SLUICE_CGROUPS=off)', () => {
  beforeAll(async () => {
    // RLIMIT_NPROC counts every task of the uid on the host: other test files' runs use 65534.
    configureSandbox({ cgroups: false, uid: 65000 });
    await Promise.all(['aplusb', 'loop', 'burn', 'mem_malloc', 'reserve', 'forkmany'].map((p) => program(p)));
  }, 120_000);
  afterAll(() => {
    configureSandbox({ cgroups: DEFAULT_SANDBOX.cgroups, uid: DEFAULT_SANDBOX.uid });
  });

  it('the probe says tier B and exec stays available', async () => {
    const caps = await capabilities();
    expect(caps.tier).toBe('B');
    expect(caps.executors.exec.ok).toBe(true);
  });

  it('time: OK and TLE from the process tree', async () => {
    expect(await exec('burn', { exec_time_limit: 1000 })).toMatchObject({ result_code: 'OK' });
    const tle = await exec('loop', { exec_time_limit: 300 });
    expect(tle).toMatchObject({ result_code: 'TLE' });
    expect(tle.time_used).toBeLessThan(400);
  });

  it('memory: 200 MiB is OK under 256 MiB and MLE under 100 MiB; reserving without touching is OK', async () => {
    expect(await exec('mem_malloc', { exec_mem_limit: 256 * 1024 })).toMatchObject({ result_code: 'OK' });
    expect(await exec('mem_malloc', { exec_mem_limit: 100 * 1024 })).toMatchObject({ result_code: 'MLE' });
    expect(await exec('reserve', { exec_mem_limit: 16 * 1024 })).toMatchObject({ result_code: 'OK' });
    expect(await exec('mem_malloc', { exec_mem_limit: 100 * 1024 }, 'unsafe-exec')).toMatchObject({ result_code: 'MLE' });
  });

  it('processes: the limit holds through RLIMIT_NPROC, and nothing is left behind', async () => {
    const out = await runJob({ job_type: 'exec', exe_file: await program('forkmany'), exec_process_limit: 10, out_file: `${dir}/fork.out` });
    expect(out.result_code).toBe('OK');
    const { readFileSync } = await import('node:fs');
    expect(Number(readFileSync(`${dir}/fork.out`, 'utf8'))).toBeLessThanOrEqual(10);
    expect(processesNamed('sluiceforkmany')).toEqual([]);
  });
});

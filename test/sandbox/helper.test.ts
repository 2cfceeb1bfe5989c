import { existsSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { capabilities, helperServer } from '../../src/sandbox/index.js';
import { file, program, requireSandboxTools, runJob, scratch } from './helpers.js';

requireSandboxTools();

const dir = scratch();

describe('the served helper', () => {
  it('leaves no per-run cgroup behind (removal is asynchronous; a killed server leaves its groups to the next probe)', async () => {
    const caps = await capabilities();
    await runJob({ job_type: 'exec', exe_file: await program('aplusb'), in_file: file(dir, 'in2', '1 2\n') });
    const stale = () =>
      caps.cgroups.plan.v1
        .filter((parent) => existsSync(parent))
        .flatMap((parent) => readdirSync(parent).filter((n) => /^sluice-\d+$/.test(n) && !existsSync(`/proc/${n.slice(7)}`)));
    for (let i = 0; i < 50 && stale().length; i++) await new Promise((r) => setTimeout(r, 20));
    // Groups of live supervisors (this file's spare, other test files' runs) may exist; none of a dead one.
    expect(stale()).toEqual([]);
  });

  it('runs many jobs at once, each with its own verdict', async () => {
    const [aplusb, loop, segv] = await Promise.all([program('aplusb'), program('loop'), program('segv')]);
    const jobs = Array.from({ length: 9 }, (_, i) => {
      const exe = [aplusb, loop, segv][i % 3]!;
      return runJob({ job_type: 'exec', exe_file: exe, in_file: file(dir, `in${i}`, `${i} ${i}\n`), exec_time_limit: 200, out_file: `${dir}/out${i}` });
    });
    const results = await Promise.all(jobs);
    results.forEach((r, i) => expect(r.result_code).toBe(['OK', 'TLE', 'RE'][i % 3]));
  });

  it('comes back after it is killed', async () => {
    const aplusb = await program('aplusb');
    const job = { job_type: 'exec', exe_file: aplusb, in_file: file(dir, 'in', '1 2\n') };
    expect(await runJob(job)).toMatchObject({ result_code: 'OK' });
    const pid = helperServer.pid;
    expect(pid).toBeGreaterThan(0);
    process.kill(pid!, 'SIGKILL');
    await new Promise((r) => setTimeout(r, 100));
    expect(await runJob(job)).toMatchObject({ result_code: 'OK' });
    expect(helperServer.pid).not.toBe(pid);
  });

});

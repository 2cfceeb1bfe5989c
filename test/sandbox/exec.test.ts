import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Environ } from '../../src/environ/index.js';
import { configureSandbox } from '../../src/sandbox/index.js';
import { file, program, requireSandboxTools, runJob, scratch, zip } from './helpers.js';

requireSandboxTools();

const dir = scratch();
const input = (text: string) => file(dir, `in-${Math.random().toString(36).slice(2)}`, text);

/** Runs a fixture under `exec` (or another exec job type) with the given limits and input. */
async function exec(name: string, limits: Environ = {}, stdin = '', extra: Environ = {}): Promise<Environ> {
  const out = await runJob({
    job_type: 'exec',
    exe_file: await program(name),
    in_file: input(stdin),
    exec_time_limit: 2000,
    exec_mem_limit: 64 * 1024,
    ...limits,
    ...extra,
  });
  if (out.result !== 'SUCCESS') throw new Error(`job failed: ${out.exception}`);
  return out;
}

beforeAll(async () => {
  // Compile the fixtures in parallel once, so the tests' timings are the runs'.
  await Promise.all(
    ['aplusb', 'wrong', 'exit_n', 'segv', 'abort', 'fpe', 'loop', 'burn', 'sleep', 'mem_malloc', 'mem_stack', 'mem_static', 'reserve', 'threads', 'flood', 'extra_file', 'echo'].map((p) =>
      program(p),
    ),
  );
}, 120_000);

describe('exec: answers and exit codes', () => {
  it('a correct answer is OK with figures; checked against the hint it is OK with full marks', async () => {
    const out = await exec('aplusb', {}, '40 2\n', { check_output: true, hint_file: file(dir, 'hint42', '42\n') });
    expect(out).toMatchObject({ result_code: 'OK', result_string: 'ok', result_percentage: [100, 1], return_code: 0 });
    expect(out.time_used).toBeGreaterThanOrEqual(0);
    expect(out.time_used).toBeLessThan(100);
    expect(out.mem_used).toBeGreaterThan(100);
    expect(out.real_time_used).toBeLessThan(1000);
  });

  it('a wrong answer is WA with oicompare\'s message (and OK without checking)', async () => {
    const hint = file(dir, 'hint42b', '42\n');
    expect(await exec('wrong', {}, '40 2\n', { check_output: true, hint_file: hint })).toMatchObject({
      result: 'SUCCESS',
      result_code: 'WA',
      result_string: 'WRONG: line 1: expected "42", got "43"',
      result_percentage: [0, 1],
    });
    expect(await exec('wrong', {}, '40 2\n')).toMatchObject({ result_code: 'OK', result_percentage: [0, 1] });
  });

  it('an exit code: RE "program exited with code N"; exit 0 is OK', async () => {
    expect(await exec('exit_n', {}, '42')).toMatchObject({ result_code: 'RE', result_string: 'program exited with code 42', return_code: 42 });
    expect(await exec('exit_n', {}, '0')).toMatchObject({ result_code: 'OK' });
  });

  it.each([
    ['segv', 11],
    ['abort', 6],
    ['fpe', 8],
  ])('%s dies with signal %i: RE', async (name, signal) => {
    const out = await exec(name);
    expect(out).toMatchObject({ result_code: 'RE', result_string: `program exited due to signal ${signal}`, exit_signal: signal });
    expect(out.return_code).toBeUndefined();
  });
});

describe('exec: time', () => {
  it('an endless loop is stopped at the CPU limit (ms resolution): TLE', async () => {
    const out = await exec('loop', { exec_time_limit: 300 });
    expect(out).toMatchObject({ result_code: 'TLE', result_string: 'time limit exceeded' });
    expect(out.time_used).toBeGreaterThanOrEqual(300);
    expect(out.time_used).toBeLessThan(400);
  });

  it('a 150 ms computation is OK under 1000 ms and TLE under 100 ms', async () => {
    const ok = await exec('burn', { exec_time_limit: 1000 }, '150');
    expect(ok).toMatchObject({ result_code: 'OK' });
    expect(ok.time_used).toBeGreaterThanOrEqual(145);
    expect(ok.time_used).toBeLessThan(300);
    expect(await exec('burn', { exec_time_limit: 100 }, '150')).toMatchObject({ result_code: 'TLE' });
  });

  it('two threads count twice: 2 × 200 ms of CPU is OK under 1000 ms and TLE under 300 ms', async () => {
    // (With two idle cores the TLE comes after ~150 ms of wall time; under load it need not.)
    const ok = await exec('threads', { exec_time_limit: 1000 }, '200');
    expect(ok).toMatchObject({ result_code: 'OK' });
    expect(ok.time_used).toBeGreaterThanOrEqual(390);
    const tle = await exec('threads', { exec_time_limit: 300 }, '200');
    expect(tle).toMatchObject({ result_code: 'TLE', result_string: 'time limit exceeded' });
    expect(tle.time_used).toBeLessThan(390);
  });

  it('sleeping forever hits the wall limit: TLE "real time limit exceeded"; the default wall limit is generous', async () => {
    const out = await exec('sleep', { exec_time_limit: 1000, exec_real_time_limit: 400 });
    expect(out).toMatchObject({ result_code: 'TLE', result_string: 'real time limit exceeded' });
    expect(out.real_time_used).toBeGreaterThanOrEqual(400);
    expect(out.time_used).toBeLessThan(50);
    const byDefault = await exec('sleep', { exec_time_limit: 100 });
    expect(byDefault).toMatchObject({ result_code: 'TLE', result_string: 'real time limit exceeded' });
    expect(byDefault.real_time_used).toBeGreaterThanOrEqual(1300);
  });
});

describe('exec: memory (resident, not reserved)', () => {
  it.each(['mem_malloc', 'mem_stack', 'mem_static'])('%s: 200 MiB is OK under 256 MiB and MLE under 100 MiB', async (name) => {
    const ok = await exec(name, { exec_mem_limit: 256 * 1024 });
    expect(ok).toMatchObject({ result_code: 'OK' });
    expect(ok.mem_used).toBeGreaterThan(200 * 1024);
    expect(ok.mem_used).toBeLessThan(256 * 1024);
    const mle = await exec(name, { exec_mem_limit: 100 * 1024 });
    expect(mle).toMatchObject({ result_code: 'MLE', result_string: 'memory limit exceeded' });
  });

  it('reserving 2 GiB but touching two pages is OK under 16 MiB', async () => {
    const out = await exec('reserve', { exec_mem_limit: 16 * 1024 });
    expect(out).toMatchObject({ result_code: 'OK' });
    expect(out.mem_used).toBeLessThan(16 * 1024);
  });
});

describe('exec: output', () => {
  it('1 MiB of output is OK under 2 MiB and OLE under 100 KiB', async () => {
    const outFile = path.join(dir, 'flood.out');
    const ok = await exec('flood', { exec_output_limit: 2 << 20 }, '1024', { out_file: outFile });
    expect(ok).toMatchObject({ result_code: 'OK', out_file: outFile });
    expect(readFileSync(outFile).length).toBe(1 << 20);
    expect(await exec('flood', { exec_output_limit: 100 << 10 }, '1024')).toMatchObject({ result_code: 'OLE', result_string: 'output limit exceeded' });
  });

  it('in_file may be a zip with one member; out_file receives the output', async () => {
    const outFile = path.join(dir, 'echo.out');
    const zipped = file(dir, 'input.zip', zip({ input: '42 42\n1337\nsome string!\n' }));
    const out = await runJob({ job_type: 'exec', exe_file: await program('echo'), in_file: zipped, out_file: outFile, upload_out: true });
    expect(out).toMatchObject({ result: 'SUCCESS', result_code: 'OK', out_file: outFile });
    expect(readFileSync(outFile, 'utf8')).toBe('42 42\n1337\nsome string!\n');
    const two = await runJob({ job_type: 'exec', exe_file: await program('echo'), in_file: file(dir, 'two.zip', zip({ a: '1', b: '2' })) });
    expect(two).toMatchObject({ result: 'FAILURE' });
    expect(two.exception).toMatch(/2 members/);
  });

  it('extra_execution_files are placed next to the program', async () => {
    const extra = file(dir, 'extra_exec_file.suffix', 'DEADBEEF\n');
    expect(await exec('extra_file')).toMatchObject({ result_code: 'RE', return_code: 2 });
    expect(await exec('extra_file', {}, '', { extra_execution_files: { extra_exec_file: extra } })).toMatchObject({ result_code: 'OK' });
  });

  it('output-only: the submitted file is the output, and it is checked', async () => {
    const answer = file(dir, 'answer.txt', '42\n');
    const out = await runJob({
      job_type: 'exec',
      exe_file: answer,
      exec_info: { mode: 'output-only' },
      check_output: true,
      hint_file: file(dir, 'hint-oo', '42\n'),
    });
    expect(out).toMatchObject({ result: 'SUCCESS', result_code: 'OK', result_percentage: [100, 1], out_file: answer, time_used: 0 });
  });
});

describe('unsafe-exec and cpu-exec', () => {
  it('give the same verdicts with the same limits', async () => {
    for (const job_type of ['unsafe-exec', 'cpu-exec']) {
      expect(await exec('aplusb', {}, '1 2', { job_type })).toMatchObject({ result_code: 'OK' });
      expect(await exec('segv', {}, '', { job_type })).toMatchObject({ result_code: 'RE', exit_signal: 11 });
      const tle = await exec('loop', { exec_time_limit: 200 }, '', { job_type });
      expect(tle).toMatchObject({ result_code: 'TLE' });
      expect(tle.time_used).toBeLessThan(300);
      expect(await exec('mem_malloc', { exec_mem_limit: 100 * 1024 }, '', { job_type })).toMatchObject({ result_code: 'MLE' });
    }
  });
});

describe('abort', () => {
  it('an aborted run stops at once and the job fails as aborted', async () => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 200);
    const out = await runJob({ job_type: 'exec', exe_file: await program('sleep'), exec_time_limit: 10_000 }, controller.signal);
    expect(out).toMatchObject({ result: 'FAILURE' });
    expect(out.exception).toMatch(/AbortedError/);
    expect(Date.now() - started).toBeLessThan(3000);
  });
});

describe('sio2jail-exec: counted time', () => {
  afterAll(() => {
    configureSandbox({ sio2jailEvent: 'instructions' });
  });

  it('without a hardware counter it measures CPU time and says so', async () => {
    const out = await exec('burn', { exec_time_limit: 1000 }, '50', { job_type: 'sio2jail-exec' });
    expect(out).toMatchObject({ result_code: 'OK', time_measure: 'cpu', num_instructions: null, time_measure_note: expect.stringMatching(/^CPU time, not instructions: /) });
  });

  it('a counter (here task-clock, the same path as instructions) decides the time and the TLE', async () => {
    configureSandbox({ sio2jailEvent: 'task-clock' });
    const ok = await exec('burn', { exec_time_limit: 1000 }, '150', { job_type: 'sio2jail-exec' });
    expect(ok).toMatchObject({ result_code: 'OK', time_measure: 'task-clock', time_measure_note: expect.stringMatching(/^counted by the software task-clock event/) });
    expect(ok.time_used).toBeGreaterThanOrEqual(145);
    expect(ok.time_used).toBeLessThan(300);
    const tle = await exec('loop', { exec_time_limit: 300, exec_real_time_limit: 5000 }, '', { job_type: 'sio2jail-exec' });
    expect(tle).toMatchObject({ result_code: 'TLE', result_string: 'time limit exceeded' });
    expect(tle.time_used).toBeGreaterThanOrEqual(300);
    expect(tle.time_used).toBeLessThan(400);
  });
});

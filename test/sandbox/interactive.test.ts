import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Environ } from '../../src/environ/index.js';
import { file, processesNamed, program, requireSandboxTools, runJob, scratch } from './helpers.js';

requireSandboxTools();

const dir = scratch();
const secret = file(dir, 'secret.in', '271828\n');

/** Runs sol_guess (built with `solution` defines) against inter_guess (built with `interactor` defines). */
async function interactive(solution: Record<string, number> = {}, interactor: Record<string, number> = {}, extra: Environ = {}): Promise<Environ> {
  const out = await runJob({
    job_type: 'interactive-exec',
    exe_file: await program('sol_guess', solution),
    interactor_file: await program('inter_guess', interactor),
    in_file: secret,
    exec_time_limit: 1000,
    exec_mem_limit: 64 * 1024,
    ...extra,
  });
  if (out.result !== 'SUCCESS') throw new Error(`job failed: ${out.exception}`);
  return out;
}

beforeAll(async () => {
  const variants: Array<Record<string, number>> = [{}, { DUMB: 1 }, { QUIT: 1 }, { CRASH: 1 }, { SPIN: 1 }, { DEADLOCK: 1 }];
  await Promise.all([...variants.map((d) => program('sol_guess', d)), ...([{}, { CRASH: 1 }, { SILENT: 1 }, { SPIN: 1 }] as Array<Record<string, number>>).map((d) => program('inter_guess', d))]);
}, 120_000);

describe('interactive tasks: the program and the interactor, each in its own sandbox, connected by pipes', () => {
  it('a right answer is what the interactor says: OK with its comment and percentage; the interactor\'s output is out_file', async () => {
    const outFile = path.join(dir, 'inter.out');
    const out = await interactive({}, {}, { out_file: outFile });
    expect(out).toMatchObject({ result_code: 'OK', result_string: 'guessed by 1', result_percentage: [100, 1], out_file: outFile });
    expect(readFileSync(outFile, 'utf8')).toBe('OK\nguessed by 1\n100\n');
    expect(out.interactor_time_used).toEqual(expect.any(Number));
  });

  it('num_processes copies, each told its index: all must guess', async () => {
    expect(await interactive({}, {}, { num_processes: 3 })).toMatchObject({ result_code: 'OK', result_string: 'guessed by 3' });
  });

  it('the interactor\'s WRONG is WA with its comment', async () => {
    expect(await interactive({ DUMB: 1 })).toMatchObject({ result_code: 'WA', result_string: 'too many guesses', result_percentage: [0, 1] });
  });

  it('a program that quits early kills the interactor by SIGPIPE: WA "solution exited prematurely"', async () => {
    // Which comes first is the machine's: the interactor writes into the pipe before the program has
    // gone (then reads the end of its input and says so itself), or after (SIGPIPE). Both are WA.
    expect(await interactive({ QUIT: 1 })).toMatchObject({ result_code: 'WA', result_string: expect.stringMatching(/^(solution exited prematurely|no answer)$/) });
  });

  it('the program\'s own failure wins: RE for a crash, TLE for a loop', async () => {
    expect(await interactive({ CRASH: 1 })).toMatchObject({ result_code: 'RE', exit_signal: 11 });
    expect(await interactive({ SPIN: 1 }, {}, { exec_time_limit: 300 })).toMatchObject({ result_code: 'TLE', result_string: 'time limit exceeded' });
    expect(processesNamed('sol_guess')).toEqual([]);
  });

  it('a deadlock (each waits for the other) ends at the wall limit: TLE "real time limit exceeded"', async () => {
    const started = Date.now();
    const out = await interactive({ DEADLOCK: 1 }, {}, { exec_real_time_limit: 500 });
    expect(out).toMatchObject({ result_code: 'TLE', result_string: 'real time limit exceeded' });
    expect(out.real_time_used).toBeGreaterThanOrEqual(500);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('the interactor has limits of its own: one that loops after the program is done is TLE once its time (2 × the program\'s by default) is up', async () => {
    const out = await interactive({}, { SPIN: 1 }, { exec_time_limit: 200, exec_real_time_limit: 5000 });
    expect(out).toMatchObject({ result_code: 'TLE', result_string: expect.stringMatching(/^interactor time limit exceeded/) });
    expect(out.interactor_time_used).toBeGreaterThanOrEqual(400);
    expect(out.interactor_time_used).toBeLessThan(600);
  });

  it('an interactor that crashes or says nothing is SE with the reason, never a verdict against the program', async () => {
    expect(await interactive({}, { CRASH: 1 })).toMatchObject({ result_code: 'SE', result_string: 'interactor: program exited due to signal 11' });
    expect(await interactive({ QUIT: 1 }, { SILENT: 1 })).toMatchObject({ result_code: 'SE', result_string: 'the interactor printed no verdict' });
  });

  it('a missing interactor is SE saying so', async () => {
    const exe = await program('sol_guess');
    expect(await runJob({ job_type: 'interactive-exec', exe_file: exe, in_file: secret })).toMatchObject({ result: 'SUCCESS', result_code: 'SE', result_string: expect.stringMatching(/needs "interactor_file"/) });
    const gone = await runJob({ job_type: 'interactive-exec', exe_file: exe, in_file: secret, interactor_file: path.join(dir, 'no-such-interactor') });
    expect(gone).toMatchObject({ result: 'SUCCESS', result_code: 'SE', result_string: expect.stringMatching(/^cannot get the interactor .*no-such-interactor/) });
  });

  it('unsafe-interactive-exec runs the same without sandboxes; sio2jail-interactive-exec says how it measured time', async () => {
    expect(await interactive({}, {}, { job_type: 'unsafe-interactive-exec' })).toMatchObject({ result_code: 'OK' });
    expect(await interactive({}, {}, { job_type: 'sio2jail-interactive-exec' })).toMatchObject({ result_code: 'OK', time_measure: 'cpu', num_instructions: null });
  });
});

import { writeFile } from 'node:fs/promises';
import type { Environ, JobContext, JobFn } from '../environ/index.js';
import {
  capabilities,
  checkOutput,
  EXEC_DEFAULTS,
  execInfoOf,
  limitsFrom,
  readBoxTail,
  RunDir,
  runnerFor,
  runProgram,
  sandboxRunDir,
  Staging,
  type Limits,
  type Verdict,
} from '../sandbox/index.js';
import { notRun, writeVerdict } from './execResult.js';
import { stageProgram } from './stageProgram.js';

export type ExecKind = 'exec' | 'cpu-exec' | 'sio2jail-exec' | 'unsafe-exec';

/**
 * `exec`, `cpu-exec` (meant to run alone on a worker), `sio2jail-exec` (sandboxed; its time is
 * CPU time, saying so in `time_measure`: see timeMeasure) and `unsafe-exec` (rlimits and cgroups
 * only, for trusted code): run `exe_file` on `in_file` under the `exec_*` limits, as `exec_info`
 * says (an executable, a Java jar, or output-only), then check the output when `check_output` is
 * set. A TLE or WA is a successful job whose environ says so; SE says the sandbox, the runtime or
 * the checker failed, with the reason.
 */
export function execJob(kind: ExecKind): JobFn {
  const sandboxed = kind !== 'unsafe-exec';
  return async (environ: Environ, ctx: JobContext) => {
    const staging = new Staging(ctx, environ);
    const limits = limitsFrom(environ, 'exec_', EXEC_DEFAULTS);
    const info = execInfoOf(environ.exec_info);
    const run = sandboxed && info.mode !== 'output-only' ? await sandboxRunDir(ctx.tmpdir, kind, limits) : await RunDir.create(ctx.tmpdir, kind);
    try {
      const out = await execIn(run, environ, ctx, { sandboxed, limits, info, staging });
      if (kind === 'sio2jail-exec') Object.assign(out, await timeMeasure());
      return out;
    } finally {
      await run.dispose();
    }
  };
}

/**
 * sio2jail counts instructions (2·10⁹ = 1 s) where a hardware counter exists. Sluice measures CPU
 * time, and says so: `time_measure` is "cpu", `num_instructions` null, and `time_measure_note` why
 * (this machine's counter, as `sluice doctor` shows it).
 */
export async function timeMeasure(): Promise<Environ> {
  const caps = await capabilities();
  return { time_measure: 'cpu', num_instructions: null, time_measure_note: `CPU time, not instructions: ${caps.instructions.detail}` };
}

interface ExecSetup {
  sandboxed: boolean;
  limits: Limits;
  info: ReturnType<typeof execInfoOf>;
  staging: Staging;
}

/** One exec in its run folder: stage the files, run, check, store the output. */
async function execIn(run: RunDir, environ: Environ, ctx: JobContext, { sandboxed, limits, info, staging }: ExecSetup): Promise<Environ> {
  const input = run.file('in');
  const output = run.file('out');
  const staged: Array<Promise<unknown>> = [
    environ.in_file !== undefined && environ.in_file !== null ? staging.fetchUnzipped('in_file', input) : writeFile(input, '', { mode: 0o600 }),
  ];

  let verdict: Verdict;
  if (info.mode === 'output-only') {
    // Nothing runs: the submitted file is the output (sioworkers' output-only).
    await Promise.all([...staged, staging.fetch('exe_file', output, 0o600)]);
    verdict = notRun('OK', 'ok');
  } else {
    // The output exists even when the program never runs (SE), so out_file is always stored.
    staged.push(writeFile(output, '', { mode: 0o600 }));
    const found = runnerFor(info, limits, sandboxed ? '/box' : run.box);
    if (!found.ok) {
      await Promise.all(staged);
      verdict = notRun('SE', `cannot run: ${found.missing}`);
    } else {
      const { runner } = found;
      await Promise.all([...staged, stageProgram(staging, run, environ, runner.file)]);
      ({ verdict } = await runProgram({ ...runner.spec, isolation: sandboxed ? 'sandbox' : 'none', box: run.box, disk: run.disk, stdin: input, stdout: output }, ctx.signal));
      verdict = runner.verdict(verdict, await readBoxTail(output, 256));
    }
    // Nothing more is read from the box: its disk goes now, before the checker's comes.
    await run.dispose();
  }

  let percentage: [number, number] = [0, 1];
  if (verdict.result_code === 'OK' && environ.check_output) {
    const check = await checkOutput(environ, staging, { input, output, tmpdir: ctx.tmpdir, sandboxed: sandboxed || environ.untrusted_checker === true }, ctx.signal);
    verdict = { ...verdict, result_code: check.result_code, result_string: check.result_string ?? verdict.result_string };
    percentage = check.result_percentage;
  }

  writeVerdict(environ, verdict, percentage);
  if (info.mode === 'output-only') environ.out_file = environ.exe_file;
  else if (typeof environ.out_file === 'string' && environ.out_file) environ.out_file = await staging.store('out_file', output);
  return environ;
}

export const exec = execJob('exec');
export const cpuExec = execJob('cpu-exec');
export const sio2jailExec = execJob('sio2jail-exec');

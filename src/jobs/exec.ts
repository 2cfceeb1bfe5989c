import { writeFile } from 'node:fs/promises';
import type { Environ, JobContext, JobFn } from '../environ/index.js';
import {
  capabilities,
  sandboxSettings,
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
 * counted instructions where the machine can, else CPU time, saying which in `time_measure`) and
 * `unsafe-exec` (rlimits and cgroups only, for trusted code): run `exe_file` on `in_file` under the
 * `exec_*` limits, as `exec_info` says (an executable, a Java jar, or output-only), then check the output when `check_output` is
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
      const sio2jail = kind === 'sio2jail-exec';
      return await execIn(run, environ, ctx, { sandboxed, limits, info, staging, sio2jail, counter: sio2jail ? await instructionCounter() : undefined });
    } finally {
      await run.dispose();
    }
  };
}

/** How sio2jail-exec measures time: a counter and how many of its events make a millisecond, or CPU time (undefined). */
export interface Counter {
  event: 'instructions' | 'task-clock';
  perMs: number;
  note: string;
}

/**
 * sio2jail's time: instructions, 2·10⁹ = 1 s, where a hardware counter exists (`sluice doctor`,
 * "instructions"). `SLUICE_SIO2JAIL_EVENT=task-clock` counts the software task-clock (ns of CPU)
 * through the same path instead: how it is tested on machines without a PMU.
 */
export async function instructionCounter(): Promise<Counter | undefined> {
  if (sandboxSettings().sio2jailEvent === 'task-clock') return { event: 'task-clock', perMs: 1e6, note: 'the software task-clock event (SLUICE_SIO2JAIL_EVENT=task-clock): 10⁶ ns = 1 ms of CPU' };
  return (await capabilities()).instructions.ok ? { event: 'instructions', perMs: 2e6, note: 'instructions: 2·10⁹ = 1 s, as sio2jail' } : undefined;
}

/**
 * What the environ says about the time (sio2jail-exec): `time_measure` ("instructions" or, where
 * none can be counted, "cpu"), `num_instructions` (null when not counted) and `time_measure_note`.
 */
export async function timeMeasure(counter: Counter | undefined, counted?: number): Promise<Environ> {
  if (!counter) {
    const caps = await capabilities();
    return { time_measure: 'cpu', num_instructions: null, time_measure_note: `CPU time, not instructions: ${caps.instructions.detail}` };
  }
  return { time_measure: counter.event, num_instructions: counter.event === 'instructions' ? (counted ?? null) : null, time_measure_note: `counted by ${counter.note}` };
}

interface ExecSetup {
  sandboxed: boolean;
  limits: Limits;
  info: ReturnType<typeof execInfoOf>;
  staging: Staging;
  /** sio2jail-exec: says how it measured time; counted time, or undefined for CPU time. */
  sio2jail: boolean;
  counter?: Counter;
}

/** One exec in its run folder: stage the files, run, check, store the output. */
async function execIn(run: RunDir, environ: Environ, ctx: JobContext, { sandboxed, limits, info, staging, sio2jail, counter }: ExecSetup): Promise<Environ> {
  const input = run.file('in');
  const output = run.file('out');
  const staged: Array<Promise<unknown>> = [
    environ.in_file !== undefined && environ.in_file !== null ? staging.fetchUnzipped('in_file', input) : writeFile(input, '', { mode: 0o600 }),
  ];

  let verdict: Verdict;
  let counted: number | undefined;
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
      const spec = { ...runner.spec, isolation: sandboxed ? ('sandbox' as const) : ('none' as const), box: run.box, disk: run.disk, stdin: input, stdout: output };
      // Counted time decides TLE (at the limit's count), not CPU time, which only backs up the wall limit.
      if (counter) Object.assign(spec, { count: { event: counter.event, limit: limits.timeMs * counter.perMs }, limits: { ...spec.limits, timeMs: spec.limits.realTimeMs } });
      const ran = await runProgram(spec, ctx.signal);
      verdict = runner.verdict(ran.verdict, await readBoxTail(output, 256));
      if (counter) {
        counted = ran.report.instructions;
        verdict = { ...verdict, time_used: Math.floor((counted ?? 0) / counter.perMs) };
      }
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
  if (sio2jail) Object.assign(environ, await timeMeasure(counter, counted));
  if (info.mode === 'output-only') environ.out_file = environ.exe_file;
  else if (typeof environ.out_file === 'string' && environ.out_file) environ.out_file = await staging.store('out_file', output);
  return environ;
}

export const exec = execJob('exec');
export const cpuExec = execJob('cpu-exec');
export const sio2jailExec = execJob('sio2jail-exec');

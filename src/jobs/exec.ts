import { writeFile } from 'node:fs/promises';
import type { Environ, JobContext, JobFn } from '../environ/index.js';
import { UsageError } from '../environ/index.js';
import {
  capResultString,
  checkOutput,
  EXEC_DEFAULTS,
  limitsFrom,
  RunDir,
  runProgram,
  sandboxRunDir,
  Staging,
  type Limits,
  type Verdict,
} from '../sandbox/index.js';

export type ExecKind = 'exec' | 'cpu-exec' | 'unsafe-exec';

/** `exec_info`: `executable` (default) or `output-only`, as a string or sioworkers' `{mode: ...}`. */
function modeOf(info: unknown): 'executable' | 'output-only' {
  const mode = typeof info === 'object' && info !== null ? (info as { mode?: unknown }).mode : info;
  if (mode === undefined || mode === null || mode === 'executable') return 'executable';
  if (mode === 'output-only') return 'output-only';
  throw new UsageError(`exec_info mode ${JSON.stringify(mode)} is not supported (executable, output-only)`);
}

function extraFiles(value: unknown): Array<[string, string]> {
  if (value === undefined || value === null) return [];
  if (typeof value !== 'object' || Array.isArray(value)) throw new UsageError('extra_execution_files must be an object {name: file}');
  return Object.entries(value as Record<string, unknown>).map(([name, file]) => {
    if (typeof file !== 'string') throw new UsageError(`extra_execution_files.${name} must name a file`);
    return [name, file];
  });
}

/**
 * `exec`, `cpu-exec` (sandboxed; cpu-exec is meant to run alone on a worker) and `unsafe-exec`
 * (rlimits and cgroups only, for trusted code): run `exe_file` on `in_file` under the `exec_*`
 * limits, then check the output when `check_output` is set. A TLE or WA is a successful job whose
 * environ says so; SE says the sandbox or the checker failed, with the reason.
 */
export function execJob(kind: ExecKind): JobFn {
  const sandboxed = kind !== 'unsafe-exec';
  return async (environ: Environ, ctx: JobContext) => {
    const staging = new Staging(ctx, environ);
    const limits = limitsFrom(environ, 'exec_', EXEC_DEFAULTS);
    const mode = modeOf(environ.exec_info);
    const run = sandboxed && mode === 'executable' ? await sandboxRunDir(ctx.tmpdir, kind, limits) : await RunDir.create(ctx.tmpdir, kind);
    try {
      return await execIn(run, environ, ctx, { sandboxed, limits, mode, staging });
    } finally {
      await run.dispose();
    }
  };
}

interface ExecSetup {
  sandboxed: boolean;
  limits: Limits;
  mode: 'executable' | 'output-only';
  staging: Staging;
}

/** One exec in its run folder: stage the files, run, check, store the output. */
async function execIn(run: RunDir, environ: Environ, ctx: JobContext, { sandboxed, limits, mode, staging }: ExecSetup): Promise<Environ> {
  const input = run.file('in');
  const output = run.file('out');
  const staged: Array<Promise<unknown>> = [
    environ.in_file !== undefined && environ.in_file !== null ? staging.fetchUnzipped('in_file', input) : writeFile(input, '', { mode: 0o600 }),
  ];

  let verdict: Verdict;
  if (mode === 'output-only') {
    // Nothing runs: the submitted file is the output (sioworkers' output-only).
    await Promise.all([...staged, staging.fetch('exe_file', output, 0o600)]);
    verdict = { result_code: 'OK', result_string: 'ok', time_used: 0, real_time_used: 0, mem_used: 0 };
  } else {
    staged.push(
      staging.fetch('exe_file', run.boxFile('exe'), 0o755),
      ...extraFiles(environ.extra_execution_files).map(([name, file]) => staging.fetchName(file, run.boxFile(name))),
      // The output exists even when the program never runs (SE), so out_file is always stored.
      writeFile(output, '', { mode: 0o600 }),
    );
    await Promise.all(staged);
    ({ verdict } = await runProgram(
      {
        isolation: sandboxed ? 'sandbox' : 'none',
        box: run.box,
        disk: run.disk,
        program: sandboxed ? '/box/exe' : run.boxFile('exe'),
        stdin: input,
        stdout: output,
        limits,
      },
      ctx.signal,
    ));
    // Nothing more is read from the box: its disk goes now, before the checker's comes.
    await run.dispose();
  }

  let percentage: [number, number] = [0, 1];
  if (verdict.result_code === 'OK' && environ.check_output) {
    const check = await checkOutput(environ, staging, { input, output, tmpdir: ctx.tmpdir }, ctx.signal);
    verdict = { ...verdict, result_code: check.result_code, result_string: check.result_string ?? verdict.result_string };
    percentage = check.result_percentage;
  }

  for (const key of ['exit_signal', 'return_code']) delete environ[key];
  Object.assign(environ, {
    result_code: verdict.result_code,
    result_string: capResultString(verdict.result_string),
    result_percentage: percentage,
    time_used: verdict.time_used,
    real_time_used: verdict.real_time_used,
    mem_used: verdict.mem_used,
    num_syscalls: 0,
    ...(verdict.exit_signal !== undefined ? { exit_signal: verdict.exit_signal } : {}),
    ...(verdict.return_code !== undefined ? { return_code: verdict.return_code } : {}),
  });
  if (mode === 'output-only') environ.out_file = environ.exe_file;
  else if (typeof environ.out_file === 'string' && environ.out_file) environ.out_file = await staging.store('out_file', output);
  return environ;
}

export const exec = execJob('exec');
export const cpuExec = execJob('cpu-exec');

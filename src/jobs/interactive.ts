import { writeFile } from 'node:fs/promises';
import type { Environ, JobContext, JobFn } from '../environ/index.js';
import { UsageError } from '../environ/index.js';
import {
  EXEC_DEFAULTS,
  execInfoOf,
  limitsFrom,
  readBoxFile,
  readCheckerOutput,
  RunDir,
  runGroup,
  runnerFor,
  sandboxRunDir,
  Staging,
  type Limits,
  type RunSpec,
  type Verdict,
} from '../sandbox/index.js';
import { timeMeasure, type ExecKind } from './exec.js';
import { notRun, writeVerdict } from './execResult.js';
import { stageProgram } from './stageProgram.js';

const SIGPIPE = 13;
/** sioworkers' interactor defaults (notes §3.4): twice the program's time, 256 MiB. */
const INTERACTOR_MEM_KB = 256 * 1024;
const MAX_PROCESSES = 16;

/** How many copies of the program talk to the interactor (`num_processes`, default 1). */
function processCount(value: unknown): number {
  if (value === undefined || value === null) return 1;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > MAX_PROCESSES) throw new UsageError(`num_processes must be an integer from 1 to ${MAX_PROCESSES}, got ${JSON.stringify(value)}`);
  return n;
}

/**
 * `interactive-exec`, `cpu-interactive-exec`, `sio2jail-interactive-exec` and
 * `unsafe-interactive-exec` (sioworkers' interactive jobs, notes §3.5): `num_processes` copies of
 * the program and the interactor (`interactor_file`) run at once, each in its own sandbox with its
 * own limits (`exec_*`; `interactor_*`, by default twice the program's time and 256 MiB),
 * connected by two pipes per copy. Copy i runs with argv [i], its stdin and stdout the pipes; the
 * interactor runs as `soc N r1 w1 ... rN wN` with the test as stdin, its stdout the file whose
 * first three lines are its verdict (OK or not, a comment, a percentage), uploaded as out_file.
 * A deadlock ends at the wall limits. The verdict: see interactiveVerdict.
 */
export function interactiveJob(kind: ExecKind): JobFn {
  const sandboxed = kind !== 'unsafe-exec';
  return async (environ: Environ, ctx: JobContext) => {
    const staging = new Staging(ctx, environ);
    const limits = limitsFrom(environ, 'exec_', EXEC_DEFAULTS);
    const interactorLimits = limitsFrom(environ, 'interactor_', { ...EXEC_DEFAULTS, timeMs: 2 * limits.timeMs, memKb: INTERACTOR_MEM_KB });
    const info = execInfoOf(environ.exec_info);
    if (info.mode === 'output-only') throw new UsageError('an interactive task cannot be output-only');
    const n = processCount(environ.num_processes);
    const dir = (name: string, l: Limits) => (sandboxed ? sandboxRunDir(ctx.tmpdir, name, l) : RunDir.create(ctx.tmpdir, name));
    const runs: RunDir[] = [];
    try {
      for (let i = 0; i <= n; i++) runs.push(await dir(i < n ? `${kind}-${i}` : 'interactor', i < n ? limits : interactorLimits));
      const interactor = runs[n]!;
      const output = interactor.file('out');
      await writeFile(output, '', { mode: 0o600 });
      const verdict = await interact(environ, ctx, staging, { runs, n, limits, interactorLimits, sandboxed, info });
      writeVerdict(environ, verdict.verdict, verdict.percentage);
      Object.assign(environ, { interactor_time_used: verdict.interactor?.time_used ?? 0, interactor_mem_used: verdict.interactor?.mem_used ?? 0 });
      if (typeof environ.out_file === 'string' && environ.out_file) environ.out_file = await staging.store('out_file', output);
      // Interactive runs measure CPU time (their copies and the interactor are not counted).
      if (kind === 'sio2jail-exec') Object.assign(environ, await timeMeasure(undefined));
      return environ;
    } finally {
      for (const run of runs) await run.dispose();
    }
  };
}

interface Setup {
  runs: RunDir[];
  n: number;
  limits: Limits;
  interactorLimits: Limits;
  sandboxed: boolean;
  info: ReturnType<typeof execInfoOf>;
}

interface Outcome {
  verdict: Verdict;
  percentage: [number, number];
  interactor?: Verdict;
}

async function interact(environ: Environ, ctx: JobContext, staging: Staging, { runs, n, limits, interactorLimits, sandboxed, info }: Setup): Promise<Outcome> {
  const interactor = runs[n]!;
  const input = interactor.file('in');
  const fetches: Array<Promise<unknown>> = [
    environ.in_file !== undefined && environ.in_file !== null ? staging.fetchUnzipped('in_file', input) : writeFile(input, '', { mode: 0o600 }),
  ];
  // The interactor is the task's, not the contestant's: without it the job cannot be judged (SE, saying why).
  if (typeof environ.interactor_file !== 'string' || !environ.interactor_file) return { verdict: notRun('SE', 'an interactive task needs "interactor_file" (the interactor program)'), percentage: [0, 1] };
  try {
    await staging.fetch('interactor_file', interactor.boxFile('soc'), 0o755);
  } catch (err) {
    return { verdict: notRun('SE', `cannot get the interactor (interactor_file ${JSON.stringify(environ.interactor_file)}): ${(err as Error).message}`), percentage: [0, 1] };
  }
  const box = (run: RunDir) => (sandboxed ? '/box' : run.box);
  const programs: RunSpec[] = [];
  for (let i = 0; i < n; i++) {
    const found = runnerFor(info, limits, box(runs[i]!), [String(i)]);
    if (!found.ok) return { verdict: notRun('SE', `cannot run: ${found.missing}`), percentage: [0, 1] };
    fetches.push(stageProgram(staging, runs[i]!, environ, found.runner.file));
    programs.push({
      ...found.runner.spec,
      isolation: sandboxed ? 'sandbox' : 'none',
      box: runs[i]!.box,
      disk: runs[i]!.disk,
      // Pipe 2i carries the interactor's words to copy i, pipe 2i + 1 the copy's answers.
      pipes: [
        { fd: 0, pipe: 2 * i, end: 'r' },
        { fd: 1, pipe: 2 * i + 1, end: 'w' },
      ],
    });
  }
  await Promise.all(fetches);
  const fds = Array.from({ length: n }, (_, i) => [3 + 2 * i, 4 + 2 * i] as const);
  const soc: RunSpec = {
    isolation: sandboxed ? 'sandbox' : 'none',
    box: interactor.box,
    disk: interactor.disk,
    program: `${box(interactor)}/soc`,
    args: [String(n), ...fds.flatMap(([r, w]) => [String(r), String(w)])],
    stdin: input,
    stdout: interactor.file('out'),
    pipes: fds.flatMap(([r, w], i) => [
      { fd: r, pipe: 2 * i + 1, end: 'r' as const },
      { fd: w, pipe: 2 * i, end: 'w' as const },
    ]),
    limits: interactorLimits,
  };
  const results = await runGroup([...programs, soc], 2 * n, ctx.signal);
  const said = (await readBoxFile(interactor.file('out'), 64 * 1024))?.data ?? Buffer.alloc(0);
  return interactiveVerdict(
    results.slice(0, n).map((r) => r.verdict),
    results[n]!.verdict,
    said,
  );
}

/** A failure the program made by itself: a limit, a signal other than SIGPIPE, a forbidden syscall (not an exit code). */
function ownFailure(v: Verdict): boolean {
  return v.result_code !== 'OK' && v.result_code !== 'RE' ? true : v.result_code === 'RE' && v.exit_signal !== undefined && v.exit_signal !== SIGPIPE;
}

/**
 * The verdict of an interactive run, without depending on which side the machine happened to end
 * first (a program often fails on the end of its input once the interactor has judged it):
 *   1. a copy that failed by itself (TLE, MLE, OLE, RV, or a signal but SIGPIPE) keeps its verdict;
 *   2. the interactor's first line decides, if it printed one: WA with its comment, or OK with its
 *      comment and percentage, but never an OK over a copy that exited with an error code (RE);
 *   3. an interactor that failed (not by SIGPIPE) is TLE when it ran out of time (either side can
 *      cause that, as sioworkers says), SE otherwise;
 *   4. a copy that exited with an error code is RE;
 *   5. an interactor killed by SIGPIPE says the program exited prematurely (WA);
 *   6. an interactor that said nothing is SE.
 * Steps 2-6 are sioworkers' order; step 1 and the OK rule keep the program's own RE, TLE or MLE,
 * as the issue asks. The figures are the failed copy's, else the largest of all copies.
 */
export function interactiveVerdict(programs: Verdict[], interactor: Verdict, said: Buffer): Outcome {
  const own = programs.find(ownFailure);
  const exited = programs.find((v) => v.result_code !== 'OK' && !(v.result_code === 'RE' && v.exit_signal === SIGPIPE));
  const figures = programs.reduce((a, b) => ({ ...a, time_used: Math.max(a.time_used, b.time_used), mem_used: Math.max(a.mem_used, b.mem_used), real_time_used: Math.max(a.real_time_used, b.real_time_used) }));
  const out = (result_code: Verdict['result_code'], result_string: string, percentage: [number, number] = [0, 1]): Outcome => ({
    verdict: { ...figures, result_code, result_string, exit_signal: undefined, return_code: undefined },
    percentage,
    interactor,
  });
  if (own) return { verdict: own, percentage: [0, 1], interactor };
  // sioworkers right-strips the interactor's lines.
  const lines = said.toString('utf8').split('\n').slice(0, 3).map((l) => l.trimEnd());
  if (lines[0]) {
    const verdict = readCheckerOutput(Buffer.from(lines.join('\n')), 0);
    if (verdict.result === 'SE') return out('SE', `interactor: ${verdict.reason}`);
    if (verdict.result === 'WA' || !exited) return out(verdict.result, verdict.comment || (verdict.result === 'OK' ? 'ok' : ''), verdict.percentage);
  }
  const interactorPiped = interactor.exit_signal === SIGPIPE;
  if (interactor.result_code !== 'OK' && !interactorPiped) {
    if (interactor.result_code === 'TLE') return out('TLE', `interactor time limit exceeded (the program or the interactor can be the cause): ${interactor.result_string}`);
    return out('SE', `interactor: ${interactor.result_string}`);
  }
  if (exited) return { verdict: exited, percentage: [0, 1], interactor };
  if (interactorPiped) return out('WA', 'solution exited prematurely');
  return out('SE', 'the interactor printed no verdict');
}

export const interactiveExec = interactiveJob('exec');
export const cpuInteractiveExec = interactiveJob('cpu-exec');
export const sio2jailInteractiveExec = interactiveJob('sio2jail-exec');
export const unsafeInteractiveExec = interactiveJob('unsafe-exec');

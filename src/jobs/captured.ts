import { writeFile } from 'node:fs/promises';
import type { Environ, JobContext } from '../environ/index.js';
import { decodeLossy, execInfoOf, readBoxFile, runnerFor, runProgram, type Limits, type RunDir, type Staging, type Verdict } from '../sandbox/index.js';
import { notRun } from './execResult.js';
import { stageProgram } from './stageProgram.js';

export interface Captured {
  verdict: Verdict;
  /** stdout and stderr together, cut to the output limit, as lines (sioworkers' split_lines). */
  lines: string[];
}

/**
 * Runs a package's program (ingen's generator, inwer's verifier) sandboxed in `run` with stdout and
 * stderr captured together: `exe_file` as `exec_info` says, with `args`, `stdin` (a host file) or
 * nothing. `killOnOutput`: more output than the limit is OLE (inwer, as sioworkers' sandboxed
 * verifier); otherwise it is only cut (ingen). `fileSizeBytes` bounds each file the program writes.
 */
export async function runCaptured(
  environ: Environ,
  ctx: JobContext,
  staging: Staging,
  run: RunDir,
  { limits, args = [], stdin, killOnOutput, fileSizeBytes }: { limits: Limits; args?: string[]; stdin?: string; killOnOutput: boolean; fileSizeBytes?: number },
): Promise<Captured> {
  const found = runnerFor(execInfoOf(environ.exec_info), limits, '/box', args);
  if (!found.ok) return { verdict: notRun('SE', `cannot run: ${found.missing}`), lines: [] };
  const { runner } = found;
  const output = run.file('output');
  await Promise.all([stageProgram(staging, run, environ, runner.file), writeFile(output, '', { mode: 0o600 })]);
  const { verdict } = await runProgram(
    {
      ...runner.spec,
      limits: killOnOutput ? runner.spec.limits : { ...runner.spec.limits, outputBytes: 0 },
      isolation: 'sandbox',
      box: run.box,
      disk: run.disk,
      stdin,
      stdout: output,
      stderr: 'stdout',
      fileSizeBytes,
    },
    ctx.signal,
  );
  const data = (await readBoxFile(output, limits.outputBytes))?.data ?? Buffer.alloc(0);
  const lines = decodeLossy(data).split('\n');
  if (lines.at(-1) === '') lines.pop();
  return { verdict, lines };
}

import { chmod, copyFile, readFile, stat } from 'node:fs/promises';
import type { Environ } from '../environ/index.js';
import { UsageError } from '../environ/index.js';
import { readBoxFile, RunDir } from './box.js';
import { readCheckerOutput } from './checkerProtocol.js';
import { compareOutputs, reportFormat } from './compare.js';
import { runProgram, sandboxRunDir } from './executor.js';
import { CHECKER_DEFAULTS, limitsFrom } from './limits.js';
import type { Staging } from './staging.js';
import { capResultString } from './text.js';
import type { Verdict } from './verdict.js';

export interface CheckResult {
  result_code: 'OK' | 'WA' | 'SE';
  /** Replaces the run's result_string when set. */
  result_string?: string;
  result_percentage: [number, number];
}

export interface CheckFiles {
  /** The test's input, the program's output and the job's folder (host paths). */
  input: string;
  output: string;
  tmpdir: string;
  /** Run a custom checker in the sandbox (always, but for unsafe-exec with untrusted_checker false). */
  sandboxed: boolean;
}

/**
 * Checks an OK run's output: with `chk_file`, the checker runs as `chk in out hint`, sandboxed
 * unless `files.sandboxed` is false (checkerProtocol.ts reads what it prints); without, the output
 * is compared with the hint the way oicompare does (compare.ts), reporting in `checker_format`. A
 * checker that crashes, exits 2 or more, or exceeds its limits gives SE with the reason, never a
 * verdict against the program.
 */
export async function checkOutput(environ: Environ, staging: Staging, files: CheckFiles, signal?: AbortSignal): Promise<CheckResult> {
  if (typeof environ.hint_file !== 'string' || !environ.hint_file) throw new UsageError('check_output needs "hint_file" (the expected output)');
  if (typeof environ.chk_file !== 'string' || !environ.chk_file) {
    const format = reportFormat(environ.checker_format ?? undefined);
    if (!format) {
      const known = 'english_abbreviated (the default), english_terse, english_full, polish_terse, polish_abbreviated, polish_full';
      return { result_code: 'SE', result_string: `unknown checker_format ${JSON.stringify(environ.checker_format)} (${known})`, result_percentage: [0, 1] };
    }
    const [hint, output] = await Promise.all([staging.fetch('hint_file', `${files.tmpdir}/hint`).then((h) => readFile(h)), readFile(files.output)]);
    const { ok, message } = compareOutputs(hint, output, format);
    return ok ? { result_code: 'OK', result_percentage: [100, 1] } : { result_code: 'WA', result_string: message, result_percentage: [0, 1] };
  }

  // Fetched next to the box first: their sizes decide the room its disk needs (in and out can be large).
  const [chk, hint] = await Promise.all([staging.fetch('chk_file', `${files.tmpdir}/checker.chk`), staging.fetch('hint_file', `${files.tmpdir}/checker.hint`)]);
  const copies = [[chk, 'chk', 0o755], [hint, 'hint', 0o644], [files.input, 'in', 0o644], [files.output, 'out', 0o644]] as const;
  const sizes = await Promise.all(copies.map(([from]) => stat(from).then((st) => st.size)));
  const limits = limitsFrom(environ, 'checker_', CHECKER_DEFAULTS);
  const run = files.sandboxed ? await sandboxRunDir(files.tmpdir, 'checker', limits, sizes.reduce((a, b) => a + b, 0)) : await RunDir.create(files.tmpdir, 'checker');
  try {
    // The checker runs as the sandbox's uid: its copies must be readable.
    await Promise.all(copies.map(([from, name, mode]) => copyFile(from, run.boxFile(name)).then(() => chmod(run.boxFile(name), mode))));
    const { verdict } = await runProgram(
      {
        isolation: files.sandboxed ? 'sandbox' : 'none',
        box: run.box,
        disk: run.disk,
        program: files.sandboxed ? '/box/chk' : run.boxFile('chk'),
        args: ['in', 'out', 'hint'],
        stdout: run.file('stdout'),
        stderr: run.file('stderr'),
        limits,
      },
      signal,
    );
    return await checkerAnswer(verdict, run.file('stdout'));
  } finally {
    await run.dispose();
  }
}

/** What a checker's run and its output say about the program's answer. */
async function checkerAnswer(verdict: Verdict, stdoutFile: string): Promise<CheckResult> {
  const exitCode = verdict.result_code === 'OK' ? 0 : verdict.result_code === 'RE' && verdict.return_code === 1 ? 1 : undefined;
  if (exitCode === undefined) {
    const why = verdict.result_code === 'RE' && verdict.return_code !== undefined ? `checker exited with code ${verdict.return_code}` : `checker: ${verdict.result_string}`;
    return { result_code: 'SE', result_string: capResultString(why), result_percentage: [0, 1] };
  }
  const stdout = (await readBoxFile(stdoutFile, 64 * 1024))?.data ?? Buffer.alloc(0);
  const said = readCheckerOutput(stdout, exitCode);
  if (said.result === 'SE') return { result_code: 'SE', result_string: capResultString(said.reason), result_percentage: [0, 1] };
  return {
    result_code: said.result,
    // sioworkers: on OK a non-empty comment replaces "ok"; on WA the comment is the result string.
    result_string: said.result === 'WA' || said.comment ? said.comment : undefined,
    result_percentage: said.percentage,
  };
}

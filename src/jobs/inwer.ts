import { writeFile } from 'node:fs/promises';
import type { Environ, JobContext } from '../environ/index.js';
import { capResultString, limitsFrom, sandboxRunDir, Staging, DEFAULT_DISK_BYTES, type Limits } from '../sandbox/index.js';
import { runCaptured } from './captured.js';

/** sioworkers' inwer defaults (notes §3.4: the code says 300 s): 256 MiB, 10 KiB of output. */
const INWER_DEFAULTS: Limits = { timeMs: 300_000, realTimeMs: 0, memKb: 256 * 1024, outputBytes: 10 * 1024, processes: 16, diskBytes: DEFAULT_DISK_BYTES };

/**
 * `inwer` (sioworkers' input verifier job, notes §3.6): runs `exe_file` in the sandbox on `in_file`
 * (its stdin), with `in_file_name` as its argument when given, under the `inwer_*` limits; stdout
 * and stderr go together into `stdout` (as lines; more than `inwer_output_limit` is OLE, as for
 * sioworkers' sandboxed verifier). `result_code` is OK when the run ended well and its first line
 * starts with "OK"; WA, with that line as `result_string`, when it did not; the run's own verdict
 * (TLE, RE...) otherwise.
 */
export async function inwer(environ: Environ, ctx: JobContext): Promise<Environ> {
  const staging = new Staging(ctx, environ);
  const limits = limitsFrom(environ, 'inwer_', INWER_DEFAULTS);
  const run = await sandboxRunDir(ctx.tmpdir, 'inwer', limits);
  try {
    const input = run.file('in');
    if (environ.in_file !== undefined && environ.in_file !== null) await staging.fetchUnzipped('in_file', input);
    else await writeFile(input, '', { mode: 0o600 });
    const args = typeof environ.in_file_name === 'string' && environ.in_file_name ? [environ.in_file_name] : [];
    const { verdict, lines } = await runCaptured(environ, ctx, staging, run, { limits, args, stdin: input, killOnOutput: true });
    const first = lines[0] ?? '';
    const judged = verdict.result_code === 'OK' && !first.startsWith('OK') ? { result_code: 'WA', result_string: first } : verdict;
    Object.assign(environ, {
      result_code: judged.result_code,
      result_string: capResultString(judged.result_string),
      time_used: verdict.time_used,
      real_time_used: verdict.real_time_used,
      mem_used: verdict.mem_used,
      ...(verdict.return_code !== undefined ? { return_code: verdict.return_code } : {}),
      stdout: lines,
    });
    return environ;
  } finally {
    await run.dispose();
  }
}

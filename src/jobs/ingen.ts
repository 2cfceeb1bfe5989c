import { readdir } from 'node:fs/promises';
import type { Environ, JobContext } from '../environ/index.js';
import { UsageError } from '../environ/index.js';
import { capResultString, copyBoxFile, DEFAULT_DISK_BYTES, limitsFrom, sandboxRunDir, Staging, type Limits } from '../sandbox/index.js';
import { runCaptured } from './captured.js';
import { notRun } from './execResult.js';

/** sioworkers' ingen defaults (notes §3.4): 600 s, 256 MiB, 10 KiB of output kept; Sluice's disk for the tests it writes: 1 GiB. */
const INGEN_DEFAULTS: Limits = { timeMs: 600_000, realTimeMs: 0, memKb: 256 * 1024, outputBytes: 10 * 1024, processes: 16, diskBytes: 4 * DEFAULT_DISK_BYTES };

/** `re_string` as Python's re.match uses it: anchored at the start of the name only. */
function namePattern(value: unknown): RegExp | string {
  if (typeof value !== 'string') return 'ingen needs "re_string" (which of the files it writes are collected)';
  try {
    return new RegExp(`^(?:${value})`, 'u');
  } catch (err) {
    return `re_string ${JSON.stringify(value)} is not a regular expression: ${(err as Error).message}`;
  }
}

/**
 * `ingen` (sioworkers' input generator job, notes §3.6): runs `exe_file` in the sandbox (always:
 * `use_sandboxes` is not needed) under the `ingen_*` limits, with stdout and stderr captured
 * together (cut to `ingen_output_limit`, as lines in `stdout`). When it exits 0, every file it wrote
 * in its folder whose name matches `re_string` is stored as `<collected_files_path>/<name>`, and
 * `collected_files` maps each name to its stored (versioned) name. `result_code` says how the run
 * ended (OK, TLE, RE...), `return_code` its exit code; SE says why the generator could not be run.
 */
export async function ingen(environ: Environ, ctx: JobContext): Promise<Environ> {
  const pattern = namePattern(environ.re_string);
  const folder = environ.collected_files_path;
  if (typeof folder !== 'string' || !folder) throw new UsageError('ingen needs "collected_files_path" (where the collected files are stored)');
  if (typeof pattern === 'string') return Object.assign(environ, { ...notRun('SE', pattern), stdout: [], collected_files: {} });
  const staging = new Staging(ctx, environ);
  const limits = limitsFrom(environ, 'ingen_', INGEN_DEFAULTS);
  const run = await sandboxRunDir(ctx.tmpdir, 'ingen', limits);
  try {
    const { verdict, lines } = await runCaptured(environ, ctx, staging, run, { limits, killOnOutput: false, fileSizeBytes: limits.diskBytes });
    const collected: Record<string, string> = {};
    if (verdict.result_code === 'OK') {
      const names = (await readdir(run.box)).filter((name) => pattern.test(name) && name !== 'exe').sort();
      for (const name of names) {
        const copy = run.file(`collected-${Object.keys(collected).length}`);
        if (await copyBoxFile(run.boxFile(name), copy)) collected[name] = await staging.storeAs(`${folder.replace(/\/+$/, '')}/${name}`, copy);
      }
    }
    Object.assign(environ, {
      result_code: verdict.result_code,
      result_string: capResultString(verdict.result_string),
      time_used: verdict.time_used,
      real_time_used: verdict.real_time_used,
      mem_used: verdict.mem_used,
      return_code: verdict.return_code ?? (verdict.result_code === 'OK' ? 0 : -1),
      stdout: lines,
      collected_files: collected,
    });
    return environ;
  } finally {
    await run.dispose();
  }
}

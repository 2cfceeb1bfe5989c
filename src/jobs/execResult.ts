import type { Environ } from '../environ/index.js';
import { capResultString, type Verdict } from '../sandbox/index.js';

/**
 * Writes a run's verdict into the environ under sioworkers' names (`return_code` and `exit_signal`
 * only when they apply, never stale from the request).
 */
export function writeVerdict(environ: Environ, verdict: Verdict, percentage: [number, number]): void {
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
}

/** A verdict for a program that never ran (a missing runtime, an interactor that cannot be had). */
export function notRun(result_code: Verdict['result_code'], result_string: string): Verdict {
  return { result_code, result_string, time_used: 0, real_time_used: 0, mem_used: 0 };
}

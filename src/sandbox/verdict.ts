import type { Limits } from './limits.js';
import type { HelperReport, ProgramEnd } from './report.js';

export type ResultCode = 'OK' | 'WA' | 'TLE' | 'MLE' | 'OLE' | 'RE' | 'RV' | 'SE';

/** The environ keys an exec writes (sioworkers' names and units: ms, KiB). */
export interface Verdict {
  result_code: ResultCode;
  result_string: string;
  time_used: number;
  real_time_used: number;
  mem_used: number;
  exit_signal?: number;
  return_code?: number;
}

const SIGXCPU = 24;
const SIGXFSZ = 25;
const SIGSYS = 31;

/**
 * Derives the verdict of one run, in this order (mirroring sioworkers' supervisor, notes §2.3):
 * helper or sandbox trouble → SE (MLE when the run's cgroup saw an OOM kill); CPU ≥ limit → TLE;
 * wall limit → TLE ("real time limit exceeded"); out of memory → MLE; output limit → OLE; disk
 * limit → OLE ("disk limit exceeded"); a seccomp kill → RV; exit 0 → OK; a signal or another exit
 * code → RE.
 */
export function deriveVerdict(report: HelperReport, end: ProgramEnd, limits: Limits): Verdict {
  const figures = {
    time_used: Math.round(report.cpu_ms ?? 0),
    real_time_used: Math.round(report.wall_ms ?? 0),
    mem_used: Math.max(report.max_rss_kb ?? 0, report.polled_rss_kb ?? 0),
  };
  const v = (result_code: ResultCode, result_string: string, extra: Partial<Verdict> = {}): Verdict => ({
    result_code,
    result_string,
    ...figures,
    ...extra,
  });
  if (report.error) return v('SE', `sandbox error: ${report.error}`);
  if (report.killed_by === 'terminated') return v('SE', 'the run was stopped from outside');
  // An OOM kill can hit the sandbox's own processes instead of the program's: it is still the program's MLE.
  if (end.setupError) return (report.oom_kill ?? 0) > 0 ? v('MLE', 'memory limit exceeded') : v('SE', end.setupError);
  if (report.killed_by === 'cpu' || (limits.timeMs && report.cpu_ms >= limits.timeMs) || end.signal === SIGXCPU) {
    return v('TLE', 'time limit exceeded');
  }
  if (report.killed_by === 'wall') return v('TLE', 'real time limit exceeded');
  if (report.killed_by === 'memory' || (report.oom_kill ?? 0) > 0 || (limits.memKb && figures.mem_used > limits.memKb)) {
    return v('MLE', 'memory limit exceeded');
  }
  if (
    report.killed_by === 'output' ||
    end.signal === SIGXFSZ ||
    (limits.outputBytes && (report.output_bytes ?? 0) > limits.outputBytes)
  ) {
    return v('OLE', 'output limit exceeded');
  }
  if (report.killed_by === 'disk' || (limits.diskBytes && (report.disk_bytes ?? 0) > limits.diskBytes)) return v('OLE', 'disk limit exceeded');
  if (end.signal === SIGSYS) return v('RV', 'intercepted forbidden syscall', { exit_signal: SIGSYS });
  if (end.signal !== undefined) return v('RE', `program exited due to signal ${end.signal}`, { exit_signal: end.signal });
  if (end.exitCode === 0) return v('OK', 'ok', { return_code: 0 });
  return v('RE', `program exited with code ${end.exitCode}`, { return_code: end.exitCode });
}

/** The JSON line the native helper (src/native/sluice-run.c) writes for one run. */
export interface HelperReport {
  /** The helper could not start or run the program (a bad option, a cgroup it cannot write, exec failed). */
  error?: string;
  /** How the helper's direct child ended: the program itself, or bwrap for a sandboxed run. */
  exit_code?: number;
  signal?: number;
  /** CPU time of the whole tree: the larger of rusage (all reaped descendants), cgroup usage, polling. */
  cpu_ms: number;
  user_ms: number;
  sys_ms: number;
  /** From fork to the end of the child, on the helper's monotonic clock. */
  wall_ms: number;
  /** Largest peak resident set of any one process of the tree (ru_maxrss of RUSAGE_CHILDREN). */
  max_rss_kb: number;
  /** Largest resident set seen while polling (only without a memory cgroup). */
  polled_rss_kb?: number;
  cg_cpu_ms?: number;
  /** The memory cgroup's peak (includes page cache and tmpfs: shown, not judged). */
  cg_peak_kb?: number;
  /** OOM kills inside the run's memory cgroup. */
  oom_kill?: number;
  /** Size of the stdout file at the end. */
  output_bytes?: number;
  /** Peak bytes the program added to its disk (box and /tmp; only with a disk). */
  disk_bytes?: number;
  /** Which limit made the helper kill the run. */
  killed_by?: 'cpu' | 'wall' | 'memory' | 'output' | 'disk' | 'terminated';
  /** What bwrap wrote on its --json-status-fd. */
  status_text?: string;
  /** The program's own wait status, as sluice-init saw it (sandboxed runs): one of the two. */
  program_exit_code?: number;
  program_signal?: number;
}

/** The program's own ending. */
export interface ProgramEnd {
  exitCode?: number;
  signal?: number;
  /** Set when the sandbox itself failed before the program started, or lost the program's status. */
  setupError?: string;
}

/**
 * A sandboxed program's status comes from sluice-init, its parent, which reports the real wait
 * status: exit(152) is code 152, SIGXCPU is signal 24 (bwrap alone would say 128+N for both).
 * bwrap writes `{ "exit-code": N }` on its status fd only once the sandbox was set up and its
 * command exec'd, which tells a failed start from an init that died (the OOM killer's choice).
 */
export function programEnd(report: HelperReport, sandboxed: boolean): ProgramEnd {
  if (!sandboxed) return { exitCode: report.exit_code, signal: report.signal };
  if (report.program_signal !== undefined) return { signal: report.program_signal };
  if (report.program_exit_code !== undefined) return { exitCode: report.program_exit_code };
  if (report.killed_by) return { signal: 9 };
  const how = report.signal !== undefined ? `was killed by signal ${report.signal}` : `exited with code ${report.exit_code}`;
  if (/"exit-code"/.test(report.status_text ?? '')) return { setupError: `the sandbox's init ended without the program's status (bwrap ${how})` };
  return { setupError: `the sandbox (bwrap) ${how} before starting the program` };
}

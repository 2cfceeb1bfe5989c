/** The JSON line the native helper (src/native/sluice-run.c) writes for one run. */
export interface HelperReport {
  /** The helper could not start or run the program (a bad option, a cgroup it cannot write, exec failed). */
  error?: string;
  /** How the helper's direct child ended: the program itself, or the sandbox's pid 1 for a sandboxed run. */
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
  /** What the program's counter counted (--count-instructions): instructions, or ns of CPU for task-clock. */
  instructions?: number;
  /** Which limit made the helper kill the run. */
  killed_by?: 'cpu' | 'wall' | 'memory' | 'output' | 'disk' | 'terminated';
  /** The sandbox's pid 1's own CPU (its namespaces and mounts), not counted in cpu_ms. */
  sandbox_cpu_ms?: number;
  /** The program's own wait status, as the sandbox's pid 1 saw it (sandboxed runs): one of the two. */
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
 * A sandboxed program's status comes from the sandbox's pid 1, its parent, which reports the real
 * wait status: exit(152) is code 152, SIGXCPU is signal 24 (a shell-like init would say 128+N for
 * both). A sandbox that could not start the program reports an `error` instead; a pid 1 that ended
 * without the status lost it (only a kill from outside the sandbox can do that).
 */
export function programEnd(report: HelperReport, sandboxed: boolean): ProgramEnd {
  if (!sandboxed) return { exitCode: report.exit_code, signal: report.signal };
  if (report.program_signal !== undefined) return { signal: report.program_signal };
  if (report.program_exit_code !== undefined) return { exitCode: report.program_exit_code };
  if (report.killed_by) return { signal: 9 };
  const how = report.signal !== undefined ? `was killed by signal ${report.signal}` : `exited with code ${report.exit_code}`;
  return { setupError: `the sandbox's pid 1 ${how} without the program's status` };
}

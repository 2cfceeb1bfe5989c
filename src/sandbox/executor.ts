import { AbortedError } from '../environ/index.js';
import { groupArgs, helperArgs, type RunSpec } from './args.js';
import { RunDir } from './box.js';
import { capabilities } from './capabilities.js';
import { servedHelper } from './helper.js';
import type { Limits } from './limits.js';
import { programEnd, type HelperReport, type ProgramEnd } from './report.js';
import { deriveVerdict, type Verdict } from './verdict.js';

export interface RunResult {
  verdict: Verdict;
  report: HelperReport;
  end: ProgramEnd;
}

/** Extra time the Node-side watchdog gives the helper beyond the wall limit (it then gets SIGTERM, 2 s later SIGKILL). */
const WATCHDOG_GRACE_MS = 1000;

/**
 * Runs one program under limits and derives its verdict. A sandboxed run on a machine without
 * isolation never runs: it comes back as SE saying why. An abort (`signal`) stops the program and
 * throws AbortedError.
 */
export async function runProgram(spec: RunSpec, signal?: AbortSignal): Promise<RunResult> {
  return (await runGroup([spec], 0, signal))[0]!;
}

/**
 * Runs several programs at once, each in its own sandbox with its own limits, connected by `pipes`
 * pipes that each spec names in `spec.pipes` (an interactive task: the program's copies and the
 * interactor); one result per spec, in order.
 */
export async function runGroup(specs: RunSpec[], pipes: number, signal?: AbortSignal): Promise<RunResult[]> {
  const caps = await capabilities();
  const refusals = specs.map((spec) => {
    const executor = caps.executors[spec.isolation === 'sandbox' ? 'exec' : 'unsafe-exec'];
    return !executor.ok || !caps.config ? executor.detail : spec.isolation === 'sandbox' && !spec.disk ? 'the box has no bounded disk' : undefined;
  });
  const refusal = refusals.find(Boolean);
  if (refusal || !caps.config) {
    return specs.map((spec) => {
      const report: HelperReport = { error: refusal, cpu_ms: 0, user_ms: 0, sys_ms: 0, wall_ms: 0, max_rss_kb: 0 };
      return { verdict: { ...deriveVerdict(report, {}, spec.limits), result_string: `cannot run: ${refusal}` }, report, end: {} };
    });
  }
  signal?.throwIfAborted();
  const config = caps.config;
  const watchdogMs = Math.max(...specs.map((spec) => spec.limits.realTimeMs || 600_000)) + WATCHDOG_GRACE_MS;
  const args = specs.length === 1 && !pipes ? helperArgs(specs[0]!, config, true) : groupArgs(specs, pipes, config);
  const reports = await servedHelper(config).runMany(args, specs.length, { signal, watchdogMs });
  if (signal?.aborted) throw new AbortedError();
  return reports.map((report, i) => {
    const spec = specs[i]!;
    const end = programEnd(report, spec.isolation === 'sandbox');
    return { verdict: deriveVerdict(report, end, spec.limits), report, end };
  });
}

/**
 * A run folder for a sandboxed run (exec, a checker, a compiler): its box and /tmp on a disk of
 * their own, bounded by `limits.diskBytes`, with room for `reserveBytes` staged before the run.
 * Where the sandbox cannot run, a plain folder: runProgram then answers SE without running anything.
 */
export async function sandboxRunDir(parent: string, name: string, limits: Limits, reserveBytes = 0): Promise<RunDir> {
  const caps = await capabilities();
  const config = caps.executors.exec.ok ? caps.config : undefined;
  return RunDir.create(parent, name, {
    owner: caps.config?.dropTo,
    disk: config ? { limitBytes: limits.diskBytes, reserveBytes, config } : undefined,
  });
}

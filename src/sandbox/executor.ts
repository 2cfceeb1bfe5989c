import { AbortedError } from '../environ/index.js';
import { helperArgs, type RunSpec } from './args.js';
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
  const caps = await capabilities();
  const executor = caps.executors[spec.isolation === 'sandbox' ? 'exec' : 'unsafe-exec'];
  const refusal = !executor.ok || !caps.config ? executor.detail : spec.isolation === 'sandbox' && !spec.disk ? 'the box has no bounded disk' : undefined;
  if (refusal || !caps.config) {
    const report: HelperReport = { error: refusal, cpu_ms: 0, user_ms: 0, sys_ms: 0, wall_ms: 0, max_rss_kb: 0 };
    const end = {};
    return { verdict: { ...deriveVerdict(report, end, spec.limits), result_string: `cannot run: ${refusal}` }, report, end };
  }
  signal?.throwIfAborted();
  const report = await servedHelper(caps.config).run(helperArgs(spec, caps.config, true), {
    signal,
    watchdogMs: (spec.limits.realTimeMs || 600_000) + WATCHDOG_GRACE_MS,
  });
  if (signal?.aborted) throw new AbortedError();
  const end = programEnd(report, spec.isolation === 'sandbox');
  return { verdict: deriveVerdict(report, end, spec.limits), report, end };
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

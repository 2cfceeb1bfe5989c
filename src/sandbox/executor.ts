import { AbortedError } from '../environ/index.js';
import { cgroupArgs, helperArgs, type RunSpec } from './args.js';
import { readBoxFile } from './box.js';
import { capabilities } from './capabilities.js';
import { helperServer } from './helper.js';
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
  if (!executor.ok || !caps.config) {
    const report: HelperReport = { error: executor.detail, cpu_ms: 0, user_ms: 0, sys_ms: 0, wall_ms: 0, max_rss_kb: 0 };
    const end = {};
    return { verdict: { ...deriveVerdict(report, end, spec.limits), result_string: `cannot run: ${executor.detail}` }, report, end };
  }
  signal?.throwIfAborted();
  const server = helperServer.configure(cgroupArgs(caps.config.cgroups));
  const report = await server.run(helperArgs(spec, caps.config, true), {
    signal,
    watchdogMs: (spec.limits.realTimeMs || 600_000) + WATCHDOG_GRACE_MS,
  });
  if (signal?.aborted) throw new AbortedError();
  const end = programEnd(report, spec.isolation === 'sandbox');
  if (end.setupError && spec.stderr && spec.stderr !== 'stdout' && spec.stderr !== '/dev/null') {
    // bwrap explains its failures on stderr; the program never ran, so this text is bwrap's.
    const text = (await readBoxFile(spec.stderr, 1000).catch(() => undefined))?.data.toString('utf8').trim();
    if (text) end.setupError += `: ${text}`;
  }
  return { verdict: deriveVerdict(report, end, spec.limits), report, end };
}

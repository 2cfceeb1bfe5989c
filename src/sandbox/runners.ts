import { UsageError } from '../environ/index.js';
import type { RunSpec } from './args.js';
import type { ExecInfo } from './compilers.js';
import type { Limits } from './limits.js';
import { findJdk, type Found } from './toolchains.js';
import type { Verdict } from './verdict.js';

/** `exec_info`: sioworkers' `{mode, main_class, preferred_filename}`, or just the mode as a string. */
export function execInfoOf(value: unknown): ExecInfo {
  const info = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : { mode: value };
  const mode = info.mode ?? 'executable';
  if (mode === 'executable' || mode === 'output-only') return { mode };
  if (mode === 'java') {
    const main = info.main_class;
    if (typeof main !== 'string' || !/^[A-Za-z_$][\w$.]*$/.test(main)) throw new UsageError(`exec_info mode java needs "main_class", a Java class name, got ${JSON.stringify(main)}`);
    const file = typeof info.preferred_filename === 'string' && /^[\w$.-]+\.jar$/.test(info.preferred_filename) ? info.preferred_filename : `${main}.jar`;
    return { mode, main_class: main, preferred_filename: file };
  }
  throw new UsageError(`exec_info mode ${JSON.stringify(mode)} is not supported (executable, java, output-only)`);
}

/** How one program is started: its file's name in the box and the parts of a RunSpec that depend on its kind. */
export interface Runner {
  file: string;
  spec: Pick<RunSpec, 'program' | 'args' | 'binds' | 'proc' | 'limits'>;
  /** Reads what the runtime says about the run (the JVM's out-of-memory exit). */
  verdict(verdict: Verdict, outputTail: string): Verdict;
}

/** What the JVM needs beyond the program's heap (its code, metaspace, threads' stacks) and its own threads. */
export const JVM_MEMORY_KB = 128 * 1024;
export const JVM_THREADS = 64;
const JAVA_OOM = /Terminating due to java\.lang\.OutOfMemoryError/;

/**
 * The runner for `info`: an executable is run as it is; a Java program by the JVM, with the
 * memory limit as its heap (as sioworkers does: -Xmx and -Xss), the JVM's own needs on top of the
 * run's limits, a /proc and the JDK's configuration. `box` is where the file is as the program
 * sees it (/box in the sandbox). A missing runtime comes back as `missing`, naming the package.
 */
export function runnerFor(info: ExecInfo, limits: Limits, box: string, args: string[] = []): Found<{ runner: Runner }> {
  const same = (verdict: Verdict) => verdict;
  if (info.mode === 'executable') return { ok: true, runner: { file: 'exe', spec: { program: `${box}/exe`, args, limits }, verdict: same } };
  if (info.mode !== 'java') throw new UsageError(`nothing runs in exec_info mode ${info.mode}`);
  const jdk = findJdk(false);
  if (!jdk.ok) return jdk;
  const heapKb = limits.memKb;
  const flags = ['-XX:+UseSerialGC', '-XX:-UsePerfData', '-XX:+ExitOnOutOfMemoryError', `-Xmx${heapKb}k`, `-Xss${heapKb}k`];
  const runner: Runner = {
    file: info.preferred_filename,
    spec: {
      program: jdk.java,
      args: [...flags, '-cp', `${box}/${info.preferred_filename}`, info.main_class, ...args],
      binds: jdk.binds,
      proc: true,
      limits: { ...limits, memKb: limits.memKb + JVM_MEMORY_KB, processes: limits.processes + JVM_THREADS },
    },
    // -XX:+ExitOnOutOfMemoryError: exit code 3 and this line on stdout when the heap is exhausted.
    verdict: (verdict, tail) =>
      verdict.result_code === 'RE' && verdict.return_code === 3 && JAVA_OOM.test(tail) ? { ...verdict, result_code: 'MLE', result_string: 'memory limit exceeded' } : verdict,
  };
  return { ok: true, runner };
}

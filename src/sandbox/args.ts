import type { CgroupPlan } from './cgroups.js';
import type { Limits } from './limits.js';

/** What to run, where, and under which limits. */
export interface RunSpec {
  /** `sandbox`: the helper's namespaces, seccomp and an unprivileged uid. `none`: rlimits and cgroups only (trusted code). */
  isolation: 'sandbox' | 'none';
  /** The run's box folder on the host (seen as /box in the sandbox, the working folder either way). */
  box: string;
  /** The run's own file system (box/ and tmp/ inside: RunDir with a disk); a sandboxed run needs one. */
  disk?: string;
  /** The program: a path inside the sandbox (`/box/exe`, `/usr/bin/gcc`), or a host path without isolation. */
  program: string;
  args?: string[];
  /** Host files for the standard streams; stderr `stdout` merges it into stdout; default /dev/null. */
  stdin?: string;
  stdout?: string;
  stderr?: string;
  /** Pipe ends of a group run (runGroup) as fds of the program: `{fd: 0, pipe: 2, end: 'r'}`. */
  pipes?: Array<{ fd: number; pipe: number; end: 'r' | 'w' }>;
  limits: Limits;
  /** RLIMIT_FSIZE when it should differ from the output limit (a compiler writes its result). */
  fileSizeBytes?: number;
  env?: Record<string, string>;
  /** Mount a /proc of the sandbox's own processes (default: only with SLUICE_SANDBOX_PROC=1, `RunConfig.procAlways`; the JVM needs it). */
  proc?: boolean;
  /** Count the program's events (sio2jail's instructions; `task-clock`: ns of CPU) and kill at `limit` (killed_by "cpu"). */
  count?: { event: 'instructions' | 'task-clock'; limit: number };
  /** Host paths outside /usr the program needs, bound read-only: [host, in the sandbox] (the JVM's /etc/java-NN-openjdk). */
  binds?: Array<[string, string]>;
}

/** What the probe found, as far as building a command line needs it. */
export interface RunConfig {
  seccompFilter?: string;
  cgroups: CgroupPlan;
  /** Host uid/gid sandboxed programs run as (Sluice runs as root). */
  dropTo?: number;
  /** How `/bin`, `/lib`... appear: symlinks into /usr (merged /usr) or read-only binds. */
  rootLinks: Array<['symlink' | 'bind', string, string]>;
  /** Where run disks come from (disk.ts); absent when they cannot be made here. */
  disk?: DiskConfig;
  /** A /proc in every sandbox (SLUICE_SANDBOX_PROC=1), not only in those whose run asks for one. */
  procAlways?: boolean;
}

export interface DiskConfig {
  /** Templates and, for a moment, each run's image (root-only). */
  home: string;
  mke2fs: string;
}

/** Processes the sandbox itself needs inside the run's limit: its pid 1. */
export const SANDBOX_PROCESSES = 1;
const SANDBOX_UID = 65534;

export const DEFAULT_ENV: Record<string, string> = { PATH: '/usr/bin:/bin', HOME: '/tmp', LANG: 'C.UTF-8', TMPDIR: '/tmp' };

/** cgroup memory limit above the RSS limit: page tables, kernel memory and the sandbox's own pages. */
export function memorySlackKb(memKb: number): number {
  return 8 * 1024 + Math.ceil(memKb / 16);
}

/** The cgroup parents, given once to a served helper (or with every one-shot run). */
export function cgroupArgs(plan: RunConfig['cgroups']): string[] {
  const a: string[] = [];
  for (const dir of plan.v1) a.push('--cg-v1', dir);
  if (plan.v2) a.push('--cg-v2', plan.v2);
  return a;
}

/**
 * The helper's command line for one run (see the option list at the top of
 * src/native/sluice-run/options.c); `served`: without the cgroup parents, which the server was
 * started with.
 */
export function helperArgs(spec: RunSpec, config: RunConfig, served = false): string[] {
  const { limits } = spec;
  const sandboxed = spec.isolation === 'sandbox';
  const slack = memorySlackKb(limits.memKb);
  const a: string[] = [];
  const opt = (name: string, value: string | number) => a.push(name, String(value));
  if (limits.timeMs) opt('--cpu-ms', limits.timeMs);
  if (limits.realTimeMs) opt('--wall-ms', limits.realTimeMs);
  if (limits.memKb) {
    opt('--mem-kb', limits.memKb);
    opt('--cg-slack-kb', slack);
    // The stack may use all the memory; it hits the memory limit (MLE) before its own.
    opt('--stack-kb', limits.memKb + slack);
  }
  const fsize = spec.fileSizeBytes ?? (limits.outputBytes ? limits.outputBytes + 1 : 0);
  if (fsize) opt('--fsize', fsize);
  if (limits.outputBytes && spec.stdout) opt('--output-limit', limits.outputBytes);
  opt('--nofile', 256);
  if (limits.processes) opt('--procs', limits.processes + (sandboxed ? SANDBOX_PROCESSES : 0));
  if (spec.stdin) opt('--stdin', spec.stdin);
  if (spec.stdout) opt('--stdout', spec.stdout);
  if (spec.stderr === 'stdout') a.push('--stderr-to-stdout');
  else opt('--stderr', spec.stderr ?? '/dev/null');
  for (const p of spec.pipes ?? []) opt('--pipe-fd', `${p.fd}=${p.pipe}${p.end}`);
  if (spec.count) {
    opt('--count-instructions', spec.count.event);
    if (spec.count.limit) opt('--instruction-limit', spec.count.limit);
  }
  if (!served) a.push(...cgroupArgs(config.cgroups));
  if (!config.cgroups.memory && limits.memKb) a.push('--poll-rss');
  if (spec.disk) {
    opt('--disk', spec.disk);
    opt('--disk-limit', limits.diskBytes);
  }
  const env = { ...DEFAULT_ENV, ...spec.env };

  if (!sandboxed) {
    opt('--chdir', spec.box);
    for (const [k, v] of Object.entries({ ...env, HOME: spec.box })) opt('--env', `${k}=${v}`);
    a.push('--', spec.program, ...(spec.args ?? []));
    return a;
  }

  if (!spec.disk) throw new Error('internal: a sandboxed run needs its disk (RunDir with a disk)');
  const uid = config.dropTo ?? SANDBOX_UID;
  opt('--uid', uid);
  opt('--gid', uid);
  a.push('--sandbox');
  // The root: /usr read-only, /bin, /lib... into it, /box and /tmp on the run's disk, nothing else
  // of the host's (no /etc, /home, /proc, /sys, /run) but what the run asks for read-only.
  opt('--ro-bind', '/usr:/usr');
  for (const [kind, from, to] of config.rootLinks) opt(kind === 'symlink' ? '--symlink' : '--ro-bind', `${from}:${to}`);
  for (const [host, inside] of spec.binds ?? []) opt('--ro-bind', `${host}:${inside}`);
  opt('--bind', `${spec.box}:/box`);
  opt('--bind', `${spec.disk}/tmp:/tmp`);
  // No /proc unless asked for: C, C++, Pascal, Python and gcc do not need it (docs/sandbox.md).
  if (spec.proc ?? config.procAlways) a.push('--proc');
  if (config.seccompFilter) opt('--seccomp', config.seccompFilter);
  opt('--chdir', '/box');
  for (const [k, v] of Object.entries(env)) opt('--env', `${k}=${v}`);
  a.push('--', spec.program, ...(spec.args ?? []));
  return a;
}

/**
 * A group run (src/native/sluice-run/group.c): `pipes` pipes, then one sandbox per spec, each
 * naming its pipe ends in `spec.pipes`; served only.
 */
export function groupArgs(specs: RunSpec[], pipes: number, config: RunConfig): string[] {
  const a = ['--group', '--pipes', String(pipes)];
  for (const spec of specs) {
    const section = helperArgs(spec, config, true);
    a.push('--section', String(section.length), ...section);
  }
  return a;
}

import type { CgroupPlan } from './cgroups.js';
import type { Limits } from './limits.js';

/** What to run, where, and under which limits. */
export interface RunSpec {
  /** `sandbox`: bwrap with namespaces, seccomp and an unprivileged uid. `none`: rlimits and cgroups only (trusted code). */
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
  limits: Limits;
  /** RLIMIT_FSIZE when it should differ from the output limit (a compiler writes its result). */
  fileSizeBytes?: number;
  env?: Record<string, string>;
  /** Mount a /proc in the sandbox (default: only with SLUICE_SANDBOX_PROC=1). */
  proc?: boolean;
}

/** What the probe found, as far as building a command line needs it. */
export interface RunConfig {
  bwrap: string;
  seccompFilter?: string;
  cgroups: CgroupPlan;
  /** Host uid/gid the helper switches to before bwrap (only when Sluice runs as root). */
  dropTo?: number;
  /** How `/bin`, `/lib`... appear: symlinks into /usr (merged /usr) or read-only binds. */
  rootLinks: Array<['symlink' | 'bind', string, string]>;
  /** sluice-init, the sandbox's pid 1 (src/native/sluice-init.c). */
  init: string;
  /** Where run disks come from (disk.ts); absent when they cannot be made here. */
  disk?: DiskConfig;
}

export interface DiskConfig {
  /** Templates and, for a moment, each run's image (root-only). */
  home: string;
  mke2fs: string;
}

/** Processes the sandbox itself needs inside the run's limit: bwrap's monitor and pid 1 (sluice-init). */
export const SANDBOX_PROCESSES = 2;
const SANDBOX_UID = 65534;
const BOX_FD = 5;
const SECCOMP_FD = 6;
const STATUS_FD = 7;
const TMP_FD = 8;
const INIT_PIPE_FD = 9;
const INIT_FILE_FD = 10;
/** Where sluice-init appears in the sandbox. */
const INIT = '/.sluice-init';

const DEVICES = ['/dev/null', '/dev/zero', '/dev/random', '/dev/urandom'];

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
 * The helper's command line for one run (see the option list at the top of src/native/sluice-run.c);
 * `served`: without the cgroup parents, which the server was started with.
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

  if (config.dropTo !== undefined) {
    opt('--uid', config.dropTo);
    opt('--gid', config.dropTo);
  }
  if (!spec.disk) throw new Error('internal: a sandboxed run needs its disk (RunDir with a disk)');
  opt('--dfd', `${BOX_FD}=${spec.box}`);
  opt('--dfd', `${TMP_FD}=${spec.disk}/tmp`);
  if (config.seccompFilter) opt('--rfd', `${SECCOMP_FD}=${config.seccompFilter}`);
  if (procFor(spec)) opt('--rfd', `${INIT_FILE_FD}=${config.init}`);
  opt('--status-pipe', STATUS_FD);
  opt('--init-pipe', INIT_PIPE_FD);
  // bwrap's monitor and sluice-init stay until the program is dead, so its usage is accounted.
  opt('--spare-depth', 1);
  a.push('--', config.bwrap, ...bwrapArgs(spec, config, env));
  return a;
}

function procFor(spec: RunSpec): boolean {
  return spec.proc ?? process.env.SLUICE_SANDBOX_PROC === '1';
}

function bwrapArgs(spec: RunSpec, config: RunConfig, env: Record<string, string>): string[] {
  const proc = procFor(spec);
  // Every namespace but the cgroup one, which only matters with a /proc to read it from (~0.3 ms).
  const b = ['--unshare-user', '--unshare-ipc', '--unshare-pid', '--unshare-net', '--unshare-uts'];
  if (proc) b.push('--unshare-cgroup');
  b.push('--die-with-parent', '--new-session', '--cap-drop', 'ALL');
  b.push('--ro-bind', '/usr', '/usr');
  for (const [kind, from, to] of config.rootLinks) b.push(kind === 'symlink' ? '--symlink' : '--ro-bind', from, to);
  // A minimal /dev (bwrap's --dev adds devpts, shm and a tmpfs: ~0.35 ms a run) and no /proc unless
  // asked for (~0.4 ms; C, C++ and Pascal programs and gcc do not need it; see docs/sandbox.md).
  for (const dev of DEVICES) b.push('--dev-bind', dev, dev);
  if (proc) b.push('--proc', '/proc');
  // /tmp is on the run's disk, under the same bound as the box.
  b.push('--bind-fd', String(TMP_FD), '/tmp');
  b.push('--bind-fd', String(BOX_FD), '/box', '--chdir', '/box');
  // With a /proc, the program could read a bind's host path in mountinfo: the init is copied in then (~0.07 ms).
  if (proc) b.push('--perms', '0555', '--ro-bind-data', String(INIT_FILE_FD), INIT);
  else b.push('--ro-bind', config.init, INIT);
  // bwrap's root is a tmpfs the program could write to; only /box and /tmp stay writable.
  b.push('--remount-ro', '/');
  b.push('--clearenv');
  for (const [k, v] of Object.entries(env)) b.push('--setenv', k, v);
  b.push('--uid', String(SANDBOX_UID), '--gid', String(SANDBOX_UID));
  if (config.seccompFilter) b.push('--seccomp', String(SECCOMP_FD));
  b.push('--json-status-fd', String(STATUS_FD));
  // sluice-init replaces bwrap's pid 1: the real wait status, and a pid 1 the program cannot write to.
  b.push('--as-pid-1', '--', INIT, String(INIT_PIPE_FD), spec.program, ...(spec.args ?? []));
  return b;
}

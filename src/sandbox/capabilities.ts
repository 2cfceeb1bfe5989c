import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { builtFile, type SandboxConfig } from '../environ/index.js';
import { NATIVE_SECCOMP_FILTER } from '../native/index.js';
import { helperArgs, type DiskConfig, type RunConfig, type RunSpec } from './args.js';
import { RunDir, readBoxFile } from './box.js';
import { planCgroups, type CgroupPlan } from './cgroups.js';
import { diskHome, sweepDisks } from './disk.js';
import { HELPER_PATH, runHelperOnce } from './helper.js';
import { programEnd, type HelperReport } from './report.js';
import { sandboxSettings } from './settings.js';

export type ExecutorName = 'exec' | 'cpu-exec' | 'unsafe-exec';

export interface Check {
  ok: boolean;
  detail: string;
}

/** What this machine supports, probed once per process (`sluice doctor` prints it). */
export interface Capabilities {
  /**
   * A: isolation (the helper's namespaces) with cgroup memory and pids limits. B: isolation, limits
   * by rlimits and polling. C: no isolation possible, or no bounded disk for the box (only
   * unsafe-exec). D: the helper is not built (nothing runs).
   */
  tier: 'A' | 'B' | 'C' | 'D';
  helper: Check & { path: string };
  /** The sandbox's namespaces, made by the helper itself (root only). */
  namespaces: Check;
  seccomp: Check & { filter?: string };
  cgroups: Check & { plan: CgroupPlan };
  uid: Check & { sandboxUid?: number };
  /** A bounded file system per sandboxed run (disk.ts). */
  disk: Check;
  /** A hardware instruction counter (sio2jail's time); without one sio2jail-exec measures CPU time. */
  instructions: Check;
  executors: Record<ExecutorName, Check>;
  /** The command-line settings runs use (undefined when nothing can run). */
  config?: RunConfig;
  probeMs: number;
}

let cached: Promise<Capabilities> | undefined;
/** The settings the cached probe was made with: another set (configureSandbox) probes again. */
let cachedFor: SandboxConfig | undefined;

/** The probe's result for this process and its settings (computed on first call). */
export function capabilities(): Promise<Capabilities> {
  const settings = sandboxSettings();
  if (cachedFor !== settings) {
    cachedFor = settings;
    cached = undefined;
  }
  return (cached ??= probe(settings));
}

/** Forgets the cached probe (tests that change the environment). */
export function resetCapabilities(): void {
  cached = undefined;
}

function findProgram(name: string, dirs: string[]): string | undefined {
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** What making run disks needs (root for loop devices and mounts, mke2fs); the trial run tries it. */
function diskSupport(root: boolean, settings: SandboxConfig): { check: Check; config?: DiskConfig } {
  if (!root) return { check: { ok: false, detail: `needs root (a loop-mounted file system per run); running as uid ${process.getuid?.()}` } };
  const mke2fs = settings.mke2fs || findProgram('mke2fs', [...settings.searchPath, '/usr/sbin', '/sbin']);
  if (!mke2fs || !existsSync(mke2fs)) return { check: { ok: false, detail: `mke2fs not found${mke2fs ? ` at ${mke2fs}` : ''}: apt-get install e2fsprogs` } };
  if (!existsSync('/dev/loop-control')) return { check: { ok: false, detail: 'no /dev/loop-control: the kernel has no loop devices here (modprobe loop)' } };
  return { check: { ok: true, detail: `a loop-mounted ext4 per run, made with ${mke2fs}` }, config: { home: diskHome(settings.tmpdir), mke2fs } };
}

/** `/bin`, `/lib`...: symlinks into /usr on a merged-/usr system, else read-only binds. Nothing else of `/`. */
function rootLinks(): RunConfig['rootLinks'] {
  const out: RunConfig['rootLinks'] = [];
  for (const name of ['/bin', '/sbin', '/lib', '/lib64', '/lib32', '/libx32']) {
    try {
      const st = lstatSync(name);
      if (st.isSymbolicLink()) out.push(['symlink', readlinkSync(name), name]);
      else if (st.isDirectory()) out.push(['bind', name, name]);
    } catch {
      // absent on this machine
    }
  }
  return out;
}

function seccompKernel(): string | undefined {
  try {
    if (!/^Seccomp:/m.test(readFileSync('/proc/self/status', 'utf8'))) return undefined;
    return readFileSync('/proc/sys/kernel/seccomp/actions_avail', 'utf8').trim();
  } catch {
    return undefined;
  }
}

interface Trial {
  report: HelperReport;
  message?: string;
  /** Set when the sandboxed trial could not get its disk. */
  diskError?: string;
}

/** Runs `/usr/bin/true` once the way a job would (a sandboxed one on its own disk), so the probe tests the real thing. */
async function trial(config: RunConfig, isolation: RunSpec['isolation'], scratch: string): Promise<Trial> {
  const sandboxed = isolation === 'sandbox';
  const limits = { timeMs: 5000, realTimeMs: 10_000, memKb: 64 * 1024, outputBytes: 4096, processes: 8, diskBytes: 1 << 20 };
  const disk = sandboxed ? { limitBytes: limits.diskBytes, config } : undefined;
  let run: RunDir;
  try {
    run = await RunDir.create(scratch, isolation, { owner: sandboxed ? config.dropTo : undefined, disk });
  } catch (err) {
    const diskError = (err as Error).message;
    return { report: { error: diskError, cpu_ms: 0, user_ms: 0, sys_ms: 0, wall_ms: 0, max_rss_kb: 0 }, message: diskError, diskError };
  }
  const spec: RunSpec = { isolation, box: run.box, disk: run.disk, program: '/usr/bin/true', stderr: run.file('stderr'), limits };
  const report = await runHelperOnce(helperArgs(spec, config), { watchdogMs: 15_000 }).finally(() => run.dispose());
  const end = programEnd(report, sandboxed);
  if (!report.error && end.exitCode === 0) return { report };
  const stderr = (await readBoxFile(run.file('stderr'), 2000).catch(() => undefined))?.data.toString('utf8').trim();
  const message = report.error ?? [end.setupError ?? `/usr/bin/true ended with ${JSON.stringify(end)}`, stderr].filter(Boolean).join(': ');
  return { report, message };
}

/** The helper's own look at perf_event_open for hardware instructions. */
function instructionCounter(helperBuilt: boolean): Check {
  if (!helperBuilt) return { ok: false, detail: 'not probed: the helper is not built' };
  const out = spawnSync(HELPER_PATH, ['--perf-probe'], { encoding: 'utf8' });
  try {
    const said = JSON.parse(out.stdout) as { instructions: boolean; reason?: string };
    return said.instructions ? { ok: true, detail: 'hardware instruction counter available' } : { ok: false, detail: said.reason ?? 'unavailable' };
  } catch {
    return { ok: false, detail: `the helper's probe failed: ${(out.stderr || out.stdout || String(out.error ?? '')).trim()}` };
  }
}

async function probe(settings: SandboxConfig): Promise<Capabilities> {
  const started = performance.now();
  const helperBuilt = existsSync(HELPER_PATH);
  const helper = { path: HELPER_PATH, ok: helperBuilt, detail: helperBuilt ? HELPER_PATH : `not built (${HELPER_PATH}): install gcc and run npm run build` };
  const kernel = seccompKernel();
  const filter = builtFile(NATIVE_SECCOMP_FILTER);
  const haveFilter = existsSync(filter);
  const seccomp = {
    ok: Boolean(kernel && haveFilter),
    filter: haveFilter ? filter : undefined,
    detail: !kernel
      ? 'the kernel has no seccomp'
      : haveFilter
        ? `filter ${filter}; kernel actions: ${kernel}`
        : 'no filter built: libseccomp-dev was missing at build time (apt-get install libseccomp-dev; npm run build); exec runs without the seccomp layer',
  };
  const root = process.getuid?.() === 0;
  const dropTo = root ? settings.uid : undefined;
  const uid = {
    ok: true,
    sandboxUid: dropTo,
    detail: root
      ? `running as root: programs run as host uid ${dropTo} (RLIMIT_NPROC applies)`
      : `running as uid ${process.getuid?.()}: sandboxed runs need root; unsafe-exec runs as this uid`,
  };
  let plan = planCgroups(settings.cgroups);
  const support = diskSupport(root, settings);
  const disk = support.check;
  const config: RunConfig = { seccompFilter: seccomp.filter, cgroups: plan, dropTo, rootLinks: rootLinks(), disk: support.config, procAlways: settings.proc };

  let unsafe: Check = { ok: false, detail: helper.detail };
  // The sandbox's namespaces and mounts are made by root without a user namespace (as isolate does).
  const refused = settings.off ? 'disabled by SLUICE_SANDBOX=off' : !root ? `needs root (namespaces and mounts made by the helper); running as uid ${process.getuid?.()}` : undefined;
  let namespaces: Check = { ok: false, detail: refused ?? 'not tried' };
  let sandbox: Check = { ok: false, detail: helper.ok ? `isolation unavailable: ${namespaces.detail}` : helper.detail };
  if (helperBuilt) {
    const scratch = mkdtempSync(path.join(settings.tmpdir || os.tmpdir(), 'sluice-probe-'));
    try {
      let t = await trial(config, 'none', scratch);
      if (t.message && /cgroup/.test(t.message) && (plan.v1.length || plan.v2)) {
        // cgroups that looked usable but are not: run without them, and say so.
        plan = { v1: [], problems: [...plan.problems, t.message] };
        config.cgroups = plan;
        t = await trial(config, 'none', scratch);
      }
      unsafe = t.message ? { ok: false, detail: t.message } : { ok: true, detail: `rlimits${plan.memory || plan.pids ? ' and cgroups' : ''}, no isolation: trusted code only` };
      if (support.config) await sweepDisks(support.config.home);
      if (!refused && !disk.ok) sandbox = { ok: false, detail: `no bounded disk for the box: ${disk.detail}` };
      else if (!refused) {
        let s = await trial(config, 'sandbox', scratch);
        if (s.diskError) {
          disk.ok = false;
          disk.detail = s.diskError;
          sandbox = { ok: false, detail: `no bounded disk for the box: ${s.diskError}` };
        } else {
          if (s.message && config.seccompFilter) {
            const without = await trial({ ...config, seccompFilter: undefined }, 'sandbox', scratch);
            if (!without.message) {
              seccomp.ok = false;
              seccomp.detail = `the kernel refused the filter (${s.message}); exec runs without the seccomp layer`;
              config.seccompFilter = undefined;
              seccomp.filter = undefined;
              s = without;
            }
          }
          namespaces = s.message
            ? { ok: false, detail: s.message }
            : { ok: true, detail: `pid, mount, network, IPC and UTS namespaces: a sandboxed /usr/bin/true ran in ${s.report.wall_ms.toFixed(1)} ms` };
          sandbox = s.message
            ? { ok: false, detail: `isolation unavailable: ${s.message}` }
            : {
                ok: true,
                detail: `namespaces${config.seccompFilter ? ' + seccomp' : ' (no seccomp filter)'}, uid ${dropTo ?? 'own'}, ${plan.memory && plan.pids ? 'cgroup limits' : 'rlimit/polling limits'}, a disk of its own`,
              };
        }
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  }
  const cgroups = {
    ok: Boolean(plan.memory && plan.pids && plan.cpu),
    plan,
    detail:
      [plan.memory && `memory ${plan.memory}`, plan.pids && `pids ${plan.pids}`, plan.cpu && `cpu ${plan.cpu}`].filter(Boolean).join(', ') +
      (plan.problems.length ? `${plan.memory || plan.pids || plan.cpu ? '; ' : ''}${plan.problems.join('; ')}` : ''),
  };
  const tier = !helperBuilt || !unsafe.ok ? 'D' : !sandbox.ok ? 'C' : plan.memory && plan.pids ? 'A' : 'B';
  return {
    tier,
    helper,
    namespaces,
    seccomp,
    cgroups,
    uid,
    disk,
    instructions: instructionCounter(helperBuilt),
    executors: { exec: sandbox, 'cpu-exec': sandbox, 'unsafe-exec': unsafe },
    config: helperBuilt ? config : undefined,
    probeMs: performance.now() - started,
  };
}

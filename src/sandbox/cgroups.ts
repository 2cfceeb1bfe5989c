import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync } from 'node:fs';
import path from 'node:path';

/**
 * Where per-run cgroups can be made. Each run gets fresh child groups (the helper creates and
 * removes them: ~0.2 ms), under the cgroup this process is already in, for every hierarchy needed:
 * a cgroup v2 group when it offers the controller, else the v1 hierarchy of that controller
 * (hybrid machines like the one in notes-sandbox.md have memory, pids and cpuacct on v1 only).
 */
export interface CgroupPlan {
  /** Parent folders in v1 hierarchies, passed to the helper as --cg-v1. */
  v1: string[];
  /** Parent folder in the unified hierarchy, passed as --cg-v2. */
  v2?: string;
  memory?: 'v1' | 'v2';
  pids?: 'v1' | 'v2';
  cpu?: 'v1' | 'v2';
  /** Why a controller is missing (first reason found). */
  problems: string[];
}

interface Mount {
  point: string;
  type: 'cgroup' | 'cgroup2';
  controllers: string[];
}

function mounts(): Mount[] {
  const out: Mount[] = [];
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const [fstype, , superOptions = ''] = line.slice(sep + 3).split(' ');
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const point = (line.slice(0, sep).split(' ')[4] ?? '').replace(/\\040/g, ' ');
    out.push({ point, type: fstype, controllers: fstype === 'cgroup' ? superOptions.split(',') : [] });
  }
  return out;
}

/** This process's cgroup per hierarchy: "" for v2, or the controller list of a v1 hierarchy. */
function ownGroups(): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (m) map.set(m[1]!, m[2]!);
  }
  return map;
}

/** Makes and removes a test child; returns the files a child group gets, or an error. */
function tryChild(parent: string): { files: Set<string> } | { error: string } {
  const probe = path.join(parent, `sluice-probe-${process.pid}`);
  try {
    mkdirSync(probe);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code !== 'EEXIST') return { error: `cannot create a cgroup under ${parent}: ${e.code ?? e.message}` };
  }
  try {
    return { files: new Set(readdirSync(probe)) };
  } finally {
    try {
      rmdirSync(probe);
    } catch {
      // a group that cannot be removed now is removed by the next probe
    }
  }
}

/** Removes empty per-run groups left by helpers that were killed (their pid is gone). */
function sweep(parent: string): void {
  let entries: string[];
  try {
    entries = readdirSync(parent);
  } catch {
    return;
  }
  for (const name of entries) {
    const m = /^sluice-(?:probe-)?(\d+)$/.exec(name);
    if (!m || existsSync(`/proc/${m[1]}`)) continue;
    try {
      rmdirSync(path.join(parent, name));
    } catch {
      // still has processes, or not ours to remove
    }
  }
}

export function planCgroups(enabled = true): CgroupPlan {
  const plan: CgroupPlan = { v1: [], problems: [] };
  if (!enabled) {
    plan.problems.push('cgroups disabled by SLUICE_CGROUPS=off');
    return plan;
  }
  let all: Mount[];
  let own: Map<string, string>;
  try {
    all = mounts();
    own = ownGroups();
  } catch (err) {
    plan.problems.push(`cannot read /proc: ${(err as Error).message}`);
    return plan;
  }

  // cgroup v2: the controllers a child of our own group would get.
  const unified = all.find((m) => m.type === 'cgroup2');
  const v2Path = own.get('');
  if (unified && v2Path !== undefined) {
    const parent = path.join(unified.point, v2Path);
    const child = tryChild(parent);
    if ('files' in child) {
      sweep(parent);
      const has = (file: string) => child.files.has(file);
      if (has('cpu.stat')) plan.cpu = 'v2';
      if (has('memory.max')) plan.memory = 'v2';
      if (has('pids.max')) plan.pids = 'v2';
      if (plan.cpu || plan.memory || plan.pids) plan.v2 = parent;
    } else {
      plan.problems.push(child.error);
    }
  }

  // cgroup v1, per controller the v2 group does not offer.
  for (const [controller, file, key] of [
    ['memory', 'memory.limit_in_bytes', 'memory'],
    ['pids', 'pids.max', 'pids'],
    ['cpuacct', 'cpuacct.usage', 'cpu'],
  ] as const) {
    if (plan[key] === 'v2' && (key !== 'cpu' || plan.memory === 'v2' || plan.pids === 'v2')) continue;
    const mount = all.find((m) => m.type === 'cgroup' && m.controllers.includes(controller));
    if (!mount) continue;
    const groupPath = [...own.entries()].find(([ctrls]) => ctrls.split(',').includes(controller))?.[1];
    if (groupPath === undefined) continue;
    const parent = path.join(mount.point, groupPath);
    const child = tryChild(parent);
    if ('error' in child) {
      plan.problems.push(child.error);
      continue;
    }
    if (!child.files.has(file)) continue;
    sweep(parent);
    if (!plan.v1.includes(parent)) plan.v1.push(parent);
    plan[key] = 'v1';
  }
  // A v2 group that only offers cpu.stat is not worth a mkdir per run when v1 has cpuacct.
  if (plan.v2 && plan.memory !== 'v2' && plan.pids !== 'v2' && plan.cpu === 'v1') plan.v2 = undefined;
  if (plan.cpu === 'v2' && !plan.v2) plan.cpu = undefined;
  if (!plan.memory) plan.problems.push('no memory controller available: memory is limited by polling RSS instead');
  if (!plan.pids) plan.problems.push('no pids controller available: processes are limited by RLIMIT_NPROC instead');
  return plan;
}


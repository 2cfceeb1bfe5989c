import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { alive, until } from './cli.js';

export interface Proc {
  pid: number;
  cmdline: string;
}

/**
 * Live processes whose working folder is `dir` or inside it (also after the folder was removed).
 * A worker started with SLUICE_TMPDIR=dir runs every unit in a folder under dir, and what a unit
 * starts keeps that folder unless it changes it: this finds a unit's processes however they
 * detached from their parents (setsid, double fork), without relying on anything the job sets.
 */
export function processesIn(dir: string): Proc[] {
  const found: Proc[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      const cwd = readlinkSync(`/proc/${pid}/cwd`).replace(/ \(deleted\)$/, '');
      if ((cwd === dir || cwd.startsWith(`${dir}/`)) && alive(pid)) {
        found.push({ pid, cmdline: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ') });
      }
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** The processes of `procs` that run `command` exactly (argv joined by spaces). */
export const running = (procs: Proc[], command: string) => procs.filter((p) => p.cmdline === command);

/** Waits until `command` runs in `dir` (generously: the machine may be loaded). */
export const runsIn = (dir: string, command: string, count = 1) =>
  until(() => (running(processesIn(dir), command).length >= count ? true : undefined), 20_000, `${command} to run`);

/** Waits until nothing runs in `dir` any more; fails after a few seconds. */
export const nothingLeftIn = (dir: string, what: string) => until(() => (processesIn(dir).length === 0 ? true : undefined), 5_000, what);

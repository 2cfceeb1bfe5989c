/**
 * Starting a job's process under the reaper (src/native/sluice-reap.c): it ends, with every process
 * it started (daemons included), when it exits, when it is stopped, and when this process dies.
 */
import { spawn, type ChildProcess, type ChildProcessByStdio, type SpawnOptions, type SpawnOptionsWithStdioTuple, type StdioPipe } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { builtFile } from '../environ/index.js';
import { NATIVE_REAPER } from '../native/index.js';
import { killTree } from './killTree.js';

const REAPER = builtFile(NATIVE_REAPER);
/** The reaper kills its tree at once when stopped; should it hang, it and what it can see are killed from here. */
const REAPER_GRACE_MS = 2000;

let reaperFound = false;
/** The processes started under the reaper (the others are stopped by walking their tree). */
const reaped = new WeakSet<ChildProcess>();

/** Whether the reaper was built (it needs a C compiler at build time). */
export function reaperBuilt(): boolean {
  return (reaperFound ||= existsSync(REAPER));
}

type Piped = SpawnOptionsWithStdioTuple<StdioPipe, StdioPipe, StdioPipe>;

/** Spawns `command args` under the reaper, in a session of its own; throws a clear error when the reaper was not built. */
export function spawnReaped(command: string, args: string[], options: Piped, what: string): ChildProcessByStdio<Writable, Readable, Readable>;
export function spawnReaped(command: string, args: string[], options: SpawnOptions, what: string): ChildProcess;
export function spawnReaped(command: string, args: string[], options: SpawnOptions, what: string): ChildProcess {
  if (!reaperBuilt()) throw new Error(`${what} need ${REAPER}, which is missing: install gcc (apt-get install gcc), then npm run build`);
  const child = spawn(REAPER, [String(process.pid), '--', command, ...args], { ...options, detached: true });
  reaped.add(child);
  return child;
}

/**
 * Stops a process and everything it started; its exit comes as usual. Under the reaper that is the
 * reaper's SIGTERM; a process started without it (in its own process group) is killed with what
 * its parent links reach.
 */
export function stopTree(child: ChildProcess): void {
  if (child.exitCode !== null || child.signalCode !== null) return;
  if (!reaped.has(child)) {
    if (child.pid) killTree(child.pid);
    return;
  }
  child.kill('SIGTERM');
  const lastResort = setTimeout(() => child.pid && killTree(child.pid), REAPER_GRACE_MS).unref();
  child.once('exit', () => clearTimeout(lastResort));
}

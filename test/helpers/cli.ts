import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { builtFile } from '../../src/environ/index.js';

/** The built CLI, as a user runs it after `npm ci`. */
export const BIN = builtFile('cli/main.js');

export interface Result {
  stdout: string;
  stderr: string;
  code: number | null;
}

/** A fresh SLUICE_HOME for one test (its own database), removed by `cleanup`. */
export function freshHome(): { home: string; env: NodeJS.ProcessEnv; cleanup: () => void } {
  const home = mkdtempSync(path.join(os.tmpdir(), 'sluice-home-'));
  const env = { ...process.env, SLUICE_HOME: home, SLUICE_STORE: '', SLUICE_USER: '' };
  return { home, env, cleanup: () => rmSync(home, { recursive: true, force: true }) };
}

/** Runs `sluice ARGS` to completion. */
export function sluice(args: string[], env: NodeJS.ProcessEnv, input?: string, cwd?: string): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'], ...(cwd ? { cwd } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, stderr, code }));
    child.stdin.end(input ?? '');
  });
}

/** Starts `sluice worker ARGS` and resolves once it says it has started. */
export function startWorker(env: NodeJS.ProcessEnv, args: string[] = []): Promise<ChildProcess & { log: () => string }> {
  const child = spawn(process.execPath, [BIN, 'worker', ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] }) as ChildProcess & { log: () => string };
  let log = '';
  child.log = () => log;
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (d) => {
      log += d;
      if (log.includes(': started')) resolve(child);
    });
    child.on('exit', (code) => reject(new Error(`worker exited (${code}) before starting: ${log}`)));
  });
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function until<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Whether a process is still running (a zombie waiting to be reaped counts as gone). */
export function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

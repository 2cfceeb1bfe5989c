import { fork, type ChildProcess } from 'node:child_process';
import { builtFile } from '../environ/paths.js';
import type { Environ, Report } from '../environ/index.js';
import { AbortedError } from '../environ/index.js';
import { killTree } from './killTree.js';

const CHILD = builtFile('jobs/jsChild.js');

export interface JsResult {
  value: unknown;
  environ: Environ;
}

/** An error thrown by the js code, rebuilt on this side with the child's stack. */
export class JsJobError extends Error {
  constructor(name: string, message: string, stack: string) {
    super(message);
    this.name = name;
    this.stack = stack;
  }
}

/**
 * Reusable Node child processes for `js` jobs. Each job gets a child of its own for its duration;
 * an endless loop or a crash stays in the child, and an abort kills the child's whole tree.
 * Idle children (up to `maxIdle`) wait for the next job; they never keep the worker alive.
 */
export class JsPool {
  private readonly idle: ChildProcess[] = [];

  constructor(private maxIdle = Number(process.env.SLUICE_JS_POOL_IDLE ?? 4)) {}

  /** Keeps at least `n` idle children (a worker running n js units at once reuses all of them). */
  keepIdle(n: number): void {
    if (!process.env.SLUICE_JS_POOL_IDLE) this.maxIdle = Math.max(this.maxIdle, n);
  }

  async run(code: string, environ: Environ, tmpdir: string, signal: AbortSignal, report: (r: Report) => void): Promise<JsResult> {
    signal.throwIfAborted();
    const child = this.take();
    return new Promise<JsResult>((resolve, reject) => {
      const cleanup = () => {
        child.off('message', onMessage);
        child.off('exit', onExit);
        signal.removeEventListener('abort', onAbort);
      };
      const onMessage = (m: ChildMessage) => {
        if (m.type === 'progress') report({ kind: 'progress', done: m.done, total: m.total, ...(m.message == null ? {} : { message: m.message }) });
        else if (m.type === 'status') report({ kind: 'status', text: m.text });
        else if (m.type === 'done') {
          cleanup();
          this.give(child);
          if (m.ok) resolve({ value: m.value === undefined ? undefined : JSON.parse(m.value), environ: m.environ });
          else reject(new JsJobError(m.error.name, m.error.message, m.error.stack));
        }
      };
      const onExit = (code: number | null, sig: NodeJS.Signals | null) => {
        cleanup();
        if (signal.aborted) return reject(new AbortedError());
        reject(new Error(`the js job's process died (${sig ? `signal ${sig}` : `exit code ${code}`})`));
      };
      const onAbort = () => {
        cleanup();
        if (child.pid) killTree(child.pid);
        reject(new AbortedError());
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
      signal.addEventListener('abort', onAbort, { once: true });
      child.send({ type: 'run', code, environ, tmpdir });
    });
  }

  /** Kills every idle child. */
  close(): void {
    for (const child of this.idle.splice(0)) child.kill('SIGKILL');
  }

  private take(): ChildProcess {
    while (this.idle.length) {
      const child = this.idle.pop()!;
      if (child.exitCode === null && child.signalCode === null && child.connected) {
        child.ref();
        (child.channel as { ref?: () => void } | undefined)?.ref?.();
        return child;
      }
    }
    return fork(CHILD, [], { detached: true, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  }

  private give(child: ChildProcess): void {
    if (this.idle.length >= this.maxIdle || !child.connected) {
      child.kill('SIGKILL');
      return;
    }
    child.unref();
    (child.channel as { unref?: () => void } | undefined)?.unref?.();
    this.idle.push(child);
  }
}

type ChildMessage =
  | { type: 'progress'; done: number; total: number; message?: string | null }
  | { type: 'status'; text: string }
  | { type: 'done'; ok: true; value?: string; environ: Environ }
  | { type: 'done'; ok: false; error: { name: string; message: string; stack: string } };

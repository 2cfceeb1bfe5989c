import { fork, type ChildProcess, type StdioOptions } from 'node:child_process';
import { builtFile } from '../environ/paths.js';
import type { Environ, Inbox, Report } from '../environ/index.js';
import { AbortedError, DEFAULTS } from '../environ/index.js';
import { jobEnv } from './jobEnv.js';
import { reaperBuilt, spawnReaped, stopTree } from './reaped.js';

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

/** Whose jobs a child has run: it runs no one else's (`null`: a run outside any worker, e.g. `sluice batch`). */
type Owner = string | null;

interface IdleChild {
  child: ChildProcess;
  owner: Owner;
}

/**
 * Reusable Node child processes for `js` jobs. Each job gets a child of its own for its duration;
 * an endless loop or a crash stays in the child. A child is reused only for the same owner's next
 * job, and only when it put its global scope back after the last one (jsScope.ts); a new owner
 * gets a fresh child. Children start with the allow-listed environment (jobEnv.ts), never the
 * worker's secrets, and run under the reaper, as `system` commands do: stopping one (an abort, a
 * child not fit for reuse) ends every process its jobs started, daemons included, and so does the
 * worker's death. Idle children (up to `maxIdle`, the least recently used go first) wait for the
 * next job; they never keep the worker alive.
 */
export class JsPool {
  /** Least recently used first. */
  private readonly idle: IdleChild[] = [];
  /** children that said they listen for jobs */
  private readonly listening = new WeakSet<ChildProcess>();

  private maxIdle: number;
  /** an idle limit set by the configuration (SLUICE_JS_POOL_IDLE) is kept as given */
  private readonly fixedIdle: boolean;
  private readonly passEnv: readonly string[];

  constructor(options: { maxIdle?: number | undefined; passEnv?: readonly string[] } = {}) {
    this.maxIdle = options.maxIdle ?? DEFAULTS.jsPoolIdle;
    this.fixedIdle = options.maxIdle !== undefined;
    this.passEnv = options.passEnv ?? [];
  }

  /** Keeps at least `n` idle children (a worker running n js units at once reuses all of them). */
  keepIdle(n: number): void {
    if (!this.fixedIdle) this.maxIdle = Math.max(this.maxIdle, n);
  }

  async run(code: string, environ: Environ, tmpdir: string, signal: AbortSignal, report: (r: Report) => void, owner: Owner = null, inbox?: Inbox): Promise<JsResult> {
    signal.throwIfAborted();
    const child = this.take(owner);
    await this.ready(child, signal);
    return new Promise<JsResult>((resolve, reject) => {
      let stopForwarding = () => {};
      const cleanup = () => {
        stopForwarding();
        child.off('message', onMessage);
        child.off('exit', onExit);
        signal.removeEventListener('abort', onAbort);
      };
      const onMessage = (m: ChildMessage) => {
        if (m.type === 'progress') report({ kind: 'progress', done: m.done, total: m.total, ...(m.message == null ? {} : { message: m.message }) });
        else if (m.type === 'status') report({ kind: 'status', text: m.text });
        else if (m.type === 'done') {
          cleanup();
          this.give(child, owner, m.reusable);
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
        stopTree(child);
        reject(new AbortedError());
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
      signal.addEventListener('abort', onAbort, { once: true });
      child.send({ type: 'run', code, environ, tmpdir });
      // Control messages follow the job to its child while it runs.
      if (inbox) stopForwarding = inbox.forward((body) => child.connected && child.send({ type: 'message', body }));
    });
  }

  /** Resolves once a fresh child says it listens (a reused one has said so); rejects if it dies first or the job is aborted. */
  private ready(child: ChildProcess, signal: AbortSignal): Promise<void> {
    if (this.listening.has(child)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const done = (err?: Error) => {
        child.off('message', onMessage);
        child.off('exit', onExit);
        signal.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      const onMessage = (m: { type?: string }) => {
        if (m?.type !== 'ready') return;
        this.listening.add(child);
        done();
      };
      const onExit = (code: number | null, sig: NodeJS.Signals | null) => done(new Error(`the js job's process died before it started (${sig ? `signal ${sig}` : `exit code ${code}`})`));
      const onAbort = () => {
        stopTree(child);
        done(new AbortedError());
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Stops every idle child. */
  close(): void {
    for (const { child } of this.idle.splice(0)) stopTree(child);
  }

  private take(owner: Owner): ChildProcess {
    for (let i = this.idle.length - 1; i >= 0; i--) {
      const entry = this.idle[i]!;
      if (entry.owner !== owner) continue;
      this.idle.splice(i, 1);
      const { child } = entry;
      if (child.exitCode === null && child.signalCode === null && child.connected) {
        child.ref();
        (child.channel as { ref?: () => void } | undefined)?.ref?.();
        return child;
      }
      stopTree(child);
    }
    const env = jobEnv({}, this.passEnv);
    const stdio: StdioOptions = ['ignore', 'inherit', 'inherit', 'ipc'];
    // What fork() does, with the reaper in between (the IPC channel is inherited through it).
    // Without a C compiler there is no reaper: js jobs still run, their daemons can then escape.
    if (reaperBuilt()) return spawnReaped(process.execPath, [...process.execArgv, CHILD], { env, stdio }, 'js jobs');
    return fork(CHILD, [], { env, stdio, detached: true });
  }

  private give(child: ChildProcess, owner: Owner, reusable: boolean): void {
    if (!reusable || this.maxIdle <= 0 || !child.connected) {
      stopTree(child);
      return;
    }
    child.unref();
    (child.channel as { unref?: () => void } | undefined)?.unref?.();
    this.idle.push({ child, owner });
    while (this.idle.length > this.maxIdle) stopTree(this.idle.shift()!.child);
  }
}

type ChildMessage =
  | { type: 'ready' }
  | { type: 'progress'; done: number; total: number; message?: string | null }
  | { type: 'status'; text: string }
  | { type: 'done'; ok: true; value?: string; environ: Environ; reusable: boolean }
  | { type: 'done'; ok: false; error: { name: string; message: string; stack: string }; reusable: boolean };

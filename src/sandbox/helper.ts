import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { builtFile } from '../environ/index.js';
import { NATIVE_HELPER } from '../native/index.js';
import { cgroupArgs, type RunConfig } from './args.js';
import type { HelperReport } from './report.js';

/** The native helper, compiled by `npm run build` (scripts/build-native.mjs) from src/native/sluice-run.c. */
export const HELPER_PATH = builtFile(NATIVE_HELPER);

export interface HelperRunOptions {
  /** Fires to stop the run: the helper kills the program and reports `killed_by: "terminated"`. */
  signal?: AbortSignal;
  /** Last-resort limit (ms) in case the helper itself hangs; the helper enforces the real limits. */
  watchdogMs: number;
}

/** A report the helper never sent (it died, or the watchdog fired). */
function failure(error: string): HelperReport {
  return { error, cpu_ms: 0, user_ms: 0, sys_ms: 0, wall_ms: 0, max_rss_kb: 0 };
}

/** The reports received, and a failure for each one missing. */
function fill(reports: Array<HelperReport | undefined>, error: string): HelperReport[] {
  return reports.map((r) => r ?? failure(error));
}

interface Pending {
  /** One report per sandbox of the request (a group run has several, by "proc" index). */
  reports: Array<HelperReport | undefined>;
  resolve: (reports: HelperReport[]) => void;
  pid?: number;
  stopped?: boolean;
  timers: NodeJS.Timeout[];
  cleanup: () => void;
}

/**
 * One long-lived `sluice-run --serve` per process: each run costs a fork of that small helper
 * instead of a Node spawn plus an exec (about 2 ms here, measured in bench/sandbox.mjs). It is
 * started on first use, does not keep the process alive when idle, and is restarted if it dies.
 */
export class HelperServer {
  private child?: ChildProcess;
  private readonly pending = new Map<string, Pending>();
  private seq = 0;
  private buffered = '';
  private options: string[] = [];

  constructor(private readonly path = HELPER_PATH) {}

  /** Options for every run (the cgroup parents); a change restarts the server. */
  configure(options: string[]): this {
    if (options.join('\0') !== this.options.join('\0')) {
      this.options = options;
      this.close();
    }
    return this;
  }

  async run(args: string[], options: HelperRunOptions): Promise<HelperReport> {
    return (await this.runMany(args, 1, options))[0]!;
  }

  /** A request answered by `count` reports: a group run (args from groupArgs()) has one per sandbox. */
  runMany(args: string[], count: number, options: HelperRunOptions): Promise<HelperReport[]> {
    if (options.signal?.aborted) return Promise.resolve(Array.from({ length: count }, () => failure('stopped before it started')));
    const child = this.start();
    const id = String(++this.seq);
    return new Promise<HelperReport[]>((resolve) => {
      const entry: Pending = {
        reports: new Array(count).fill(undefined),
        resolve: (reports) => {
          entry.cleanup();
          this.pending.delete(id);
          this.updateRef();
          resolve(reports);
        },
        timers: [],
        cleanup: () => {
          for (const t of entry.timers) clearTimeout(t);
          options.signal?.removeEventListener('abort', onAbort);
        },
      };
      const stop = (signal: NodeJS.Signals) => {
        entry.stopped = true;
        if (entry.pid) tryKill(entry.pid, signal);
      };
      const onAbort = () => stop('SIGTERM');
      options.signal?.addEventListener('abort', onAbort, { once: true });
      entry.timers.push(
        setTimeout(() => stop('SIGTERM'), options.watchdogMs),
        setTimeout(() => {
          stop('SIGKILL');
          entry.resolve(fill(entry.reports, `the helper did not report within ${options.watchdogMs + 2000} ms`));
        }, options.watchdogMs + 2000),
      );
      for (const t of entry.timers) t.unref();
      this.pending.set(id, entry);
      this.updateRef();
      const body = Buffer.from([id, ...args].map((a) => `${a}\0`).join(''), 'utf8');
      const frame = Buffer.alloc(4 + body.length);
      frame.writeUInt32LE(body.length, 0);
      body.copy(frame, 4);
      child.stdin!.write(frame);
    });
  }

  /** The server's pid while it runs (tests and diagnostics). */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Stops the server (its running supervisors stop their programs). */
  close(): void {
    this.child?.stdin?.end();
    this.child = undefined;
  }

  private start(): ChildProcess {
    if (this.child && this.child.exitCode === null && this.child.signalCode === null) return this.child;
    if (!existsSync(this.path)) throw new Error(`the sandbox helper is not built (${this.path}); run npm run build`);
    // Detached: a terminal's Ctrl-C goes to Node, whose exit closes our stdin, which stops the server cleanly.
    const child = spawn(this.path, ['--serve', ...this.options], { stdio: ['pipe', 'pipe', 'ignore'], detached: true });
    this.child = child;
    this.buffered = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => this.onData(chunk));
    child.stdin!.on('error', () => {});
    child.on('error', () => {});
    child.once('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      for (const entry of [...this.pending.values()]) {
        entry.resolve(fill(entry.reports, `the sandbox helper exited (${signal ?? `code ${code}`})`));
      }
    });
    return child;
  }

  private onData(chunk: string): void {
    this.buffered += chunk;
    let nl: number;
    while ((nl = this.buffered.indexOf('\n')) >= 0) {
      const line = this.buffered.slice(0, nl);
      this.buffered = this.buffered.slice(nl + 1);
      if (line) this.onLine(line);
    }
  }

  private onLine(line: string): void {
    let message: HelperReport & { id?: string; pid?: number; exited?: number; proc?: number };
    try {
      message = JSON.parse(line);
    } catch {
      return;
    }
    const entry = message.id === undefined ? undefined : this.pending.get(message.id);
    if (!entry) return;
    if (message.pid !== undefined && message.cpu_ms === undefined) {
      entry.pid = message.pid;
      if (entry.stopped) tryKill(entry.pid, 'SIGTERM');
      return;
    }
    if (message.exited !== undefined && message.cpu_ms === undefined) {
      entry.resolve(fill(entry.reports, `the run's supervisor died without a report (wait status ${message.exited})`));
      return;
    }
    const { id: _id, pid: _pid, exited: _exited, proc = 0, ...report } = message;
    if (proc < 0 || proc >= entry.reports.length) return;
    entry.reports[proc] = report;
    if (entry.reports.every(Boolean)) entry.resolve(entry.reports as HelperReport[]);
  }

  /** Keeps the process alive only while runs are pending. */
  private updateRef(): void {
    const child = this.child;
    if (!child) return;
    const handles = [child, child.stdout, child.stdin] as Array<{ ref?: () => void; unref?: () => void } | null>;
    const busy = this.pending.size > 0;
    for (const h of handles) {
      const target = (h as { _handle?: { ref?: () => void; unref?: () => void } } | null)?._handle ?? h;
      if (busy) target?.ref?.();
      else target?.unref?.();
    }
  }
}

/** The server used by the sandbox executors of this process. */
export const helperServer = new HelperServer();

/** The server, started with this configuration's cgroup parents (a run's and a disk request's). */
export function servedHelper(config: RunConfig): HelperServer {
  return helperServer.configure(cgroupArgs(config.cgroups));
}

/** Runs the helper once as its own process (the report comes on fd 3): used by the probe and the benchmark. */
export function runHelperOnce(args: string[], options: HelperRunOptions, path = HELPER_PATH): Promise<HelperReport> {
  return new Promise((resolve) => {
    if (!existsSync(path)) return resolve(failure(`the sandbox helper is not built (${path}); run npm run build`));
    const child = spawn(path, args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe'], detached: true });
    let out = '';
    let err = '';
    (child.stdio[3] as NodeJS.ReadableStream).setEncoding('utf8');
    (child.stdio[3] as NodeJS.ReadableStream).on('data', (c: string) => (out += c));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (c: string) => (err += c));
    const kill = (signal: NodeJS.Signals) => child.pid && tryKill(child.pid, signal);
    const onAbort = () => kill('SIGTERM');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const t1 = setTimeout(() => kill('SIGTERM'), options.watchdogMs);
    const t2 = setTimeout(() => child.pid && tryKill(-child.pid, 'SIGKILL'), options.watchdogMs + 2000);
    child.on('error', (e) => resolve(failure(`cannot start the helper: ${e.message}`)));
    child.on('close', (code, signal) => {
      clearTimeout(t1);
      clearTimeout(t2);
      options.signal?.removeEventListener('abort', onAbort);
      const line = out.split('\n').find((l) => l.trim());
      if (!line) return resolve(failure(`the helper exited (${signal ?? `code ${code}`}) without a report ${err.trim()}`.trim()));
      try {
        resolve(JSON.parse(line));
      } catch {
        resolve(failure(`the helper wrote a report that is not JSON: ${line.slice(0, 200)}`));
      }
    });
  });
}

function tryKill(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

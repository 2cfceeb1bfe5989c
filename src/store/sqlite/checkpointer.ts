import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { builtFile } from '../../environ/index.js';

/**
 * Checkpoints off the writer's thread. By default SQLite checkpoints inside the commit that makes
 * the WAL pass 1,000 pages: that commit copies 4 MB back into the database file and waits for two
 * fsyncs (30-60 ms on this VM), and a worker's loop stood still for it; 20,000 no-op jobs paid for
 * about 20 such commits, a sixth of their whole time (bench/work.mjs, docs/design.md). A thread
 * with a connection of its own does it instead, PASSIVE (writers go on appending meanwhile), and
 * the writers' autocheckpoint stays as a fallback at four times the size.
 *
 * One per database file in this process, started once the process has made STARTING_AFTER write
 * transactions (a CLI command that submits a job and exits, or a process that only reads, starts
 * none: a thread costs tens of ms to start), unref'ed (it keeps no process alive), stopped when the
 * last driver of the file closes.
 */
export const CHECKPOINT_PAGES = 1000;
/** The writers' own autocheckpoint, should the thread fall behind or be unable to run. */
export const FALLBACK_PAGES = 4 * CHECKPOINT_PAGES;
/** how often it looks at the WAL while it grows, and while it does not */
const EVERY_MS = 20;
const IDLE_MS = 250;
const STARTING_AFTER = 50;

interface Entry {
  users: number;
  writes: number;
  thread: Worker | undefined;
  /** the thread could not run: checkpoints are the writers' (not tried again) */
  failed: boolean;
}
const threads = new Map<string, Entry>();

export class Checkpointer {
  private readonly key: string;
  private started = false;
  private closed = false;

  constructor(file: string) {
    this.key = path.resolve(file);
    let entry = threads.get(this.key);
    if (!entry) threads.set(this.key, (entry = { users: 0, writes: 0, thread: undefined, failed: false }));
    entry.users++;
  }

  /** After a write transaction: the thread starts after enough of them, and runs from then on. */
  wrote(): void {
    if (this.started || this.closed) return;
    const entry = threads.get(this.key)!;
    if (entry.thread || entry.failed || ++entry.writes < STARTING_AFTER) return;
    this.started = true;
    try {
      const thread = new Worker(builtFile('store/sqlite/checkpointThread.js'), {
        workerData: { file: this.key, pages: CHECKPOINT_PAGES, everyMs: EVERY_MS, idleMs: IDLE_MS },
      });
      thread.unref();
      // A thread that cannot run leaves checkpoints to the writers' fallback.
      thread.on('error', () => {
        if (entry.thread !== thread) return;
        entry.thread = undefined;
        entry.failed = true;
      });
      entry.thread = thread;
    } catch {
      entry.failed = true;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const entry = threads.get(this.key);
    if (!entry || --entry.users > 0) return;
    threads.delete(this.key);
    const thread = entry.thread;
    if (!thread) return;
    // Asked to stop between two looks (its connection closes cleanly); terminated if it does not answer.
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => void thread.terminate().then(done, done), 1000);
      thread.once('message', () => void thread.terminate().then(done, done));
      thread.once('exit', done);
      thread.postMessage('stop');
    });
  }
}

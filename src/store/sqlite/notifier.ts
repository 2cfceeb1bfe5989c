import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';

/**
 * Tells waiters that the database changed: by another process (its commit writes the WAL file, so
 * inotify on the folder fires at once, and PRAGMA data_version, which moves only for other
 * connections' commits, tells a real change from our own writes; a slow poll covers file systems
 * without inotify), or by this process (the store calls `localCommit` after a write that others
 * care about, so an in-process worker or watcher wakes at once).
 *
 * Changes are counted: `mark()` is the count now, and `wait(…, since)` returns as soon as the count
 * passes `since`. A consumer takes a mark before it reads, then waits since that mark, so a change
 * between its read and its wait is never missed, whoever else in the process looked meanwhile.
 */
export class ChangeNotifier {
  private readonly waiters = new Set<() => void>();
  private watcher: FSWatcher | undefined;
  private lastVersion: number;
  private count = 0;
  private closed = false;

  constructor(
    dbFile: string,
    private readonly dataVersion: () => number,
    private readonly pollMs = 50,
  ) {
    this.lastVersion = dataVersion();
    const base = path.basename(dbFile);
    try {
      this.watcher = watch(path.dirname(dbFile), { persistent: false }, (_event, name) => {
        if (name && String(name).startsWith(base)) this.onFileEvent();
      });
      this.watcher.on('error', () => this.watcher?.close());
    } catch {
      this.watcher = undefined; // polling alone still works
    }
  }

  /** The number of changes seen so far (another process's are looked for first). */
  mark(): number {
    this.check();
    return this.count;
  }

  /** This process committed a change: wake everyone waiting. */
  localCommit(): void {
    this.count++;
    this.wakeAll();
  }

  /** Resolves once a change after `since` (default: now) is seen, or on timeout or abort. */
  wait(timeoutMs: number, signal?: AbortSignal, since?: number): Promise<void> {
    const base = since ?? this.mark();
    if (this.mark() > base || signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        clearInterval(poll);
        signal?.removeEventListener('abort', done);
        this.waiters.delete(wake);
        resolve();
      };
      const wake = () => {
        if (this.count > base) done();
      };
      const timer = setTimeout(done, timeoutMs);
      const poll = setInterval(() => this.check(), this.pollMs);
      signal?.addEventListener('abort', done, { once: true });
      this.waiters.add(wake);
    });
  }

  close(): void {
    this.closed = true;
    this.watcher?.close();
    this.count++;
    this.wakeAll();
  }

  /**
   * The WAL is written before the commit is published in the shared index (through mmap, which
   * inotify does not see), so the event can come before data_version moves: look again a moment
   * later instead of waiting for the poll.
   */
  private onFileEvent(): void {
    if (!this.waiters.size) return;
    if (this.check()) return;
    setTimeout(() => this.check() || setTimeout(() => this.check(), 4), 1);
  }

  /** Counts another process's commit, if there was one since the last look, and wakes the waiters. */
  private check(): boolean {
    if (this.closed) return false;
    const version = this.dataVersion();
    if (version === this.lastVersion) return false;
    this.lastVersion = version;
    this.count++;
    this.wakeAll();
    return true;
  }

  private wakeAll(): void {
    for (const wake of [...this.waiters]) wake();
  }
}

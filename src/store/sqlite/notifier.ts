import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';

/**
 * Wakes waiters when another process commits to the database. The commit writes the WAL file, so
 * inotify (fs.watch on the folder) tells us at once; PRAGMA data_version, which changes only for
 * other connections' commits, tells a real change from our own writes. A slow poll covers file
 * systems without inotify.
 */
export class ChangeNotifier {
  private readonly waiters = new Set<() => void>();
  private watcher: FSWatcher | undefined;
  private lastVersion: number;

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

  /** Resolves when a change made by another connection is seen (or one happened since the last wake-up), or on timeout. */
  wait(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (this.changed()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        clearInterval(poll);
        signal?.removeEventListener('abort', done);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      const poll = setInterval(() => void this.check(), this.pollMs);
      signal?.addEventListener('abort', done, { once: true });
      this.waiters.add(done);
    });
  }

  close(): void {
    this.watcher?.close();
    for (const wake of [...this.waiters]) wake();
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

  private check(): boolean {
    if (this.waiters.size && this.changed()) {
      for (const wake of [...this.waiters]) wake();
      return true;
    }
    return false;
  }

  private changed(): boolean {
    const version = this.dataVersion();
    if (version === this.lastVersion) return false;
    this.lastVersion = version;
    return true;
  }
}

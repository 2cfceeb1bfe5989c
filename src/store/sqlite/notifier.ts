import { watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { ChangeCounter } from '../changes.js';

/**
 * Other processes' commits to a SQLite database, seen at once: a commit writes the WAL file, so
 * inotify (fs.watch on the folder) fires; PRAGMA data_version, which moves only for other
 * connections' commits, tells a real change from our own writes. A 50 ms poll covers file systems
 * without inotify. Changes are counted by a ChangeCounter (this process's commits are bumped there
 * by the driver).
 */
export class SqliteWatcher {
  readonly changes: ChangeCounter;
  private watcher: FSWatcher | undefined;
  private lastVersion: number;
  private closed = false;

  constructor(dbFile: string, private readonly dataVersion: () => number) {
    this.lastVersion = dataVersion();
    this.changes = new ChangeCounter(() => this.check());
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

  close(): void {
    this.closed = true;
    this.watcher?.close();
    this.changes.close();
  }

  /**
   * The WAL is written before the commit is published in the shared index (through mmap, which
   * inotify does not see), so the event can come before data_version moves: look again a moment
   * later instead of waiting for the poll.
   */
  private onFileEvent(): void {
    if (!this.changes.waiting) return;
    if (this.check()) return;
    setTimeout(() => this.check() || setTimeout(() => this.check(), 4), 1);
  }

  /** Counts another process's commit, if there was one since the last look. */
  private check(): boolean {
    if (this.closed) return false;
    const version = this.dataVersion();
    if (version === this.lastVersion) return false;
    this.lastVersion = version;
    this.changes.bump();
    return true;
  }
}

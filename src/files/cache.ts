/**
 * The worker's local cache of the file store, shared by every process that uses the same folder:
 *
 *   <dir>/index.db           names(path, version → sha256), blobs(sha256 → size, last_used), the total size
 *   <dir>/blobs/ab/ab12…     content, by SHA-256 (identical files are kept once), read-only
 *   <dir>/tmp/               downloads in progress
 *
 * A versioned name is only ever looked up here: a hit costs one indexed SELECT, one small UPDATE and a
 * file copy, and sends no request. Above `maxBytes` the least recently used blobs are evicted.
 * The cache is soft: an entry whose blob has vanished (evicted by a neighbour between lookup and copy,
 * or a crash between unlink and commit) is dropped and counts as a miss.
 */
import Database from 'better-sqlite3';
import { chmodSync, constants, copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { removeStaleTmp, tmpName } from './tmpfiles.js';
import { DEFAULTS } from '../environ/index.js';

export interface CacheEntry {
  sha256: string;
  size: number;
  /** The cached blob (read-only; copy it, never hand it out). */
  file: string;
}

export interface CacheOptions {
  /** Size cap in bytes; default 10 GiB (sioworkers' worker default). */
  maxBytes?: number;
}

export const DEFAULT_CACHE_BYTES = DEFAULTS.filesCacheBytes;
/** Files up to this size are copied out with one read and one write. */
const SMALL_FILE = 256 * 1024;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS blobs (
  sha256 TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  last_used REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS blobs_lru ON blobs(last_used);
CREATE TABLE IF NOT EXISTS names (
  path TEXT NOT NULL,
  version INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  PRIMARY KEY (path, version)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS names_sha ON names(sha256);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
`;

function statements(db: Database.Database) {
  return {
    lookup: db.prepare<[string, number], { sha256: string; size: number }>(
      'SELECT b.sha256, b.size FROM names n JOIN blobs b ON b.sha256 = n.sha256 WHERE n.path = ? AND n.version = ?',
    ),
    blob: db.prepare<[string], { sha256: string; size: number }>('SELECT sha256, size FROM blobs WHERE sha256 = ?'),
    touch: db.prepare<[number, string]>('UPDATE blobs SET last_used = ? WHERE sha256 = ?'),
    addBlob: db.prepare<[string, number, number]>('INSERT INTO blobs (sha256, size, last_used) VALUES (?, ?, ?) ON CONFLICT(sha256) DO UPDATE SET last_used = excluded.last_used'),
    addName: db.prepare<[string, number, string]>('INSERT OR REPLACE INTO names (path, version, sha256) VALUES (?, ?, ?)'),
    oldest: db.prepare<[string], { sha256: string; size: number }>('SELECT sha256, size FROM blobs WHERE sha256 != ? ORDER BY last_used LIMIT 1'),
    dropBlob: db.prepare<[string]>('DELETE FROM blobs WHERE sha256 = ?'),
    dropNames: db.prepare<[string]>('DELETE FROM names WHERE sha256 = ?'),
    total: db.prepare<[], { value: number }>("SELECT value FROM meta WHERE key = 'bytes'"),
    setTotal: db.prepare<[number]>("INSERT INTO meta (key, value) VALUES ('bytes', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value"),
    sum: db.prepare<[], { bytes: number; entries: number }>('SELECT coalesce(sum(size), 0) AS bytes, count(*) AS entries FROM blobs'),
  };
}

/** A clock for recency that never repeats within a process (ties would make LRU order arbitrary). */
let lastStamp = 0;
function stamp(): number {
  const now = performance.timeOrigin + performance.now();
  lastStamp = now > lastStamp ? now : lastStamp + 0.001;
  return lastStamp;
}

export class FileCache {
  readonly dir: string;
  readonly maxBytes: number;
  private readonly blobsDir: string;
  private readonly tmpDir: string;
  private readonly db: Database.Database;
  private readonly q: ReturnType<typeof statements>;
  private readonly txAdd: Database.Transaction<(sha: string, size: number, tmp: string | null, names: Array<[string, number]>) => CacheEntry | undefined>;
  private readonly txDrop: Database.Transaction<(sha: string) => void>;

  constructor(dir: string, options: CacheOptions = {}) {
    this.dir = path.resolve(dir);
    this.maxBytes = options.maxBytes ?? DEFAULT_CACHE_BYTES;
    this.blobsDir = path.join(this.dir, 'blobs');
    this.tmpDir = path.join(this.dir, 'tmp');
    mkdirSync(this.blobsDir, { recursive: true });
    mkdirSync(this.tmpDir, { recursive: true });
    this.db = new Database(path.join(this.dir, 'index.db'));
    this.db.pragma('journal_mode = WAL');
    // The cache can be rebuilt from the store: no fsync per commit.
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 20000');
    this.db.exec(SCHEMA);
    this.q = statements(this.db);
    this.txAdd = this.db.transaction((sha: string, size: number, tmp: string | null, names: Array<[string, number]>) => {
      const file = this.blobPath(sha);
      const known = this.q.blob.get(sha);
      if (known && existsSync(file)) {
        if (tmp) rmSync(tmp, { force: true });
      } else if (!tmp) {
        return undefined;
      } else {
        mkdirSync(path.dirname(file), { recursive: true });
        chmodSync(tmp, 0o444);
        renameSync(tmp, file);
      }
      this.q.addBlob.run(sha, size, stamp());
      for (const [p, version] of names) this.q.addName.run(p, version, sha);
      let total = (this.q.total.get()?.value ?? 0) + (known ? 0 : size);
      // Evict the least recently used blobs (never the one just added) until under the cap.
      while (total > this.maxBytes) {
        const victim = this.q.oldest.get(sha);
        if (!victim) break;
        rmSync(this.blobPath(victim.sha256), { force: true });
        this.q.dropNames.run(victim.sha256);
        this.q.dropBlob.run(victim.sha256);
        total -= victim.size;
      }
      this.q.setTotal.run(total);
      return { sha256: sha, size, file };
    });
    this.txDrop = this.db.transaction((sha: string) => {
      const known = this.q.blob.get(sha);
      if (!known) return;
      rmSync(this.blobPath(sha), { force: true });
      this.q.dropNames.run(sha);
      this.q.dropBlob.run(sha);
      this.q.setTotal.run(Math.max(0, (this.q.total.get()?.value ?? 0) - known.size));
    });
    removeStaleTmp(this.tmpDir);
    // Re-derive the total (cheap; guards against drift after a crash).
    this.q.setTotal.run(this.q.sum.get()!.bytes);
  }

  private blobPath(sha: string): string {
    return path.join(this.blobsDir, sha.slice(0, 2), sha);
  }

  /** The cached content of `path@version`, marked as just used; undefined on a miss. */
  lookup(p: string, version: number): CacheEntry | undefined {
    const row = this.q.lookup.get(p, version);
    if (!row) return undefined;
    this.q.touch.run(stamp(), row.sha256);
    return { sha256: row.sha256, size: row.size, file: this.blobPath(row.sha256) };
  }

  /** Whether `path@version` is cached, without marking it as used. */
  has(p: string, version: number): boolean {
    return this.q.lookup.get(p, version) !== undefined;
  }

  /** The cached content with this digest (any name), marked as just used. */
  lookupBlob(sha256: string): CacheEntry | undefined {
    const row = this.q.blob.get(sha256);
    if (!row) return undefined;
    this.q.touch.run(stamp(), row.sha256);
    return { sha256: row.sha256, size: row.size, file: this.blobPath(row.sha256) };
  }

  /** Records that `path@version` has the content `sha256` (already cached). */
  addName(p: string, version: number, sha256: string): void {
    this.q.addName.run(p, version, sha256);
  }

  /**
   * Copies a cached entry to `dest` (a writable copy of its own; reflinked where the file system can).
   * Returns false, and forgets the entry, when its blob has vanished meanwhile.
   */
  copyTo(entry: CacheEntry, dest: string): boolean {
    for (let attempt = 0; ; attempt++) {
      try {
        if (entry.size <= SMALL_FILE) {
          // One read and one write beat copy_file_range for small files.
          writeFileSync(dest, readFileSync(entry.file), { mode: 0o644 });
        } else {
          copyFileSync(entry.file, dest, constants.COPYFILE_FICLONE);
          chmodSync(dest, 0o644);
        }
        return true;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'ENOENT' && !existsSync(entry.file)) {
          this.txDrop.immediate(entry.sha256);
          return false;
        }
        // A read-only file already at dest: replace it.
        if ((code === 'EACCES' || code === 'EPERM') && attempt === 0 && existsSync(dest)) {
          rmSync(dest, { force: true });
          continue;
        }
        throw err;
      }
    }
  }

  /** A fresh temporary path inside the cache (same file system as the blobs), for a download. */
  tmpPath(): string {
    return tmpName(this.tmpDir);
  }

  /** Whether a file of this size may be cached at all. */
  fits(size: number): boolean {
    return size <= this.maxBytes;
  }

  /**
   * Moves the checked file `tmp` (whose content has this digest and size) into the cache under the
   * given names, then evicts least recently used blobs above the cap.
   */
  add(tmp: string, sha256: string, size: number, names: Array<[string, number]>): CacheEntry {
    try {
      return this.txAdd.immediate(sha256, size, tmp, names)!;
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  }

  /** Adds a copy of the file `source` (left in place). */
  addCopy(source: string, sha256: string, size: number, names: Array<[string, number]>): CacheEntry {
    const existing = this.txAdd.immediate(sha256, size, null, names);
    if (existing) return existing;
    const tmp = this.tmpPath();
    copyFileSync(source, tmp, constants.COPYFILE_FICLONE);
    return this.add(tmp, sha256, size, names);
  }

  /** Bytes and blobs held. */
  stats(): { bytes: number; entries: number } {
    return this.q.sum.get()!;
  }

  close(): void {
    this.db.close();
  }
}

/**
 * The file store's storage: content-addressed blobs plus a small SQLite database of names.
 *
 *   <root>/meta.db            files(path → version, sha256, size) and blobs(sha256 → size, refs)
 *   <root>/blobs/ab/ab12…     one file per distinct content, named by the SHA-256 of the content
 *   <root>/tmp/<host>.<pid>.<uuid>   uploads in progress
 *
 * Names never become file-system paths (a blob's path comes from a hex digest), so no name can make
 * the server read or write outside the root.
 *
 * Why it is safe (docs/files.md has the long form):
 *  - an upload streams into its own temporary file, is hashed on the way, fsynced, and only then enters
 *    a transaction; a crash before that leaves a stray temporary file and nothing else;
 *  - the version rules, the name row and the reference counts change in one `BEGIN IMMEDIATE`
 *    transaction (one writer at a time, across processes), and the blob is renamed into place inside
 *    it: readers see the old version or the new one, never a mix, and concurrent writers serialize;
 *  - invariant: a blob row with refs > 0 has its file. Blob files are removed only by `collect`, in a
 *    transaction that re-checks refs = 0; a crash between its unlink and its commit leaves a refs = 0 row
 *    without a file, which the invariant allows. A crash after a rename but before its commit leaves an
 *    orphan blob file (wasted space only; `fsck` removes it).
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { closeSync, createWriteStream, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { NotFoundError, UsageError } from '../environ/index.js';
import { ConflictError } from './errors.js';
import { formatName, nowVersion } from './names.js';
import { removeStaleTmp, tmpName } from './tmpfiles.js';

/** What the store knows about one stored file. */
export interface StoredFile {
  path: string;
  version: number;
  sha256: string;
  size: number;
}

/** An upload that has been received, hashed and written to a temporary file, not yet committed. */
export interface Ingested {
  readonly tmp: string;
  readonly sha256: string;
  readonly size: number;
}

export interface CommitResult {
  /** Whether the write took effect (false: the stored version is newer; nothing changed). */
  applied: boolean;
  /** The file as stored after the request. */
  file: StoredFile;
}

export interface RemoveResult {
  removed: boolean;
  /** The file that was removed, or (when not removed) the newer one that stays. */
  file: StoredFile;
}

export interface StorageOptions {
  /** fsync uploads before they are committed and commit with synchronous=FULL; default true. */
  fsync?: boolean;
  /** Refuse uploads larger than this many bytes (after decompression); default: no limit. */
  maxFileSize?: number;
}

export interface IngestOptions {
  /** The body is gzip-compressed (Content-Encoding: gzip). */
  gzip?: boolean;
  /** Expected SHA-256 of the uncompressed content (the SHA256-Checksum header). */
  sha256?: string;
  /** Expected uncompressed size (the Logical-Size header). */
  size?: number;
}


const SCHEMA = `
CREATE TABLE IF NOT EXISTS files (
  path TEXT PRIMARY KEY,
  version INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  size INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blobs (
  sha256 TEXT PRIMARY KEY,
  size INTEGER NOT NULL,
  refs INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS blobs_unreferenced ON blobs(refs) WHERE refs = 0;
`;

interface BlobRow {
  sha256: string;
  size: number;
  refs: number;
}

function statements(db: Database.Database) {
  return {
    getFile: db.prepare<[string], StoredFile>('SELECT path, version, sha256, size FROM files WHERE path = ?'),
    putFile: db.prepare<[string, number, string, number]>(
      'INSERT INTO files (path, version, sha256, size) VALUES (?, ?, ?, ?) ON CONFLICT(path) DO UPDATE SET version = excluded.version, sha256 = excluded.sha256, size = excluded.size',
    ),
    deleteFile: db.prepare<[string]>('DELETE FROM files WHERE path = ?'),
    anyUnder: db.prepare<[string, string], { one: number }>('SELECT 1 AS one FROM files WHERE path > ? AND path < ? LIMIT 1'),
    listAll: db.prepare<[number], StoredFile>('SELECT path, version, sha256, size FROM files WHERE version <= ? ORDER BY path'),
    listUnder: db.prepare<[string, string, number], StoredFile>(
      'SELECT path, version, sha256, size FROM files WHERE path > ? AND path < ? AND version <= ? ORDER BY path',
    ),
    getBlob: db.prepare<[string], BlobRow>('SELECT sha256, size, refs FROM blobs WHERE sha256 = ?'),
    putBlob: db.prepare<[string, number, number]>(
      'INSERT INTO blobs (sha256, size, refs) VALUES (?, ?, ?) ON CONFLICT(sha256) DO UPDATE SET refs = excluded.refs',
    ),
    deleteBlob: db.prepare<[string]>('DELETE FROM blobs WHERE sha256 = ?'),
    unreferenced: db.prepare<[], { sha256: string }>('SELECT sha256 FROM blobs WHERE refs = 0'),
    allBlobs: db.prepare<[], BlobRow>('SELECT sha256, size, refs FROM blobs'),
    counts: db.prepare<[], { files: number; blobs: number; bytes: number | null }>(
      'SELECT (SELECT count(*) FROM files) AS files, (SELECT count(*) FROM blobs WHERE refs > 0) AS blobs, (SELECT sum(size) FROM blobs WHERE refs > 0) AS bytes',
    ),
  };
}

type Statements = ReturnType<typeof statements>;

interface CommitTx {
  commit: CommitResult;
  moved: boolean;
  collect?: string;
}

interface RemoveTx {
  remove: RemoveResult;
  collect?: string;
}

export class FileStorage {
  readonly root: string;
  readonly blobsDir: string;
  readonly tmpDir: string;
  readonly db: Database.Database;
  private readonly fsync: boolean;
  private readonly maxFileSize: number;
  private readonly q: Statements;
  private readonly txCommit: Database.Transaction<(p: string, version: number | undefined, ing: Ingested, now: number) => CommitTx>;
  private readonly txRemove: Database.Transaction<(p: string, version: number | undefined) => RemoveTx>;
  private readonly txCollect: Database.Transaction<(sha: string) => void>;

  constructor(root: string, options: StorageOptions = {}) {
    this.root = path.resolve(root);
    this.blobsDir = path.join(this.root, 'blobs');
    this.tmpDir = path.join(this.root, 'tmp');
    this.fsync = options.fsync ?? true;
    this.maxFileSize = options.maxFileSize ?? Number.POSITIVE_INFINITY;
    mkdirSync(this.blobsDir, { recursive: true });
    mkdirSync(this.tmpDir, { recursive: true });
    this.db = new Database(path.join(this.root, 'meta.db'));
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${this.fsync ? 'FULL' : 'NORMAL'}`);
    this.db.pragma('busy_timeout = 20000');
    this.db.exec(SCHEMA);
    this.q = statements(this.db);
    this.txCommit = this.db.transaction((p: string, version: number | undefined, ing: Ingested, now: number) => this.commitInTx(p, version, ing, now));
    this.txRemove = this.db.transaction((p: string, version: number | undefined) => this.removeInTx(p, version));
    this.txCollect = this.db.transaction((sha: string) => {
      const blob = this.q.getBlob.get(sha);
      if (!blob || blob.refs !== 0) return;
      rmSync(this.blobPath(sha), { force: true });
      this.q.deleteBlob.run(sha);
    });
    removeStaleTmp(this.tmpDir);
    for (const { sha256 } of this.q.unreferenced.all()) this.collect(sha256);
  }

  /** Where the blob with this digest lives. */
  blobPath(sha256: string): string {
    return path.join(this.blobsDir, sha256.slice(0, 2), sha256);
  }

  /** The stored file at `p`, or undefined. */
  stat(p: string): StoredFile | undefined {
    return this.q.getFile.get(p);
  }

  /**
   * Receives an upload: streams `body` (gunzipped when `gzip`) into a fresh temporary file, hashing
   * and counting on the way, then fsyncs it. Checks the declared size and digest. Memory use does not
   * depend on the size of the upload. On any failure the temporary file is removed.
   */
  async ingest(body: Readable, options: IngestOptions = {}): Promise<Ingested> {
    const tmp = tmpName(this.tmpDir);
    const hash = createHash('sha256');
    let size = 0;
    const limit = this.maxFileSize;
    const count = async function* (source: AsyncIterable<Buffer>) {
      for await (const chunk of source) {
        size += chunk.length;
        if (size > limit) throw new UsageError(`the file is larger than the store's limit of ${limit} bytes`);
        hash.update(chunk);
        yield chunk;
      }
    };
    try {
      // A deep buffer lets the file stream gather socket-sized chunks into one writev.
      const sink = createWriteStream(tmp, { flags: 'wx', mode: 0o644, highWaterMark: 4 * 1024 * 1024 });
      if (options.gzip) await pipeline(body, createGunzip(), count, sink);
      else await pipeline(body, count, sink);
      if (this.fsync) {
        const fh = await open(tmp, 'r');
        try {
          await fh.sync();
        } finally {
          await fh.close();
        }
      }
      const sha256 = hash.digest('hex');
      if (options.size !== undefined && options.size !== size) {
        throw new UsageError(`Logical-Size says ${options.size} bytes but the content has ${size}`);
      }
      if (options.sha256 !== undefined && options.sha256.toLowerCase() !== sha256) {
        throw new UsageError(`SHA256-Checksum does not match the content (got ${sha256})`);
      }
      return { tmp, sha256, size };
    } catch (err) {
      rmSync(tmp, { force: true });
      throw err;
    }
  }

  /** Drops an ingested upload that will not be committed. */
  discard(ing: Ingested): void {
    rmSync(ing.tmp, { force: true });
  }

  /**
   * Stores an ingested upload under `p` with filetracker's version rules: a write with a version older
   * than the stored one changes nothing (the result carries the stored file); an equal or newer version
   * replaces it; a write without a version is stamped now (or one second after the stored version when
   * that is not older than now, so that one versioned name never denotes two contents).
   */
  commit(p: string, version: number | undefined, ing: Ingested, now = nowVersion()): CommitResult {
    let result: CommitTx;
    try {
      result = this.txCommit.immediate(p, version, ing, now);
    } catch (err) {
      rmSync(ing.tmp, { force: true });
      throw err;
    }
    if (!result.moved) rmSync(ing.tmp, { force: true });
    if (result.collect) this.collect(result.collect);
    return result.commit;
  }

  private commitInTx(p: string, version: number | undefined, ing: Ingested, now: number): CommitTx {
    const current = this.q.getFile.get(p);
    if (current && version !== undefined && version < current.version) return { commit: { applied: false, file: current }, moved: false };
    this.checkTree(p);
    const stamped = version ?? (current && current.version >= now ? current.version + 1 : now);
    let moved = false;
    const blob = this.q.getBlob.get(ing.sha256);
    const blobFile = this.blobPath(ing.sha256);
    if (blob && blob.refs > 0 && existsSync(blobFile)) {
      this.q.putBlob.run(ing.sha256, ing.size, blob.refs + 1);
    } else {
      // A new blob (or a refs = 0 row whose file may already be gone): the rename happens while this
      // transaction holds the write lock, so no collect can run between it and the commit.
      mkdirSync(path.dirname(blobFile), { recursive: true });
      renameSync(ing.tmp, blobFile);
      moved = true;
      // The rename must be on disk before the commit that points at it (power cuts).
      if (this.fsync) fsyncDir(path.dirname(blobFile));
      this.q.putBlob.run(ing.sha256, ing.size, (blob?.refs ?? 0) + 1);
    }
    const collect = current ? this.unref(current.sha256) : undefined;
    this.q.putFile.run(p, stamped, ing.sha256, ing.size);
    const file: StoredFile = { path: p, version: stamped, sha256: ing.sha256, size: ing.size };
    return { commit: { applied: true, file }, moved, collect };
  }

  /** Removes `p` unless the stored version is newer than `version`. Throws NotFoundError when absent. */
  remove(p: string, version?: number): RemoveResult {
    const result = this.txRemove.immediate(p, version);
    if (result.collect) this.collect(result.collect);
    return result.remove;
  }

  private removeInTx(p: string, version: number | undefined): RemoveTx {
    const current = this.q.getFile.get(p);
    if (!current) throw new NotFoundError(`no file "${p}"`);
    if (version !== undefined && version < current.version) return { remove: { removed: false, file: current } };
    this.q.deleteFile.run(p);
    return { remove: { removed: true, file: current }, collect: this.unref(current.sha256) };
  }

  /** Decrements a blob's references; returns the digest when it dropped to zero. */
  private unref(sha: string): string | undefined {
    const blob = this.q.getBlob.get(sha);
    if (!blob) return undefined;
    const refs = Math.max(0, blob.refs - 1);
    this.q.putBlob.run(sha, blob.size, refs);
    return refs === 0 ? sha : undefined;
  }

  /** Deletes an unreferenced blob (its own transaction; see the invariant at the top). */
  private collect(sha: string): void {
    this.txCollect.immediate(sha);
  }

  /** A file and a folder cannot share a name: `/a` and `/a/b` cannot both exist. */
  private checkTree(p: string): void {
    for (let i = p.indexOf('/', 1); i !== -1; i = p.indexOf('/', i + 1)) {
      const ancestor = p.slice(0, i);
      if (this.q.getFile.get(ancestor)) throw new ConflictError(`"${ancestor}" is a file, so "${p}" cannot be created under it`);
    }
    if (this.q.anyUnder.get(`${p}/`, `${p}0`)) throw new ConflictError(`"${p}" is a folder`);
  }

  /** The stored file at `p` (of exactly `version` when given); NotFoundError with the reason otherwise. */
  get(p: string, version?: number): StoredFile {
    const file = this.q.getFile.get(p);
    if (!file) throw new NotFoundError(`no file "${p}"`);
    if (version !== undefined && file.version !== version) {
      throw new NotFoundError(`version ${version} of "${p}" is not stored (the current one is ${formatName(p, file.version)})`);
    }
    return file;
  }

  /**
   * Opens the current content of `p` for reading (of exactly `version` when given). The returned
   * descriptor stays valid even if the file is replaced and its blob collected meanwhile.
   */
  openRead(p: string, version?: number): { file: StoredFile; fd: number } {
    for (let attempt = 0; attempt < 5; attempt++) {
      const file = this.get(p, version);
      try {
        return { file, fd: openSync(this.blobPath(file.sha256), 'r') };
      } catch (err) {
        // Replaced and collected between the lookup and the open (another process): look again.
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    throw new Error(`the content of "${p}" is missing from the blob store`);
  }

  /** Closes a descriptor from `openRead` that will not be streamed. */
  closeRead(fd: number): void {
    closeSync(fd);
  }

  /**
   * The files under folder `dir` (recursively) whose version is at most `cutoff`, sorted by path.
   * Throws UsageError when `dir` is a file and NotFoundError when no file lives under it.
   */
  list(dir: string, cutoff: number): StoredFile[] {
    if (dir === '/') return this.q.listAll.all(cutoff);
    if (!this.q.anyUnder.get(`${dir}/`, `${dir}0`)) {
      if (this.q.getFile.get(dir)) throw new UsageError(`"${dir}" is a file, not a folder`);
      throw new NotFoundError(`no folder "${dir}"`);
    }
    return this.q.listUnder.all(`${dir}/`, `${dir}0`, cutoff);
  }

  /** Counts: names, distinct referenced blobs and their bytes. */
  counts(): { files: number; blobs: number; bytes: number } {
    const row = this.q.counts.get()!;
    return { files: row.files, blobs: row.blobs, bytes: row.bytes ?? 0 };
  }

  /**
   * Checks blobs against the database under the write lock: removes blob files that no row references
   * (left by a crash between a rename and its commit) and reports referenced blobs whose file is missing.
   */
  fsck(): { orphansRemoved: number; missing: string[] } {
    return this.db.transaction(() => {
      const known = new Map(this.q.allBlobs.all().map((b) => [b.sha256, b] as const));
      let orphansRemoved = 0;
      for (const prefix of readdirSync(this.blobsDir)) {
        const dir = path.join(this.blobsDir, prefix);
        for (const name of readdirSync(dir)) {
          const blob = known.get(name);
          if (!blob || blob.refs === 0) {
            rmSync(path.join(dir, name), { force: true });
            orphansRemoved++;
          }
        }
      }
      const missing = [...known.values()].filter((b) => b.refs > 0 && !existsSync(this.blobPath(b.sha256))).map((b) => b.sha256);
      return { orphansRemoved, missing };
    }).immediate();
  }

  close(): void {
    this.db.close();
  }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

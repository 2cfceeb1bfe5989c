/**
 * How jobs reach their files (sioworkers' `ft.download` / `ft.upload`): `fileAccessFor` is what the
 * runner's caller passes as `run(environ, { files: fileAccessFor })`.
 *
 * Environ keys:
 *  - `filetracker_url`: the store (else the environment variable SLUICE_FILES_URL);
 *  - `use_filetracker`: `true` = names are store paths; `false` = local paths relative to the
 *    folder the process started in (`LocalFiles`); `"auto"` = the store for names starting with `/`,
 *    local paths for the others. Default: `true` when a store URL is known, else `false`.
 */
import path from 'node:path';
import { LocalFiles, NotFoundError, UsageError, type Environ, type FileAccess } from '../environ/index.js';
import { parseName } from './names.js';
import { FileTracker, defaultCacheDir } from './tracker.js';

const trackers = new Map<string, FileTracker>();

/** The shared client + cache for a store URL (one per process, so connections and the index are reused). */
export function trackerFor(url: string, cacheDir: string | null = defaultCacheDir()): FileTracker {
  const token = process.env.SLUICE_FILES_TOKEN ?? '';
  const key = `${url}\0${cacheDir ?? ''}\0${token}`;
  let tracker = trackers.get(key);
  if (!tracker) {
    tracker = new FileTracker({ url, cacheDir });
    trackers.set(key, tracker);
  }
  return tracker;
}

/** Closes every shared tracker (their idle connections and cache indexes). */
export function closeTrackers(): void {
  for (const tracker of trackers.values()) tracker.close();
  trackers.clear();
}

/** The `use_filetracker` mode of an environ. */
export function fileMode(environ: Environ): { mode: true | false | 'auto'; url: string | undefined } {
  const rawUrl = environ.filetracker_url ?? (process.env.SLUICE_FILES_URL || undefined);
  if (rawUrl !== undefined && (typeof rawUrl !== 'string' || rawUrl === '')) throw new UsageError('environ key "filetracker_url" must be a URL');
  const url = rawUrl as string | undefined;
  const raw = environ.use_filetracker;
  let mode: true | false | 'auto';
  if (raw === undefined || raw === null) mode = url !== undefined;
  else if (raw === true || raw === 'true') mode = true;
  else if (raw === false || raw === 'false') mode = false;
  else if (raw === 'auto') mode = 'auto';
  else throw new UsageError(`environ key "use_filetracker" must be true, false or "auto", not ${JSON.stringify(raw)}`);
  if (mode !== false && url === undefined) {
    throw new UsageError('use_filetracker is set but no file store is named: set the environ key "filetracker_url" (or SLUICE_FILES_URL)');
  }
  return { mode, url };
}

/** The `FileAccess` for one run, as `run()`'s `files` option expects. */
export function fileAccessFor(workdir: () => string, environ: Environ): FileAccess {
  const { mode, url } = fileMode(environ);
  const local = new LocalFiles(workdir);
  if (mode === false) return local;
  const store = new StoreFiles(workdir, trackerFor(url!));
  if (mode === true) return store;
  return {
    download: (env, key, dest, opts) => (isStoreName(env[key]) ? store : local).download(env, key, dest, opts),
    upload: (env, key, source, opts) => (isStoreName(env[key]) ? store : local).upload(env, key, source, opts),
  };
}

function isStoreName(name: unknown): boolean {
  return typeof name === 'string' && name.startsWith('/');
}

function nameIn(environ: Environ, key: string): string {
  const name = environ[key];
  if (typeof name !== 'string' || name === '') throw new UsageError(`environ key "${key}" must name a file`);
  try {
    parseName(name);
  } catch (err) {
    throw new UsageError(`environ key "${key}": ${(err as Error).message}`);
  }
  return name;
}

/** Files from the store, through the local cache. */
export class StoreFiles implements FileAccess {
  constructor(private readonly workdir: () => string, private readonly tracker: FileTracker) {}

  /** Copies `environ[key]` from the store (or the cache) to `dest` in the job's folder. */
  async download(environ: Environ, key: string, dest: string, opts: { addToCache?: boolean } = {}): Promise<string> {
    const name = nameIn(environ, key);
    const target = path.resolve(this.workdir(), dest);
    try {
      await this.tracker.get(name, target, { addToCache: opts.addToCache ?? true });
    } catch (err) {
      if (err instanceof NotFoundError) throw new NotFoundError(`environ key "${key}": ${err.message}`);
      throw err;
    }
    return target;
  }

  /**
   * Stores `source` (in the job's folder) under the path in `environ[key]` (a version there is
   * dropped: an output gets a new version), always in the local cache and, unless `toRemote` is false
   * (exec's `upload_out: false`), on the server. `environ[key]` becomes the versioned name, which is returned.
   */
  async upload(environ: Environ, key: string, source: string, opts: { toRemote?: boolean } = {}): Promise<string> {
    const name = nameIn(environ, key);
    const { path: target } = parseName(name);
    const stored = await this.tracker.put(path.resolve(this.workdir(), source), target, { toRemote: opts.toRemote ?? true });
    environ[key] = stored;
    return stored;
  }
}

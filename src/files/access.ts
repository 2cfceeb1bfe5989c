/**
 * How jobs reach their files (sioworkers' `ft.download` / `ft.upload`): `new JobFiles(settings).access`
 * is what the runner's caller passes as `run(environ, { files })`.
 *
 * Environ keys:
 *  - `filetracker_url`: the store (else the configuration's, SLUICE_FILES_URL);
 *  - `use_filetracker`: `true` = names are store paths; `false` = local paths relative to the
 *    folder the process started in (`LocalFiles`); `"auto"` = the store for names starting with `/`,
 *    local paths for the others. Default: `true` when a store URL is known, else `false`.
 */
import path from 'node:path';
import { LocalFiles, NotFoundError, UsageError, type Environ, type FileAccess } from '../environ/index.js';
import { parseName } from './names.js';
import { FileTracker } from './tracker.js';

/** How jobs reach the file store: the part of the configuration (environ/config.ts `FilesConfig`) they need. */
export interface JobFilesSettings {
  /** the store a job uses when its environ names none (SLUICE_FILES_URL) */
  url?: string | undefined;
  token?: string | undefined;
  /** the client cache (SLUICE_FILES_CACHE); null: none */
  cacheDir: string | null;
  cacheBytes?: number;
  gzip?: boolean | 'auto';
}

/**
 * The file access of one process's runs (sioworkers' `ft`): one client and cache per store URL,
 * shared by every run (connections and the cache index are reused), closed by whoever owns it
 * (the composition root). `access` is what the runner takes as `run(environ, { files })`.
 */
export class JobFiles {
  private readonly trackers = new Map<string, FileTracker>();

  constructor(private settings: JobFilesSettings) {}

  /** The store jobs use when neither their environ nor the configuration names one (a server's own /files). */
  useByDefault(url: string, token: string | undefined): void {
    if (!this.settings.url) this.settings = { ...this.settings, url, token: this.settings.token ?? token };
  }

  /** The `FileAccess` for one run. */
  readonly access = (workdir: () => string, environ: Environ): FileAccess => {
    const { mode, url } = fileMode(environ, this.settings.url);
    const local = new LocalFiles(workdir);
    if (mode === false) return local;
    const store = new StoreFiles(workdir, this.tracker(url!));
    if (mode === true) return store;
    return {
      download: (env, key, dest, opts) => (isStoreName(env[key]) ? store : local).download(env, key, dest, opts),
      upload: (env, key, source, opts) => (isStoreName(env[key]) ? store : local).upload(env, key, source, opts),
    };
  };

  /** The shared client and cache for a store URL. */
  tracker(url: string): FileTracker {
    let tracker = this.trackers.get(url);
    if (!tracker) {
      const { token, cacheDir, cacheBytes, gzip } = this.settings;
      tracker = new FileTracker({ url, cacheDir, ...(token ? { token } : {}), ...(cacheBytes ? { cacheMaxBytes: cacheBytes } : {}), ...(gzip === undefined ? {} : { gzip }) });
      this.trackers.set(url, tracker);
    }
    return tracker;
  }

  /** Closes every client (their idle connections) and cache index. */
  close(): void {
    for (const tracker of this.trackers.values()) tracker.close();
    this.trackers.clear();
  }
}

/** The `use_filetracker` mode of an environ; `fallbackUrl` is the store named by the configuration. */
export function fileMode(environ: Environ, fallbackUrl?: string): { mode: true | false | 'auto'; url: string | undefined } {
  const rawUrl = environ.filetracker_url ?? (fallbackUrl || undefined);
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

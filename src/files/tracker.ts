/**
 * The client with its local cache: what jobs and `sluice files get|put` use (filetracker's Client).
 *
 *  - get(name): a versioned name in the cache is served from it with no request at all; an unversioned
 *    name costs one HEAD for the current version (and digest), then is served from the cache if either
 *    is there; otherwise the content is downloaded (into the cache unless told not to).
 *  - put(file, name): uploads to the server (unless `toRemote` is false) and keeps a copy in the cache
 *    (unless `toLocal` is false); returns the versioned name.
 */
import { mkdirSync } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { NotFoundError } from '../environ/index.js';
import { DEFAULT_CACHE_BYTES, FileCache } from './cache.js';
import { FilesClient, sha256File, type ClientOptions } from './client.js';
import { formatName, nowVersion, parseName } from './names.js';

export interface TrackerOptions extends ClientOptions {
  /** The cache folder (the configuration's SLUICE_FILES_CACHE); null or absent: no cache. */
  cacheDir?: string | null;
  /** The cache's size cap in bytes; default 10 GiB. */
  cacheMaxBytes?: number;
}

export interface GetResult {
  /** The versioned name of what was delivered. */
  name: string;
  /** True when no byte came over the network. */
  fromCache: boolean;
}

export class FileTracker {
  readonly client: FilesClient;
  readonly cache: FileCache | undefined;

  constructor(options: TrackerOptions) {
    this.client = new FilesClient(options);
    const dir = options.cacheDir ?? null;
    this.cache = dir === null ? undefined : new FileCache(dir, { maxBytes: options.cacheMaxBytes ?? DEFAULT_CACHE_BYTES });
  }

  /** Delivers the content of `name` to `dest` (absolute; folders created). */
  async get(name: string, dest: string, options: { addToCache?: boolean } = {}): Promise<GetResult> {
    const { path: p, version } = parseName(name);
    const cache = this.cache;
    const addToCache = options.addToCache ?? true;
    let wanted = version;
    // Only a version learnt from HEAD may be replaced by a newer one; an asked-for version may not.
    let followLatest = false;
    if (cache) {
      if (version !== undefined) {
        const hit = cache.lookup(p, version);
        if (hit && (await this.deliver(cache, hit, dest))) return { name, fromCache: true };
      } else {
        const current = await this.client.stat(p);
        if (!current) throw new NotFoundError(`no file "${p}" in the file store`);
        const hit = cache.lookup(p, current.version) ?? cache.lookupBlob(current.sha256);
        if (hit && (await this.deliver(cache, hit, dest))) {
          cache.addName(p, current.version, hit.sha256);
          return { name: current.name, fromCache: true };
        }
        wanted = current.version;
        followLatest = true;
      }
    }
    if (cache && addToCache) {
      const tmp = cache.tmpPath();
      const file = await this.download(p, wanted, tmp, followLatest);
      if (cache.fits(file.size)) {
        const entry = cache.add(tmp, file.sha256, file.size, [[p, file.version]]);
        if (await this.deliver(cache, entry, dest)) return { name: file.name, fromCache: false };
        // Evicted by a neighbour in the instant between: fetch once more, straight to dest.
      } else {
        await mkdir(path.dirname(dest), { recursive: true });
        await rename(tmp, dest).catch(async (err) => {
          await rm(tmp, { force: true });
          throw err;
        });
        return { name: file.name, fromCache: false };
      }
    }
    const file = await this.download(p, wanted, dest, followLatest);
    return { name: file.name, fromCache: false };
  }

  /**
   * Stores the file `source` as `name`. With `toRemote` (default) it goes to the server and the
   * returned name carries the server's version (when the server holds a newer version, that one's
   * name is returned and nothing is cached); without, it is only kept in the cache under a version
   * stamped now (or the one in `name`), visible to this machine only.
   */
  async put(source: string, name: string, options: { toRemote?: boolean; toLocal?: boolean } = {}): Promise<string> {
    const { path: p, version } = parseName(name);
    const cache = options.toLocal === false ? undefined : this.cache;
    const toRemote = options.toRemote ?? true;
    if (toRemote || !cache) {
      const file = await this.client.upload(source, name);
      if (cache && file.applied && cache.fits(file.size)) cache.addCopy(source, file.sha256, file.size, [[p, file.version]]);
      return file.name;
    }
    const size = (await stat(source)).size;
    const sha256 = await sha256File(source);
    const stamped = version ?? nowVersion();
    if (cache.fits(size)) cache.addCopy(source, sha256, size, [[p, stamped]]);
    return formatName(p, stamped);
  }

  close(): void {
    this.client.close();
    this.cache?.close();
  }

  private async download(p: string, version: number | undefined, dest: string, followLatest: boolean) {
    try {
      return await this.client.download(formatName(p, version), dest);
    } catch (err) {
      // The version announced by HEAD was replaced in between: take whatever is current now.
      if (err instanceof NotFoundError && followLatest) {
        const current = await this.client.stat(p);
        if (current && current.version !== version) return this.client.download(p, dest);
      }
      throw err;
    }
  }

  private async deliver(cache: FileCache, entry: { sha256: string; size: number; file: string }, dest: string): Promise<boolean> {
    // Synchronous on purpose: a cache hit is a handful of small system calls, and each trip through
    // libuv's thread pool would cost more than the call itself.
    mkdirSync(path.dirname(dest), { recursive: true });
    return cache.copyTo(entry, dest);
  }
}

/** Content digest of a buffer (tests and benches). */
export function sha256Of(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * The HTTP client of the file store (filetracker protocol v2). Streams in both directions: neither an
 * upload nor a download holds a file in memory. Every download is checked against the server's
 * `Logical-Size` and `SHA256-Checksum` before it appears at its destination (written to a temporary
 * file beside it, then renamed).
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { NotFoundError, SluiceError, UsageError } from '../environ/index.js';
import { ConflictError, RemoteError } from './errors.js';
import { encodePath, formatName, httpDate, parseDir, parseName } from './names.js';
import { isLoopback } from '../environ/index.js';
import { tmpName } from './tmpfiles.js';

/** A file as the server describes it. */
export interface RemoteFile {
  path: string;
  version: number;
  size: number;
  sha256: string;
  /** `path@version` */
  name: string;
}

export interface ListEntry extends RemoteFile {
  /** The path relative to the listed folder. */
  relative: string;
}

export interface ClientOptions {
  /** Base URL of the store, e.g. `http://127.0.0.1:9999` (a path prefix is kept: `http://h/ft`). */
  url: string;
  /** Bearer token (the configuration's SLUICE_FILES_TOKEN). */
  token?: string;
  /**
   * Compress bodies with gzip. Default `'auto'`: only when the server is not on this machine (gzip runs
   * at 40–250 MB/s here, far below a local disk, but well above most networks for text).
   */
  gzip?: boolean | 'auto';
  /** A request fails when its socket stays idle this long; default 120 s. */
  idleTimeoutMs?: number;
}

/** Downloads up to this size are gathered in memory and written at once. */
const SMALL_FILE = 1024 * 1024;

export class FilesClient {
  readonly base: URL;
  /** The path the routes are mounted under ('' at the root). */
  readonly prefix: string;
  /** Requests sent so far (tests use it to prove a cache hit made none). */
  requests = 0;
  private readonly token: string | undefined;
  private readonly gzip: boolean;
  private readonly idleTimeoutMs: number;
  private readonly agent: http.Agent;
  private readonly transport: typeof http | typeof https;

  constructor(options: ClientOptions) {
    let base: URL;
    try {
      base = new URL(options.url);
    } catch {
      throw new UsageError(`the file store URL "${options.url}" is not a URL`);
    }
    if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new UsageError(`the file store URL "${options.url}" must be http:// or https://`);
    this.base = base;
    this.prefix = base.pathname.replace(/\/+$/, '');
    this.token = options.token || undefined;
    const hostname = base.hostname.replace(/^\[|\]$/g, '');
    this.gzip = options.gzip === undefined || options.gzip === 'auto' ? !isLoopback(hostname) : options.gzip;
    this.idleTimeoutMs = options.idleTimeoutMs ?? 120_000;
    this.transport = base.protocol === 'https:' ? https : http;
    this.agent = new this.transport.Agent({ keepAlive: true, maxSockets: 16 });
  }

  /** The protocol versions the server speaks (`GET /version`). */
  async protocolVersions(): Promise<number[]> {
    const res = await this.send('GET', '/version');
    const body = JSON.parse(await readText(res)) as { protocol_versions?: number[] };
    return body.protocol_versions ?? [];
  }

  /** The current file at `name` (HEAD), or undefined when there is none. A versioned name must match exactly. */
  async stat(name: string): Promise<RemoteFile | undefined> {
    const { path: p, version } = parseName(name);
    try {
      const res = await this.send('HEAD', `/files${encodePath(formatName(p, version))}`, { headers: { 'accept-encoding': 'identity' } });
      res.resume();
      return fileFrom(res, p);
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      throw err;
    }
  }

  /** Opens the content of `name` as a stream (decompressed), with its description. */
  async open(name: string): Promise<{ file: RemoteFile; stream: Readable }> {
    const { path: p, version } = parseName(name);
    const res = await this.send('GET', `/files${encodePath(formatName(p, version))}`, {
      headers: { 'accept-encoding': this.gzip ? 'gzip' : 'identity' },
    });
    const file = fileFrom(res, p);
    const encoding = String(res.headers['content-encoding'] ?? 'identity').toLowerCase();
    if (encoding === 'gzip' || encoding === 'x-gzip') {
      const gunzip = createGunzip();
      pipeline(res, gunzip).catch(() => {});
      return { file, stream: gunzip };
    }
    return { file, stream: res };
  }

  /**
   * Downloads `name` to `dest` (created with its folders). The content is checked against the size and
   * digest the server announced; `dest` only ever holds a complete, checked file.
   */
  async download(name: string, dest: string): Promise<RemoteFile> {
    const { file, stream } = await this.open(name);
    const dir = path.dirname(dest);
    mkdirSync(dir, { recursive: true });
    const tmp = tmpName(dir);
    const check = (size: number, sha256: string) => {
      if (size !== file.size || sha256 !== file.sha256) {
        throw new SluiceError(`download of "${name}" is corrupt: got ${size} bytes with SHA-256 ${sha256}, the server announced ${file.size} bytes with ${file.sha256}`);
      }
    };
    try {
      if (file.size <= SMALL_FILE) {
        // Small files: gathered in memory and written with two system calls, no stream set-up.
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of stream as AsyncIterable<Buffer>) {
          size += chunk.length;
          if (size > file.size) throw new SluiceError(`download of "${name}" is longer than the ${file.size} bytes the server announced`);
          chunks.push(chunk);
        }
        const data = Buffer.concat(chunks);
        check(data.length, createHash('sha256').update(data).digest('hex'));
        writeFileSync(tmp, data, { mode: 0o644 });
        renameSync(tmp, dest);
        return file;
      }
      const hash = createHash('sha256');
      let size = 0;
      const count = async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          size += chunk.length;
          hash.update(chunk);
          yield chunk;
        }
      };
      // A deep buffer lets the file stream gather socket-sized chunks into one writev.
      await pipeline(stream, count, createWriteStream(tmp, { mode: 0o644, highWaterMark: 4 * 1024 * 1024 }));
      check(size, hash.digest('hex'));
      await rename(tmp, dest);
      return file;
    } catch (err) {
      stream.destroy();
      await rm(tmp, { force: true });
      throw err;
    }
  }

  /**
   * Uploads the file `source` (a path) or a buffer as `name` (versioned or not). Returns the file the
   * server holds afterwards and whether this upload took effect (false: the server has a newer version,
   * which is returned). The digest is computed first, so the server verifies what it receives.
   */
  async upload(source: string | Buffer, name: string): Promise<RemoteFile & { applied: boolean }> {
    const { path: p, version } = parseName(name);
    let size: number;
    let sha256: string;
    if (typeof source === 'string') {
      size = (await stat(source)).size;
      sha256 = await sha256File(source);
    } else {
      size = source.length;
      sha256 = createHash('sha256').update(source).digest('hex');
    }
    const headers: http.OutgoingHttpHeaders = {
      'content-type': 'application/octet-stream',
      'logical-size': String(size),
      'sha256-checksum': sha256,
    };
    const body: Readable = typeof source === 'string' ? createReadStream(source, { highWaterMark: 1024 * 1024 }) : readableOf(source);
    let payload: Readable = body;
    if (this.gzip) {
      headers['content-encoding'] = 'gzip';
      payload = body.pipe(createGzip({ level: 1 }));
      body.on('error', (err) => payload.destroy(err));
    } else {
      headers['content-length'] = String(size);
    }
    const query = version === undefined ? '' : `?last_modified=${encodeURIComponent(httpDate(version))}`;
    const res = await this.send('PUT', `/files${encodePath(p)}${query}`, { headers, body: payload });
    const text = await readText(res);
    const file = fileFrom(res, p);
    let applied = file.sha256 === sha256;
    try {
      const json = JSON.parse(text) as { applied?: boolean };
      if (typeof json.applied === 'boolean') applied = json.applied;
    } catch {
      // A server that answers "OK": the headers say it all.
    }
    return { ...file, applied };
  }

  /** Removes `name` unless the server holds a newer version than the one given. NotFoundError when absent. */
  async remove(name: string): Promise<{ removed: boolean; file: RemoteFile }> {
    const { path: p, version } = parseName(name);
    const query = version === undefined ? '' : `?last_modified=${encodeURIComponent(httpDate(version))}`;
    const res = await this.send('DELETE', `/files${encodePath(p)}${query}`);
    const text = await readText(res);
    let removed = true;
    try {
      const json = JSON.parse(text) as { removed?: boolean };
      if (typeof json.removed === 'boolean') removed = json.removed;
    } catch {
      // Plain "OK".
    }
    return { removed, file: fileFrom(res, p) };
  }

  /** The files under `dir`, recursively, with versions at most `cutoff` (default: now). */
  async list(dir: string, cutoff?: number): Promise<ListEntry[]> {
    const folder = parseDir(dir);
    const query = cutoff === undefined ? '' : `?last_modified=${encodeURIComponent(httpDate(cutoff))}`;
    const res = await this.send('GET', `/list${folder === '/' ? '/' : encodePath(folder)}${query}`, { headers: { accept: 'application/json' } });
    const text = await readText(res);
    const rows = JSON.parse(text) as Array<{ name: string; path: string; version: number; size: number; sha256: string }>;
    return rows.map((r) => ({ relative: r.name, path: r.path, version: r.version, size: r.size, sha256: r.sha256, name: formatName(r.path, r.version) }));
  }

  /** Closes idle connections. */
  close(): void {
    this.agent.destroy();
  }

  /** Sends one request; resolves with a 2xx response, or throws the server's reason as an error. */
  private send(method: string, route: string, options: { headers?: http.OutgoingHttpHeaders; body?: Readable } = {}, redirects = 0): Promise<IncomingMessage> {
    this.requests++;
    const url = `${this.base.origin}${this.prefix}${route}`;
    const headers: http.OutgoingHttpHeaders = { ...options.headers };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = this.transport.request(url, { method, headers, agent: this.agent }, (res) => {
        const status = res.statusCode ?? 0;
        if (status >= 200 && status < 300) return resolve(res);
        if ((status === 307 || status === 308) && res.headers.location && !options.body && redirects < 3) {
          res.resume();
          // Filetracker's migration server answers HEAD with a redirect; follow it (same method).
          const target = new URL(res.headers.location, url);
          return resolve(this.send(method, target.pathname.slice(this.prefix.length) + target.search, options, redirects + 1));
        }
        readText(res, 16 * 1024).then(
          (text) => reject(errorFor(status, reasonOf(text, res), method, route, this.base)),
          () => reject(errorFor(status, '', method, route, this.base)),
        );
      });
      req.setTimeout(this.idleTimeoutMs, () => req.destroy(new SluiceError(`the file store at ${this.base.origin} did not answer for ${this.idleTimeoutMs / 1000} s`)));
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (err instanceof SluiceError) return reject(err);
        reject(new SluiceError(`cannot reach the file store at ${this.base.origin}: ${err.code ?? err.message}`));
      });
      if (options.body) {
        pipeline(options.body, req).catch((err: Error) => {
          req.destroy(err);
          reject(err);
        });
      } else req.end();
    });
  }
}

function fileFrom(res: IncomingMessage, p: string): RemoteFile {
  const lastModified = res.headers['last-modified'];
  const ms = lastModified ? Date.parse(lastModified) : Number.NaN;
  if (Number.isNaN(ms)) throw new SluiceError(`the file store sent no usable Last-Modified for "${p}"`);
  const version = Math.floor(ms / 1000);
  const size = Number(res.headers['logical-size'] ?? res.headers['content-length'] ?? Number.NaN);
  const sha256 = String(res.headers['sha256-checksum'] ?? '').toLowerCase();
  return { path: p, version, size, sha256, name: formatName(p, version) };
}

function reasonOf(text: string, res: IncomingMessage): string {
  try {
    const json = JSON.parse(text) as { error?: string; message?: string };
    if (json.error && json.message && json.error !== json.message) return json.message;
    if (json.error) return json.error;
  } catch {
    // not JSON
  }
  const header = res.headers['x-exception'];
  if (typeof header === 'string' && header) return header;
  return text.trim().split('\n')[0]?.slice(0, 300) ?? '';
}

function errorFor(status: number, reason: string, method: string, route: string, base: URL): Error {
  const what = reason || `${method} ${route} answered ${status}`;
  if (status === 404) return new NotFoundError(what);
  if (status === 409) return new ConflictError(what);
  if (status === 400) return new UsageError(what);
  if (status === 401 || status === 403) return new UsageError(`the file store at ${base.origin} refused the request: ${what}`);
  return new RemoteError(`the file store at ${base.origin} answered ${status}: ${what}`, status);
}

async function readText(res: IncomingMessage, limit = 64 * 1024 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      res.destroy();
      break;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

function readableOf(buffer: Buffer): Readable {
  const stream = new PassThrough();
  stream.end(buffer);
  return stream;
}

/** SHA-256 of a file, streamed. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * The filetracker protocol (v2) as a fastify plugin, so that `sluice files serve` and the HTTP server
 * in server/ mount the same routes (the latter under its own prefix):
 *
 *   GET /version                                  {"protocol_versions":[2]}
 *   GET|HEAD /files/<path>[@<version>]            the content; Last-Modified = version, Logical-Size, SHA256-Checksum
 *   PUT /files/<path>[@<version>][?last_modified=] store; the reply's Last-Modified is the version now stored
 *   DELETE /files/<path>[@<version>][?last_modified=] remove unless the stored version is newer; 404 if absent
 *   GET /list/<dir>[?last_modified=]              recursive listing, one relative path a line (JSON on Accept)
 *
 * Bodies travel gzip-compressed when the client asks (`Accept-Encoding: gzip`, `Content-Encoding: gzip`)
 * and plain otherwise. Errors are JSON `{"error": reason}` with the reason also in `X-Exception`.
 * docs/files.md is the reference.
 */
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { timingSafeEqual, createHash } from 'node:crypto';
import { closeSync, createReadStream, readSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { UsageError } from '../environ/index.js';
import { statusOf } from './errors.js';
import { formatName, httpDate, nowVersion, parseDir, parseName, parseVersion } from './names.js';
import { FileStorage, type StoredFile } from './storage.js';

export interface FilesRoutesOptions {
  /** The storage to serve; or give `root` and the plugin opens (and on close, closes) one. */
  storage?: FileStorage;
  root?: string;
  /** When set, every request needs `Authorization: Bearer <token>`. */
  token?: string;
  /** gzip level for responses to clients that accept gzip; default 1 (fast; text still shrinks ~4x). */
  gzipLevel?: number;
}

type Params = { '*'?: string };

/** Files up to this size are read into memory and sent in one piece. */
const SMALL_FILE = 64 * 1024;

/** Reads a whole (small) file from an open descriptor, and closes it. */
function readWhole(fd: number, size: number): Buffer {
  try {
    const data = Buffer.allocUnsafe(size);
    let done = 0;
    while (done < size) {
      const n = readSync(fd, data, done, size - done, done);
      if (n === 0) throw new Error('a blob is shorter than its recorded size');
      done += n;
    }
    return data;
  } finally {
    closeSync(fd);
  }
}
type Query = { last_modified?: string };

/** The filetracker v2 routes. Register with `app.register(filesRoutes, { prefix, storage | root, token })`. */
export const filesRoutes: FastifyPluginAsync<FilesRoutesOptions> = async (app, options) => {
  const owned = options.storage === undefined;
  if (!options.storage && !options.root) throw new Error('filesRoutes needs a storage or a root');
  const storage = options.storage ?? new FileStorage(options.root!);
  if (owned) app.addHook('onClose', async () => storage.close());
  const gzipLevel = options.gzipLevel ?? 1;

  // Bodies are streamed by the handlers, whatever their content type: never buffered, never size-limited here.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', (_request, payload, done) => done(null, payload));

  app.setErrorHandler((err, _request, reply) => {
    const { status, reason } = statusOf(err);
    if (status >= 500) reply.log.error(err);
    return sendError(reply, status, reason);
  });
  app.setNotFoundHandler((request, reply) => sendError(reply, 404, `no such endpoint: ${request.method} ${request.url.split('?')[0]}`));

  if (options.token) {
    const expected = createHash('sha256').update(options.token).digest();
    app.addHook('onRequest', async (request, reply) => {
      const header = request.headers.authorization ?? '';
      const given = header.startsWith('Bearer ') ? header.slice(7) : '';
      if (!timingSafeEqual(createHash('sha256').update(given).digest(), expected)) {
        reply.header('www-authenticate', 'Bearer');
        return sendError(reply, 401, given ? 'the bearer token is wrong' : 'a bearer token is required (Authorization: Bearer ...)');
      }
    });
  }

  app.get('/version', async () => ({ protocol_versions: [2] }));

  app.route<{ Params: Params }>({
    method: 'HEAD',
    url: '/files/*',
    handler: async (request, reply) => {
      const { path, version } = nameOf(request);
      const file = storage.get(path, version);
      fileHeaders(reply, file);
      reply.type('application/octet-stream');
      if (!acceptsGzip(request)) reply.header('content-length', file.size);
      return reply.send();
    },
  });

  app.route<{ Params: Params }>({
    method: 'GET',
    url: '/files/*',
    exposeHeadRoute: false,
    handler: async (request, reply) => {
      const { path, version } = nameOf(request);
      const { file, fd } = storage.openRead(path, version);
      fileHeaders(reply, file);
      reply.type('application/octet-stream');
      const gzip = acceptsGzip(request);
      if (file.size <= SMALL_FILE && !gzip) {
        // Small files go out as one buffer: cheaper than setting up a stream.
        const data = readWhole(fd, file.size);
        return reply.header('content-length', file.size).send(data);
      }
      const content = createReadStream('', { fd, highWaterMark: 1024 * 1024 });
      if (gzip) {
        const gzip = createGzip({ level: gzipLevel });
        // pipeline destroys both streams (closing the descriptor) if the client goes away.
        pipeline(content, gzip).catch(() => {});
        return reply.header('content-encoding', 'gzip').send(gzip);
      }
      return reply.header('content-length', file.size).send(content);
    },
  });

  app.put<{ Params: Params; Querystring: Query }>('/files/*', async (request, reply) => {
    const { path, version } = nameOf(request);
    const encoding = String(request.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
    if (!['identity', 'gzip', 'x-gzip', ''].includes(encoding)) throw new UsageError(`unsupported Content-Encoding "${encoding}" (use gzip or none)`);
    const sha256 = optionalHeader(request, 'sha256-checksum');
    if (sha256 !== undefined && !/^[0-9a-fA-F]{64}$/.test(sha256)) throw new UsageError('SHA256-Checksum must be 64 hex digits');
    const sizeText = optionalHeader(request, 'logical-size');
    if (sizeText !== undefined && !/^\d{1,16}$/.test(sizeText)) throw new UsageError('Logical-Size must be a number of bytes');
    const body = (request.body as Readable | undefined) ?? request.raw;
    const ingested = await storage.ingest(body, {
      gzip: encoding === 'gzip' || encoding === 'x-gzip',
      ...(sha256 === undefined ? {} : { sha256 }),
      ...(sizeText === undefined ? {} : { size: Number(sizeText) }),
    });
    const { applied, file } = storage.commit(path, version, ingested);
    fileHeaders(reply, file);
    return { name: formatName(file.path, file.version), path: file.path, version: file.version, size: file.size, sha256: file.sha256, applied };
  });

  app.delete<{ Params: Params; Querystring: Query }>('/files/*', async (request, reply) => {
    const { path, version } = nameOf(request);
    const { removed, file } = storage.remove(path, version);
    fileHeaders(reply, file);
    return { path: file.path, version: file.version, removed };
  });

  const list = async (request: FastifyRequest<{ Params: Params; Querystring: Query }>, reply: FastifyReply) => {
    const dir = parseDir(`/${request.params['*'] ?? ''}`);
    const cutoff = request.query.last_modified === undefined ? nowVersion() : parseVersion(request.query.last_modified);
    const files = storage.list(dir, cutoff);
    const skip = dir === '/' ? 1 : dir.length + 1;
    if (String(request.headers.accept ?? '').includes('application/json')) {
      return files.map((f) => ({ name: f.path.slice(skip), path: f.path, version: f.version, size: f.size, sha256: f.sha256 }));
    }
    return reply.type('text/plain; charset=utf-8').send(files.map((f) => `${f.path.slice(skip)}\n`).join(''));
  };
  app.get<{ Params: Params; Querystring: Query }>('/list', list);
  app.get<{ Params: Params; Querystring: Query }>('/list/*', list);
};

/** The name from the URL; a version may come as `@N` in the path or as `?last_modified=`, not both differently. */
function nameOf(request: FastifyRequest<{ Params: Params; Querystring?: Query }>): { path: string; version?: number } {
  const name = parseName(`/${request.params['*'] ?? ''}`);
  const query = (request.query ?? {}) as Query;
  if (query.last_modified === undefined || request.method === 'GET' || request.method === 'HEAD') return name;
  const version = parseVersion(query.last_modified);
  if (name.version !== undefined && name.version !== version) {
    throw new UsageError(`the name says version ${name.version} but last_modified says ${version}`);
  }
  return { path: name.path, version };
}

function fileHeaders(reply: FastifyReply, file: StoredFile): void {
  reply.headers({
    'last-modified': httpDate(file.version),
    'logical-size': String(file.size),
    'sha256-checksum': file.sha256,
    etag: `"${file.sha256}"`,
    vary: 'Accept-Encoding',
  });
}

function acceptsGzip(request: FastifyRequest): boolean {
  const header = String(request.headers['accept-encoding'] ?? '');
  for (const part of header.split(',')) {
    const [token, ...params] = part.trim().toLowerCase().split(';');
    if (token !== 'gzip' && token !== 'x-gzip') continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    return q === undefined || Number(q.slice(2)) > 0;
  }
  return false;
}

function optionalHeader(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  if (value === undefined) return undefined;
  return (Array.isArray(value) ? value[0] : value)?.trim();
}

function sendError(reply: FastifyReply, status: number, reason: string): FastifyReply {
  // Header values must be printable ASCII; the body keeps the exact reason.
  return reply
    .code(status)
    .header('x-exception', reason.replace(/[^\x20-\x7e]/g, '?'))
    .type('application/json; charset=utf-8')
    .send({ error: reason });
}

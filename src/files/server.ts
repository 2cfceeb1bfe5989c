/** `sluice files serve`: the filetracker routes on their own fastify server. */
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';
import { UsageError } from '../environ/index.js';
import { explainListenError, isLoopback } from '../environ/index.js';
import { filesRoutes } from './routes.js';
import { FileStorage, type StorageOptions } from './storage.js';

export interface FileServerOptions extends StorageOptions {
  /** The folder holding blobs/, tmp/ and meta.db. */
  root: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 9999 (filetracker's); 0 picks a free port. */
  port?: number;
  /** Require `Authorization: Bearer <token>`. */
  token?: string;
  /** Allow serving on a non-loopback address without a token. */
  insecure?: boolean;
  /** Log every request (pino JSON lines on stderr); without it only server errors are logged. */
  logger?: boolean;
}

export interface FileServer {
  readonly url: string;
  readonly port: number;
  readonly app: FastifyInstance;
  readonly storage: FileStorage;
  close(): Promise<void>;
}

/**
 * Starts a file server. Authentication is off by default on loopback; on any other address a token is
 * required unless `insecure` is set, so that a store is never exposed to a network by accident.
 */
export async function startFileServer(options: FileServerOptions): Promise<FileServer> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token || undefined;
  if (!token && !isLoopback(host) && !options.insecure) {
    throw new UsageError(`serving on ${host} (not a loopback address) needs a token (--token or SLUICE_FILES_TOKEN), or --insecure`);
  }
  // Loaded here, not at import: clients and jobs that import files/ never pay for fastify.
  const { default: Fastify } = await import('fastify');
  const storage = new FileStorage(options.root, options);
  // Errors (5xx) are always logged, as JSON lines on stderr; --log adds every request.
  const app = Fastify({ logger: { level: options.logger ? 'info' : 'error', stream: process.stderr }, forceCloseConnections: true });
  try {
    await app.register(filesRoutes, { storage, ...(token ? { token } : {}) });
    await app.listen({ host, port: options.port ?? 9999 });
  } catch (err) {
    await app.close().catch(() => {});
    storage.close();
    throw explainListenError(err, host, options.port ?? 9999);
  }
  const port = (app.server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url,
    port,
    app,
    storage,
    async close() {
      await app.close();
      storage.close();
    },
  };
}

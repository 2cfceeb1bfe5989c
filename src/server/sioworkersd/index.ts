import type { FastifyRequest } from 'fastify';
import type { AccessPolicy, LocalService, Principal } from '../../service/index.js';
import { tokenOf, type Authenticator } from '../auth.js';
import { listen } from '../listen.js';
import { SioworkersdGroups } from './groups.js';
import { queueText, sioWorkers } from './views.js';
import { xmlRpcRoutes } from './xmlrpc.js';

export { GROUP_JOB_TYPE } from './groups.js';

export interface SioworkersdOptions {
  service: LocalService;
  policy: AccessPolicy;
  auth: Authenticator;
  host: string;
  port: number;
  maxBodyBytes: number;
  /** fires when the server stops: blocked sync_run_group calls end */
  stopping: AbortSignal;
}

export interface SioworkersdServer {
  /** http://HOST:PORT/ (what oioioi's SIOWORKERSD_URL names) */
  url: string;
  port: number;
  close(): Promise<void>;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** who called (set before the method runs) */
    sioClient?: Principal;
  }
}

/**
 * sioworkersd's RPC for oioioi (`sluice serve --sioworkersd-port P`, docs/sio2.md): XML-RPC at `/`
 * and `/RPC2` with `run_group`, `sync_run_group`, `get_workers` and `get_queue`, on a port of its
 * own as sioworkersd has (7889). The caller signs in as for the API, with a token: HTTP Basic
 * (`http://NAME:TOKEN@host:7889/`, which Python's xmlrpc.client sends from the URL), a bearer
 * token or `?token=`; with --no-auth (loopback only) no credentials are needed.
 */
export async function startSioworkersd(options: SioworkersdOptions): Promise<SioworkersdServer> {
  const { default: Fastify } = await import('fastify');
  const app = Fastify({ logger: { level: 'error', stream: process.stderr }, bodyLimit: options.maxBodyBytes, forceCloseConnections: true });
  const groups = new SioworkersdGroups(options.service, options.policy);
  const client = (request: FastifyRequest): Principal => request.sioClient!;
  xmlRpcRoutes(
    app,
    ['/', '/RPC2'],
    {
      run_group: async ([env], request) => groups.run(client(request), env),
      sync_run_group: async ([env], request) => groups.runSync(client(request), env, options.stopping),
      get_workers: async () => sioWorkers(options.service),
      get_queue: async () => queueText(options.service),
    },
    async (request) => {
      request.sioClient = await options.auth.principal(request, basicPassword(request) ?? tokenOf(request));
    },
  );
  const { url, port } = await listen(app, options.host, options.port);
  return { url: `${url}/`, port, close: () => app.close() };
}

/** The password of HTTP Basic credentials (the token; the name is not checked: the token says who it is). */
function basicPassword(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!header?.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(colon + 1) || undefined : undefined;
}

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { UnauthorizedError } from '../environ/index.js';
import { filesRoutes, type FileStorage } from '../files/index.js';
import { AccessPolicy, type LocalService } from '../service/index.js';
import { Authenticator, requireAuth, sessionCookie, tokenOf } from './auth.js';
import { jsonBodies } from './body.js';
import { jsonErrors, sendError } from './errors.js';
import { jobRoutes } from './routes/jobs.js';
import { adminRoutes } from './routes/admin.js';
import { workerRoutes } from './routes/worker.js';
import { eventRoutes } from './sse.js';
import { moiRoutes } from './moi.js';
import { homePage } from './home.js';
import { endIdleConnectionsOnClose } from './connections.js';
import { OPENAPI } from './openapi.js';
import type { Metrics } from './metrics.js';
import type { Streams } from './streams.js';

export interface AppOptions {
  service: LocalService;
  metrics: Metrics;
  streams: Streams;
  /** the blobs served under /files (the filetracker protocol) */
  files: FileStorage;
  noAuth: boolean;
  /** where browsers reach the server (https decides the cookie's Secure flag) */
  publicUrl: string;
  maxBodyBytes: number;
  maxBatch: number;
  corsOrigins: string[];
  authFailuresPerMinute: number;
  safeJobs: string[];
  heartbeatMs: number;
  /** fires when the server begins to stop: /readyz says so, long polls end */
  stopping: AbortSignal;
  /** log every request (pino JSON lines on stderr); without it only errors are logged */
  logRequests?: boolean;
}

/**
 * The whole HTTP face of `sluice serve` in one fastify instance (docs/api.md): the API under
 * /api/v1, the event stream, moi's WebSocket, /metrics, the file store's routes under /files,
 * health checks and /openapi.json. Everything but the health checks, the document and the home
 * page needs a signed-in user; what each may do is decided by the access policy, in one place.
 */
export async function buildApp(options: AppOptions): Promise<FastifyInstance> {
  const { default: Fastify } = await import('fastify');
  const { default: websocket } = await import('@fastify/websocket');
  const app = Fastify({
    logger: { level: options.logRequests ? 'info' : 'error', stream: process.stderr },
    bodyLimit: options.maxBodyBytes,
    // Idle keep-alive connections must not hold a stopping server open; streams end by themselves.
    forceCloseConnections: 'idle',
  });
  const endIdle = endIdleConnectionsOnClose(app.server);
  app.addHook('preClose', async () => endIdle());
  const policy = new AccessPolicy(options.safeJobs);
  const auth = new Authenticator({ service: options.service, policy, noAuth: options.noAuth, failuresPerMinute: options.authFailuresPerMinute, onFailure: options.metrics.onAuthFailure });
  jsonErrors(app, options.metrics.onStoreError);
  if (options.corsOrigins.length) cors(app, options.corsOrigins);
  app.addHook('onResponse', async (request, reply) => options.metrics.request(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode));
  await app.register(websocket, { options: { maxPayload: 1 << 20 } });

  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_request, reply) => {
    if (options.stopping.aborted) return sendError(reply, 503, 'unavailable', 'the server is stopping');
    try {
      await options.service.lastSeq();
      return { ready: true };
    } catch (err) {
      return sendError(reply, 503, 'unavailable', `the store does not answer: ${(err as Error).message}`);
    }
  });
  app.get('/openapi.json', async () => OPENAPI);
  app.get('/', (request, reply) => home(request, reply, auth, options));

  await app.register(
    async (api) => {
      jsonBodies(api, options.maxBodyBytes);
      requireAuth(api, auth);
      jobRoutes(api, { maxBatch: options.maxBatch, stopping: options.stopping });
      adminRoutes(api);
      workerRoutes(api, { stopping: options.stopping });
      eventRoutes(api, { streams: options.streams, heartbeatMs: options.heartbeatMs, paths: ['/events'], stopping: options.stopping });
    },
    { prefix: '/api/v1' },
  );

  await app.register(async (scope) => {
    requireAuth(scope, auth);
    // The spelling of the stream's path, beside INTERFACE.md's /api/v1/events.
    eventRoutes(scope, { streams: options.streams, heartbeatMs: options.heartbeatMs, paths: ['/events'], stopping: options.stopping });
    moiRoutes(scope, { streams: options.streams });
    scope.get('/metrics', async (_request, reply) => reply.type('text/plain; version=0.0.4; charset=utf-8').send(await options.metrics.text()));
  });

  await app.register(async (scope) => {
    requireAuth(scope, auth);
    scope.addHook('onRequest', async (request, reply) => {
      // Everyone signed in may read files; a viewer may not change them.
      if (request.method !== 'GET' && request.method !== 'HEAD' && request.sluice.principal.role === 'viewer') return sendError(reply, 403, 'forbidden', 'a viewer reads files and changes none');
    });
    await scope.register(filesRoutes, { prefix: '/files', storage: options.files });
  });
  return app;
}

/**
 * `/`: the dashboard's place (the next issue). `/?token=T` signs the browser in (an HttpOnly,
 * SameSite=Strict session cookie) and redirects to `/`, so the printed URL is the whole setup.
 */
async function home(request: FastifyRequest, reply: FastifyReply, auth: Authenticator, options: AppOptions): Promise<FastifyReply> {
  const fromQuery = (request.query as Record<string, unknown>).token;
  if (typeof fromQuery === 'string' && fromQuery) {
    await auth.principal(request);
    return reply.code(303).header('set-cookie', sessionCookie(fromQuery, options.publicUrl.startsWith('https:'))).header('location', '/').send();
  }
  let who: string | null = null;
  if (options.noAuth || tokenOf(request)) {
    try {
      const p = await auth.principal(request);
      who = `${p.name} (${p.role})`;
    } catch (err) {
      if (!(err instanceof UnauthorizedError)) throw err;
    }
  }
  return reply.type('text/html; charset=utf-8').send(homePage(who));
}

/** CORS for the configured origins only (SLUICE_CORS_ORIGINS); without them no browser on another site may call the API. */
function cors(app: FastifyInstance, origins: string[]): void {
  const any = origins.includes('*');
  app.addHook('onRequest', async (request, reply) => {
    const origin = request.headers.origin;
    if (!origin || (!any && !origins.includes(origin))) return;
    reply.header('access-control-allow-origin', any ? '*' : origin).header('vary', 'Origin');
    if (request.method === 'OPTIONS') {
      return reply
        .header('access-control-allow-methods', 'GET, POST, PUT, PATCH, DELETE')
        .header('access-control-allow-headers', 'authorization, content-type, last-event-id')
        .header('access-control-max-age', '600')
        .code(204)
        .send();
    }
  });
}

import os from 'node:os';
import { isLoopback, UsageError } from '../environ/index.js';
import { FileStorage } from '../files/index.js';
import { AccessPolicy, configuredMailer, startPruning } from '../service/index.js';
import { buildApp } from './app.js';
import { listen } from './listen.js';
import { Authenticator } from './auth.js';
import { startSioworkersd } from './sioworkersd/index.js';
import { adminToken } from './adminToken.js';
import { CallbackSender } from './callbacks.js';
import { Metrics } from './metrics.js';
import { Streams } from './streams.js';
import { Stats } from './stats.js';
import type { Root } from './root.js';

export interface ServeOptions {
  host: string;
  /** 0: any free port */
  port: number;
  /** the embedded worker's concurrency; 0: none (workers run elsewhere) */
  workers: number;
  /** --no-auth: every request acts as this machine's user (loopback only) */
  noAuth: boolean;
  log: (line: string) => void;
  logRequests?: boolean;
  /** --sioworkersd-port: also serve sioworkersd's XML-RPC for oioioi on this port (0: any free port) */
  sioworkersdPort?: number;
}

export interface RunningServer {
  /** http://HOST:PORT */
  url: string;
  /** sioworkersd's XML-RPC (http://HOST:P/), when asked for */
  sioworkersdUrl: string | null;
  port: number;
  /** the admin token printed (null with --no-auth) */
  token: string | null;
  /** what to open in a browser: the URL with the admin token */
  openUrl: string;
  /** Stops: no new requests, streams ended, running units get `graceMs`, then everything is closed. */
  close(graceMs: number): Promise<void>;
}

/**
 * `sluice serve` on a composition root: the HTTP API, streams, moi's WebSocket, /metrics and the
 * file store in one fastify process, the event hub they share, the callback sender, background
 * pruning and (by default) an embedded worker, so that one command is a working service. The
 * root owns each of them; `close` ends them in order (listeners and streams first, units given
 * back, the store last). With `sioworkersdPort`, sioworkersd's XML-RPC for oioioi listens too
 * (sioworkersd/), one more listener the root owns.
 */
export async function serve(root: Root, options: ServeOptions): Promise<RunningServer> {
  if (options.noAuth && !isLoopback(options.host)) {
    throw new UsageError(`--no-auth is for loopback addresses only (127.0.0.1, ::1); ${options.host} reaches other machines: use tokens (sluice users add)`);
  }
  const { config } = root;
  const store = await root.store();
  const streams = new Streams(config.server.maxStreamsPerUser);
  const metrics = new Metrics(store, streams, { leaseMs: config.leaseMs });
  // The dashboard's charts (stats.ts) count from the same events as /metrics.
  const built: { service?: Awaited<ReturnType<Root['service']>> } = {};
  const stats = new Stats(
    {
      snapshot: () => store.queueSnapshot(),
      fairshare: async () => (built.service ? built.service.fairshare() : []),
      counts: (since, before, stepMs) => store.jobCounts(since, before, stepMs),
    },
    options.log,
  );
  const hub = await root.hub((events) => {
    metrics.onEvents(events);
    stats.onEvents(events);
  });
  const service = (built.service = await root.service({ hub }));
  stats.start();
  root.own(() => stats.close());
  const files = new FileStorage(config.files.root);
  root.own(() => files.close());
  const stopping = new AbortController();
  const app = await buildApp({
    service,
    metrics,
    stats,
    streams,
    files,
    noAuth: options.noAuth,
    publicUrl: config.server.publicUrl ?? '',
    maxBodyBytes: config.server.maxBodyBytes,
    maxBatch: config.server.maxBatch,
    corsOrigins: config.server.corsOrigins,
    authFailuresPerMinute: config.server.authFailuresPerMinute,
    safeJobs: config.server.safeJobs,
    heartbeatMs: config.server.heartbeatMs,
    stopping: stopping.signal,
    ...(options.logRequests ? { logRequests: true } : {}),
  });
  const { url, port } = await listen(app, options.host, options.port);
  service.setPublicUrl(`${config.server.publicUrl ?? url}/api/v1/jobs`);
  const token = options.noAuth ? null : await adminToken(service, config.home);
  // Jobs whose environ names no file store use this server's (the embedded worker signs in as the admin).
  root.files.useByDefault(`${loopbackUrl(options.host, port)}/files`, token ?? undefined);

  const callbacks = new CallbackSender(store, service, { attempts: config.server.callbackAttempts, log: options.log, onOutcome: metrics.onCallback });
  callbacks.start();
  root.own(() => callbacks.close());
  const pruning = startPruning(store, (line) => options.log(`serve: ${line}`), config.pruneEveryMs);
  root.own(() => pruning.stop());
  const mailer = configuredMailer(store, { ...config, server: { ...config.server, publicUrl: config.server.publicUrl ?? url } }, (line) => options.log(`serve: ${line}`));
  if (mailer) {
    mailer.start();
    root.own(() => mailer.stop());
  }
  root.own(async () => {
    // Stop accepting, end the streams (SSE clients resume elsewhere with Last-Event-ID), finish the requests in flight.
    stopping.abort();
    streams.closeAll();
    await app.close();
  });
  if (options.workers > 0) {
    await root.worker({ concurrency: options.workers, log: (line) => options.log(line), onCycle: metrics.onCycle, onStoreError: metrics.onStoreError });
  }
  let sioworkersdUrl: string | null = null;
  if (options.sioworkersdPort !== undefined) {
    const policy = new AccessPolicy(config.server.safeJobs);
    const rpc = await startSioworkersd({
      service,
      policy,
      auth: new Authenticator({ service, policy, noAuth: options.noAuth, failuresPerMinute: config.server.authFailuresPerMinute, onFailure: metrics.onAuthFailure }),
      host: options.host,
      port: options.sioworkersdPort,
      maxBodyBytes: config.server.maxBodyBytes,
      stopping: stopping.signal,
    });
    root.own(() => rpc.close());
    sioworkersdUrl = rpc.url;
  }
  const openUrl = `${config.server.publicUrl ?? url}/${token ? `?token=${token}` : ''}`;
  return { url, port, token, openUrl, sioworkersdUrl, close: (graceMs) => root.close({ graceMs }) };
}

/** How this machine reaches the server (a wildcard address is reached on loopback). */
function loopbackUrl(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '[::1]' : host.includes(':') ? `[${host}]` : host;
  return `http://${h}:${port}`;
}

export const DEFAULT_WORKERS = os.availableParallelism();

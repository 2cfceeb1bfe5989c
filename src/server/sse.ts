import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { UsageError } from '../environ/index.js';
import type { JobStatus } from '../store/index.js';
import { toWire, type StreamFilter, type StreamItem } from '../service/index.js';
import { Query } from './query.js';
import type { Streams } from './streams.js';

const STATUSES: JobStatus[] = ['Queued', 'Waiting', 'Running', 'Success', 'Failed', 'Aborted'];
/** A client this far behind (bytes not yet taken by its socket) is cut off: it comes back with Last-Event-ID and replays from the store. */
const MAX_BACKLOG = 8 << 20;
/**
 * A client's writes are at most this often: a quiet stream sends each change at once, a busy one
 * gathers the changes of this window into one write (with a thousand watchers, one system call
 * per client per store commit was most of the server's time; bench/server.mjs).
 */
const FLUSH_MS = 10;
/** How soon a browser's EventSource reconnects after a drop. */
const RETRY_MS = 1000;

/**
 * One frame per item, made and UTF-8 encoded once however many clients send it (items of a hub's
 * events are shared): with a thousand watchers, encoding each frame per client was a large part
 * of the server's time (bench/server.mjs).
 */
const frames = new WeakMap<StreamItem, Buffer>();

/**
 * The SSE frame of an item. Changes and the `sync` that ends the current state carry `id:` (their
 * sequence number): a client that reconnects with Last-Event-ID gets exactly the changes after it.
 * The current state (`get`) and `resync` carry none, so a drop in the middle of them leaves the
 * client's last id where it was and the server sends them whole again.
 */
export function frameOf(item: StreamItem): Buffer {
  let frame = frames.get(item);
  if (frame === undefined) {
    const id = item.verb === 'get' || item.verb === 'resync' ? '' : `id: ${item.seq}\n`;
    frame = Buffer.from(`${id}event: ${item.verb}\ndata: ${JSON.stringify(toWire(item))}\n\n`);
    frames.set(item, frame);
  }
  return frame;
}

const HEARTBEAT = Buffer.from(': heartbeat\n\n');

/**
 * GET /api/v1/events (and /events): the resumable event stream (docs/api.md). The current state
 * first for a new watcher (PARK's header), then every change with its sequence number as the id;
 * `Last-Event-ID` (which wins over `?since=`) resumes after it, losing and repeating nothing;
 * one older than what pruning kept answers `event: resync`, then the current state. Heartbeat
 * comments keep proxies from closing an idle stream.
 */
export function eventRoutes(app: FastifyInstance, options: { streams: Streams; heartbeatMs: number; paths: string[]; stopping: AbortSignal }): void {
  for (const path of options.paths) app.get(path, (request, reply) => follow(request, reply, options));
}

async function follow(request: FastifyRequest, reply: FastifyReply, options: { streams: Streams; heartbeatMs: number; stopping: AbortSignal }): Promise<void> {
  const q = new Query(request.query as Record<string, unknown>);
  const filter: StreamFilter = {};
  const owner = q.text('owner', 100) ?? q.text('user', 100);
  const job = q.text('job', 100);
  const tag = q.text('tag', 200);
  const status = q.oneOf('status', STATUSES);
  const kind = q.oneOf('kind', ['job', 'group', 'any'] as const);
  if (owner !== undefined) filter.owner = owner;
  if (job !== undefined) filter.job = job;
  if (tag !== undefined) filter.tag = tag;
  if (status !== undefined) filter.status = status;
  if (kind !== undefined) filter.type = kind;
  const since = sinceOf(request.headers['last-event-id'], q);
  const resyncOnPrune = q.oneOf('prune', ['resync', 'skip'] as const) === 'resync';
  const stop = new AbortController();
  // Refusals (another user's job, a filter for someone else) are answered before the stream starts.
  const items = await request.sluice.openStream(filter, { ...(since === undefined ? {} : { since }), signal: stop.signal, resyncOnPrune });
  const release = options.streams.add(request.sluice.principal.name, 'sse', () => stop.abort());
  const res = reply.raw;
  reply.hijack();
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no',
  });
  res.write(`retry: ${RETRY_MS}\n\n`);
  // Frames gathered (FLUSH_MS) go out in one system call: corked, one writev of the shared buffers.
  let pending: Buffer[] = [];
  let scheduled = false;
  let flushed = 0;
  const flush = () => {
    scheduled = false;
    if (!pending.length || res.destroyed) return;
    flushed = Date.now();
    res.cork();
    for (const frame of pending) res.write(frame);
    res.uncork();
    pending = [];
    if (res.writableLength > MAX_BACKLOG) stop.abort();
  };
  const send = (frame: Buffer) => {
    pending.push(frame);
    if (scheduled) return;
    scheduled = true;
    const wait = flushed + FLUSH_MS - Date.now();
    if (wait > 0) setTimeout(flush, wait);
    else setImmediate(flush);
  };
  const heartbeat = setInterval(() => send(HEARTBEAT), options.heartbeatMs);
  res.once('close', () => stop.abort());
  try {
    for await (const item of items) send(frameOf(item));
  } catch (err) {
    if (!stop.signal.aborted) request.log.error(err);
  } finally {
    clearInterval(heartbeat);
    release();
    flush();
    // A stopping server closes the connection too, so that it need not wait for the client to (the
    // response lets go of its socket once it has ended).
    const socket = res.socket;
    res.end(() => options.stopping.aborted && socket?.destroy());
  }
}

/** Where a watcher resumes: Last-Event-ID (a reconnecting EventSource) wins over ?since=. */
function sinceOf(header: string | string[] | undefined, q: Query): number | undefined {
  const fromQuery = q.number('since', 0, Number.MAX_SAFE_INTEGER, true);
  if (header === undefined || header === '') return fromQuery;
  const text = Array.isArray(header) ? header[0]! : header;
  if (!/^\d+$/.test(text.trim())) throw new UsageError(`Last-Event-ID must be a sequence number this stream gave, got "${text}"`);
  return Number(text.trim());
}

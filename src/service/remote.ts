import { EXIT, SluiceError, TimeoutError, parseServerUrl } from '../environ/index.js';
import type { JobFilter, JobRecord, NodeInfo, PruneReport, StoreEvent, UnitInfo, UserInfo, WorkerView } from '../store/index.js';
import { TERMINAL } from '../store/index.js';
import type {
  FairshareRow, NewUser, OwnerSummary, Principal, Service, StreamFilter, StreamItem, StreamOptions, SubmitRequest, UserPatch, WaitOptions,
} from './types.js';
import { fromWire } from './wire.js';
import { jobBody } from './jobBody.js';
import { errorOf } from './status.js';
import { readSse } from './sse.js';

export interface ConnectOptions {
  /** the bearer token (`sluice users add` printed it; SLUICE_TOKEN) */
  token?: string | undefined;
  /** a stream that lost its connection tries again after this long, doubling up to 5 s */
  retryMs?: number;
}

/** Longest a single long poll of `wait` lasts; a longer wait asks again (proxies cut idle requests). */
const POLL_S = 50;
/** Nodes asked for per page while listing. */
const PAGE = 1000;

type Query = Record<string, string | number | boolean | undefined>;

/** A service on a Sluice server (`sluice serve`), over its HTTP API (PARK's remote service). */
export function connect(url: string, options: ConnectOptions = {}): RemoteService {
  return new RemoteService(parseServerUrl(url, 'the server URL'), options);
}

/**
 * The `Service` interface over HTTP: JSON calls under /api/v1, `wait` as a long poll, `stream` as
 * the resumable event stream (SSE) that reconnects by itself with Last-Event-ID, so that a drop
 * loses nothing and repeats nothing. Errors come back as the same SluiceError classes the local
 * service throws.
 */
export class RemoteService implements Service {
  private readonly token: string | undefined;
  private readonly retryMs: number;

  constructor(
    readonly url: string,
    options: ConnectOptions = {},
  ) {
    this.token = options.token || undefined;
    this.retryMs = options.retryMs ?? 250;
  }

  async submit(requests: SubmitRequest[]): Promise<string[]> {
    if (requests.length === 1) return [(await this.call<{ id: string }>('POST', '/jobs', { body: jobBody(requests[0]!) })).id];
    return (await this.call<{ ids: string[] }>('POST', '/jobs', { body: { jobs: requests.map(jobBody) } })).ids;
  }

  async get(id: string): Promise<JobRecord | NodeInfo> {
    return fromWire(await this.call('GET', `/jobs/${enc(id)}`));
  }

  async list(filter: JobFilter = {}): Promise<NodeInfo[]> {
    const out: NodeInfo[] = [];
    let cursor: string | null = null;
    do {
      const limit = Math.min(PAGE, filter.limit === undefined ? PAGE : filter.limit - out.length);
      const page: { jobs: unknown[]; next: string | null } = await this.call('GET', '/jobs', { query: { ...listQuery(filter), limit, ...(cursor ? { cursor } : {}) } });
      out.push(...fromWire<NodeInfo[]>(page.jobs));
      cursor = page.next;
    } while (cursor && (filter.limit === undefined || out.length < filter.limit));
    return out;
  }

  async group(path: string): Promise<NodeInfo> {
    return fromWire(await this.call('GET', '/groups', { query: { path } }));
  }

  async users(): Promise<OwnerSummary[]> {
    return (await this.call<{ owners: OwnerSummary[] }>('GET', '/owners')).owners;
  }

  async wait(id: string, options: WaitOptions = {}): Promise<JobRecord> {
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    if (options.onChange) return this.follow(id, deadline, options);
    for (;;) {
      const left = deadline - Date.now();
      const seconds = Math.max(0, Math.min(POLL_S, left / 1000));
      try {
        return fromWire(await this.call('GET', `/jobs/${enc(id)}/wait`, { query: { timeout: seconds.toFixed(3) }, ...(options.signal ? { signal: options.signal } : {}) }));
      } catch (err) {
        if (!(err instanceof TimeoutError)) throw err;
        if (deadline - Date.now() <= 0) throw await this.timedOut(id, options.timeoutMs!);
      }
    }
  }

  async abort(id: string): Promise<JobRecord> {
    return fromWire(await this.call('POST', `/jobs/${enc(id)}/abort`));
  }

  async control(id: string, message: unknown): Promise<{ seq: number }> {
    return this.call('POST', `/jobs/${enc(id)}/control`, { body: message, raw: true });
  }

  async *stream(filter: StreamFilter, options: StreamOptions = {}): AsyncIterable<StreamItem> {
    let last: string | undefined = options.since === undefined ? undefined : String(options.since);
    let failures = 0;
    const query: Query = {
      ...(filter.owner ? { owner: filter.owner } : {}),
      ...(filter.job ? { job: filter.job } : {}),
      ...(filter.tag ? { tag: filter.tag } : {}),
      ...(filter.status ? { status: filter.status } : {}),
      ...(filter.type ? { kind: filter.type } : {}),
      ...(options.resyncOnPrune ? { prune: 'resync' } : {}),
    };
    while (!options.signal?.aborted) {
      // The current state (after a resync too) is handed on only once it is whole, at its `sync`: a
      // drop in the middle of it is followed by a new one, never by half of one twice.
      let header: StreamItem[] = [];
      try {
        const response = await this.open('/events', query, last, options.signal);
        failures = 0;
        for await (const event of readSse(response.body as unknown as AsyncIterable<Uint8Array>)) {
          const item = fromWire<StreamItem>(JSON.parse(event.data));
          if (event.id !== undefined) last = event.id;
          if (item.verb === 'get' || item.verb === 'resync') {
            header.push(item);
            continue;
          }
          if (item.verb === 'sync') {
            yield* header;
            header = [];
          }
          yield item;
        }
      } catch (err) {
        if (options.signal?.aborted) return;
        // Refusals (401, 403, 404, a bad filter) will not change by asking again.
        if (err instanceof SluiceError && err.exitCode !== EXIT.INTERNAL) throw err;
      }
      if (options.signal?.aborted) return;
      failures++;
      await pause(Math.min(5000, this.retryMs * 2 ** Math.min(failures - 1, 5)), options.signal);
    }
  }

  async units(id: string): Promise<UnitInfo[]> {
    return fromWire((await this.call<{ units: unknown[] }>('GET', `/jobs/${enc(id)}/units`)).units);
  }

  async events(id: string): Promise<StoreEvent[]> {
    return fromWire((await this.call<{ events: unknown[] }>('GET', `/jobs/${enc(id)}/events`)).events);
  }

  async waitReasons(infos: NodeInfo[]): Promise<Map<string, string>> {
    const queued = infos.filter((i) => i.type === 'job' && i.status === 'Queued').map((i) => i.id);
    if (!queued.length) return new Map();
    const { waiting } = await this.call<{ waiting: Record<string, string> }>('POST', '/waiting', { body: { ids: queued } });
    return new Map(Object.entries(waiting));
  }

  async fairshare(pool?: string): Promise<FairshareRow[]> {
    return (await this.call<{ owners: FairshareRow[] }>('GET', '/fairshare', { query: { pool } })).owners;
  }

  async setShare(owner: string, share: number): Promise<void> {
    await this.call('PUT', `/fairshare/${enc(owner)}`, { body: { share } });
  }

  async prune(options: { olderThanMs?: number; dryRun?: boolean } = {}): Promise<PruneReport> {
    return this.call('POST', '/prune', { body: { ...(options.olderThanMs === undefined ? {} : { older_than_ms: options.olderThanMs }), dry_run: Boolean(options.dryRun) } });
  }

  async workers(): Promise<WorkerView[]> {
    return fromWire((await this.call<{ workers: unknown[] }>('GET', '/workers')).workers);
  }

  async whoami(): Promise<Principal> {
    return this.call('GET', '/me');
  }

  async addUser(name: string, options: UserPatch = {}): Promise<NewUser> {
    const { token, ...user } = await this.call<UserInfo & { token: string }>('POST', '/users', { body: { name, ...options } });
    return { user: fromWire(user), token };
  }

  async listUsers(): Promise<UserInfo[]> {
    return fromWire((await this.call<{ users: unknown[] }>('GET', '/users')).users);
  }

  async setUser(name: string, patch: UserPatch): Promise<UserInfo> {
    return fromWire(await this.call('PATCH', `/users/${enc(name)}`, { body: patch }));
  }

  async removeUser(name: string): Promise<void> {
    await this.call('DELETE', `/users/${enc(name)}`);
  }

  async newToken(name: string): Promise<string> {
    return (await this.call<{ token: string }>('POST', `/users/${enc(name)}/token`)).token;
  }

  async close(): Promise<void> {}

  /** `wait` with progress: follows the job's own stream until it ends. */
  private async follow(id: string, deadline: number, options: WaitOptions): Promise<JobRecord> {
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = Number.isFinite(deadline) ? setTimeout(() => stop.abort(), Math.max(0, deadline - Date.now())) : undefined;
    try {
      for await (const item of this.stream({ job: id }, { signal: stop.signal })) {
        if (!('info' in item)) continue;
        options.onChange!(item.info);
        if (item.info.status && TERMINAL.has(item.info.status)) return (await this.get(id)) as JobRecord;
      }
      options.signal?.throwIfAborted();
      throw await this.timedOut(id, options.timeoutMs!);
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      stop.abort();
    }
  }

  private async timedOut(id: string, timeoutMs: number): Promise<TimeoutError> {
    const record = await this.get(id);
    return new TimeoutError(`job ${id} has not ended after ${timeoutMs} ms (status ${record.status})`);
  }

  /** One API call: JSON in and out; an error answer becomes its SluiceError. */
  /** A POST of JSON under /api/v1 (the worker protocol, service/workerClient.ts, speaks through it). */
  post<T>(path: string, body: unknown, signal?: AbortSignal): Promise<T> {
    return this.call<T>('POST', path, { body, ...(signal ? { signal } : {}) });
  }

  private async call<T>(method: string, path: string, options: { query?: Query; body?: unknown; raw?: boolean; signal?: AbortSignal } = {}): Promise<T> {
    const response = await this.fetch(method, path, options.query, {
      ...(options.body === undefined && !options.raw ? {} : { body: JSON.stringify(options.body ?? null), headers: { 'content-type': 'application/json' } }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const text = await response.text();
    if (!response.ok) throw this.failure(response.status, text);
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Opens the event stream, resuming after `last`. */
  private async open(path: string, query: Query, last: string | undefined, signal?: AbortSignal): Promise<Response> {
    const response = await this.fetch('GET', path, query, {
      headers: { accept: 'text/event-stream', ...(last === undefined ? {} : { 'last-event-id': last }) },
      ...(signal ? { signal } : {}),
    });
    if (!response.ok) throw this.failure(response.status, await response.text());
    return response;
  }

  private async fetch(method: string, path: string, query: Query | undefined, init: { body?: string; headers?: Record<string, string>; signal?: AbortSignal }): Promise<Response> {
    const url = new URL(`${this.url}/api/v1${path}`);
    for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    try {
      return await fetch(url, {
        method,
        ...init,
        headers: { ...(init.headers ?? {}), ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
      });
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new SluiceError(`cannot reach the Sluice server at ${this.url}: ${cause?.code ?? cause?.message ?? (err as Error).message}`, EXIT.INTERNAL);
    }
  }

  private failure(status: number, text: string): SluiceError {
    let message = `the server answered ${status}`;
    try {
      const body = JSON.parse(text) as { message?: unknown };
      if (typeof body.message === 'string') message = body.message;
    } catch {
      if (text) message = `${message}: ${text.slice(0, 200)}`;
    }
    return errorOf(status, message);
  }
}

/** A listing's filter as the query of GET /api/v1/jobs. */
function listQuery(filter: JobFilter): Query {
  return {
    ...(filter.owner ? { owner: filter.owner } : {}),
    ...(filter.status ? { status: filter.status } : {}),
    ...(filter.tag ? { tag: filter.tag } : {}),
    ...(filter.type ? { kind: filter.type } : {}),
    ...(filter.parent ? { group: filter.parent } : {}),
    ...(filter.under ? { group: filter.under, recursive: true } : {}),
    ...(filter.jobType ? { type: filter.jobType } : {}),
    ...(filter.text ? { q: filter.text } : {}),
    ...(filter.createdAfter === undefined ? {} : { created_after: new Date(filter.createdAfter).toISOString() }),
    ...(filter.createdBefore === undefined ? {} : { created_before: new Date(filter.createdBefore).toISOString() }),
  };
}

const enc = encodeURIComponent;

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

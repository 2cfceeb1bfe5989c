import { describe, expect, it } from 'vitest';
import { readSse, type SseEvent } from '../src/service/index.js';
import { sluice, until } from './helpers/cli.js';
import { BACKENDS } from './helpers/backends.js';
import { api, type Served } from './helpers/server.js';
import { testScope } from './helpers/scope.js';

/** Jobs the reconnect test runs (docs/DEVELOPING.md): 1,000 by default; SLUICE_TEST_SSE_JOBS for a longer run. */
const JOBS = Number(process.env.SLUICE_TEST_SSE_JOBS ?? 1000);

/** Opens the event stream and hands each event on until `stop` fires or the stream ends. */
async function session(server: Served, query: string, lastId: string | undefined, onEvent: (e: SseEvent) => void, stop: AbortController): Promise<void> {
  const response = await fetch(`${server.url}/api/v1/events${query}`, {
    headers: { authorization: `Bearer ${server.token}`, ...(lastId === undefined ? {} : { 'last-event-id': lastId }) },
    signal: stop.signal,
  });
  expect(response.status).toBe(200);
  try {
    for await (const event of readSse(response.body as unknown as AsyncIterable<Uint8Array>)) {
      onEvent(event);
      if (stop.signal.aborted) return;
    }
  } catch (err) {
    if (!stop.signal.aborted) throw err;
  }
}

/** The first `n` events of a stream, and the raw text around them. */
async function take(server: Served, query: string, n: number, headers: Record<string, string> = {}): Promise<{ events: SseEvent[]; raw: string }> {
  const stop = new AbortController();
  const response = await fetch(`${server.url}/api/v1/events${query}`, { headers: { authorization: `Bearer ${server.token}`, ...headers }, signal: stop.signal });
  const events: SseEvent[] = [];
  let raw = '';
  const body = response.body as unknown as AsyncIterable<Uint8Array>;
  const tee = (async function* () {
    for await (const chunk of body) {
      raw += Buffer.from(chunk).toString();
      yield chunk;
    }
  })();
  try {
    for await (const e of readSse(tee)) {
      events.push(e);
      if (events.length === n) break;
    }
  } finally {
    stop.abort();
  }
  return { events, raw };
}

describe.each(BACKENDS)('the resumable event stream on $name', (backend) => {
  const t = testScope(backend);

  it('a new watcher gets the current state, then a sync with its id, then every change with its sequence number; heartbeats between', async () => {
    const h = t.home({ SLUICE_STREAM_HEARTBEAT: '200ms' });
    const server = await t.serve(h.env, ['--no-workers']);
    const first = await api(server.url, server.token, 'POST', '/api/v1/jobs', { environ: { job_type: 'ping' }, tags: ['old'] });
    const watching = take(server, '?tag=old', 3);
    await until(async () => ((await api(server.url, server.token, 'GET', '/metrics')).body.includes('sluice_stream_clients{kind="sse"} 1') ? true : undefined), 10_000, 'the watcher');
    await api(server.url, server.token, 'POST', `/api/v1/jobs/${first.body.id}/abort`);
    const { events, raw } = await watching;
    expect(events.map((e) => [e.event, e.id === undefined ? null : 'id'])).toEqual([['get', null], ['sync', 'id'], ['update', 'id']]);
    expect(JSON.parse(events[0]!.data)).toMatchObject({ verb: 'get', id: first.body.id, info: { status: 'Queued', date_created: expect.stringMatching(/Z$/) } });
    const sync = JSON.parse(events[1]!.data);
    const change = JSON.parse(events[2]!.data);
    expect(events[1]!.id).toBe(String(sync.seq));
    expect(change).toMatchObject({ verb: 'update', id: first.body.id, info: { status: 'Aborted' } });
    expect(Number(events[2]!.id)).toBe(change.seq);
    expect(change.seq).toBeGreaterThan(sync.seq);
    expect(raw).toMatch(/^retry: 1000\n\n/);
    // An idle stream says it is alive.
    const idle = await fetch(`${server.url}/api/v1/events?job=${first.body.id}&since=${change.seq}`, { headers: { authorization: `Bearer ${server.token}` } });
    const reader = idle.body!.getReader();
    let text = '';
    while (!text.includes(': heartbeat')) text += Buffer.from((await reader.read()).value!).toString();
    await reader.cancel();
  });

  it('Last-Event-ID resumes exactly after it (and wins over ?since=); the /events alias serves the same', async () => {
    const h = t.home();
    const server = await t.serve(h.env, ['--no-workers']);
    const { body } = await api(server.url, server.token, 'POST', '/api/v1/jobs', { jobs: Array.from({ length: 5 }, () => ({ environ: { job_type: 'ping' } })) });
    // The owner's root group, then the five jobs.
    const all = await take(server, '?since=0', 6);
    const seqs = all.events.map((e) => Number(e.id));
    expect(all.events.map((e) => [e.event, JSON.parse(e.data).info.type])).toEqual([['add', 'group'], ...Array.from({ length: 5 }, () => ['add', 'job'])]);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    const resumed = await take(server, '?since=0', 3, { 'last-event-id': String(seqs[2]) });
    expect(resumed.events.map((e) => Number(e.id))).toEqual(seqs.slice(3, 6));
    const alias = await fetch(`${server.url}/events?since=${seqs[4]}`, { headers: { authorization: `Bearer ${server.token}` } });
    const first = (await readSse(alias.body as unknown as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]().next()).value as SseEvent;
    expect(Number(first.id)).toBe(seqs[5]);
    await alias.body?.cancel().catch(() => {});
    expect(body.ids).toHaveLength(5);
    expect(await api(server.url, server.token, 'GET', '/api/v1/events', undefined, { 'last-event-id': 'yesterday' })).toMatchObject({ status: 400 });
  });

  it('a sequence number older than what pruning kept answers resync, then the current state', async () => {
    const h = t.home();
    const server = await t.serve(h.env, ['--workers', '1']);
    const { body } = await api(server.url, server.token, 'POST', '/api/v1/jobs', { environ: { job_type: 'ping' } });
    await api(server.url, server.token, 'GET', `/api/v1/jobs/${body.id}/wait?timeout=30`);
    const kept = await api(server.url, server.token, 'POST', '/api/v1/jobs', { environ: { job_type: 'ping' }, run_after: new Date(Date.now() + 3_600_000).toISOString() });
    expect((await sluice(['prune', '--older-than', '0'], h.env)).code).toBe(0);
    const { events } = await take(server, '', 3, { 'last-event-id': '1' });
    expect(events.map((e) => e.event)).toEqual(['resync', 'get', 'sync']);
    expect(events[0]!.id).toBeUndefined();
    expect(JSON.parse(events[0]!.data)).toEqual({ verb: 'resync', seq: expect.any(Number) });
    expect(JSON.parse(events[1]!.data).id).toBe(kept.body.id);
  });

  it(`drops at random points while ${JOBS} jobs run lose and repeat nothing: the watcher's view is the store's`, async () => {
    const h = t.home();
    const server = await t.serve(h.env, ['--workers', '4']);
    const store = await t.store(h);
    const view = new Map<string, { status: string | null; result: unknown }>();
    const seen: number[] = [];
    let header: Array<{ id: string; info: { status: string | null; result: unknown } }> = [];
    let lastId: string | undefined;
    let syncSeq = -1;
    let sessions = 0;
    let submitted = 0;
    const submitting = (async () => {
      while (submitted < JOBS) {
        const n = Math.min(50, JOBS - submitted);
        const r = await api(server.url, server.token, 'POST', '/api/v1/jobs', { jobs: Array.from({ length: n }, (_, i) => ({ environ: { job_type: i % 3 ? 'ping' : 'js', cmd: 'return 1', ping: i } })) });
        expect(r.status).toBe(201);
        submitted += n;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    })();
    const allEnded = async () => {
      if (submitted < JOBS) return false;
      const stats = await store.jobStats();
      return (stats.byStatus.Success ?? 0) === JOBS;
    };
    let caughtUp = false;
    while (!caughtUp) {
      sessions++;
      const stop = new AbortController();
      // A drop after a random number of events (often in the middle of a batch, sometimes in the header),
      // or after a second with none (the jobs are done).
      let left = 1 + Math.floor(Math.random() * 400);
      let idle = setTimeout(() => stop.abort(), 1000);
      await session(server, '', lastId, (e) => {
        clearTimeout(idle);
        idle = setTimeout(() => stop.abort(), 1000);
        const item = JSON.parse(e.data);
        if (e.event === 'get') header.push(item);
        else if (e.event === 'sync') {
          for (const g of header) view.set(g.id, { status: g.info.status, result: g.info.result });
          header = [];
          syncSeq = item.seq;
        } else if (e.event === 'add' || e.event === 'update') {
          if (seen.length) expect(item.seq).toBeGreaterThan(seen[seen.length - 1]!);
          seen.push(item.seq);
          view.set(item.id, { status: item.info.status, result: item.info.result });
        } else {
          throw new Error(`unexpected event ${e.event}`);
        }
        if (e.id !== undefined) lastId = e.id;
        if (--left <= 0) stop.abort();
      }, stop).catch((err) => {
        if (!stop.signal.aborted) throw err;
      });
      clearTimeout(idle);
      if (await allEnded()) {
        const last = await store.lastSeq();
        caughtUp = Number(lastId) >= last;
      }
      if (sessions > 5000) throw new Error('the watcher never caught up');
    }
    await submitting;
    expect(sessions).toBeGreaterThan(3);
    // No change lost or doubled: exactly the store's events after the first sync, in order.
    const events: number[] = [];
    for (let after = syncSeq; ; ) {
      const batch = await store.eventsAfter(after, 1000);
      if (!batch.length) break;
      events.push(...batch.map((e) => e.seq));
      after = batch[batch.length - 1]!.seq;
    }
    expect(seen).toEqual(events);
    // And the view is the store's.
    const jobs = await store.list({ type: 'any' });
    expect(new Map([...view].filter(([id]) => jobs.some((j) => j.id === id)))).toEqual(new Map(jobs.map((j) => [j.id, { status: j.status, result: j.result }])));
    expect([...view.values()].filter((v) => v.status === 'Success')).toHaveLength(JOBS);
  }, 300_000);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from './helpers/cli.js';
import { BACKENDS } from './helpers/backends.js';
import { api, startServe, type Served } from './helpers/server.js';
import { OPENAPI } from '../src/server/openapi.js';

/** The REST API of a real `sluice serve` (docs/api.md), on each store, through plain HTTP. */
describe.each(BACKENDS)('the HTTP API on $name', (backend) => {
  let server: Served;
  let home: ReturnType<typeof backend.fresh>;
  const call = (method: string, path: string, body?: unknown, headers?: Record<string, string>) => api(server.url, server.token, method, path, body, headers);
  const ping = (extra: Record<string, unknown> = {}) => ({ environ: { job_type: 'ping', ping: 1 }, ...extra });
  beforeAll(async () => {
    home = backend.fresh();
    server = await startServe(home.env, ['--workers', '2']);
  });
  afterAll(async () => {
    await server?.stop();
    home?.cleanup();
  });

  it('prints the URL with an admin token; health, readiness and the OpenAPI document need none', async () => {
    expect(server.line).toMatch(/^Sluice is serving at http:\/\/127\.0\.0\.1:\d+\/\?token=sluice_[\w-]{43}$/);
    expect(await api(server.url, null, 'GET', '/healthz')).toMatchObject({ status: 200, body: { ok: true } });
    expect(await api(server.url, null, 'GET', '/readyz')).toMatchObject({ status: 200, body: { ready: true } });
    const doc = await api(server.url, null, 'GET', '/openapi.json');
    expect(doc.body.openapi).toBe('3.1.0');
    expect(Object.keys(doc.body.paths)).toEqual(Object.keys(OPENAPI.paths));
    expect(await api(server.url, null, 'GET', '/api/v1/jobs')).toMatchObject({ status: 401, body: { error: 'unauthorized' } });
  });

  it('submits one job, many at once, and a map job; gets the record; waits for it', async () => {
    const one = await call('POST', '/api/v1/jobs', ping({ name: 'one', tags: ['api'] }));
    expect(one).toMatchObject({ status: 201, body: { id: expect.any(String) } });
    const bulk = await call('POST', '/api/v1/jobs', { jobs: [ping(), ping({ priority: 2 }), ping()] });
    expect(bulk.status).toBe(201);
    expect(bulk.body.ids).toHaveLength(3);
    const map = await call('POST', '/api/v1/jobs', { environ: { job_type: 'js', cmd: 'return environ.input * 2' }, inputs: [1, 2, 3] });
    const done = await call('GET', `/api/v1/jobs/${map.body.id}/wait?timeout=60`);
    expect(done).toMatchObject({ status: 200, body: { status: 'Success', result: [2, 4, 6], progress: { done: 3, total: 3 } } });
    expect(done.body.date_end).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const record = await call('GET', `/api/v1/jobs/${one.body.id}`);
    expect(record.body).toMatchObject({ id: one.body.id, name: 'one', owner: 'admin', tags: ['api'], environ: { job_type: 'ping', ping: 1 }, url: `${server.url}/api/v1/jobs` });
    const units = await call('GET', `/api/v1/jobs/${map.body.id}/units`);
    expect(units.body.units.map((u: { idx: number; state: string; result: unknown }) => [u.idx, u.state, u.result])).toEqual([[0, 'done', 2], [1, 'done', 4], [2, 'done', 6]]);
    const events = await call('GET', `/api/v1/jobs/${map.body.id}/events`);
    expect(events.body.events[0]).toMatchObject({ verb: 'add', id: map.body.id, info: { status: 'Queued' } });
    expect(events.body.events.at(-1)).toMatchObject({ verb: 'update', info: { status: 'Success' } });
  });

  it('a long poll answers 408 when the job has not ended in time; a job that ended is answered at once', async () => {
    const { body } = await call('POST', '/api/v1/jobs', { environ: { job_type: 'system', cmd: 'sleep 30' } });
    const early = await call('GET', `/api/v1/jobs/${body.id}/wait?timeout=0.3`);
    expect(early).toMatchObject({ status: 408, body: { error: 'timeout', message: expect.stringMatching(/has not ended after 300 ms/) } });
    const aborted = await call('POST', `/api/v1/jobs/${body.id}/abort`);
    expect(aborted).toMatchObject({ status: 200, body: { status: 'Aborted' } });
    // Aborting again changes nothing (a retried abort must not fail); a control message to it is 409.
    expect(await call('POST', `/api/v1/jobs/${body.id}/abort`)).toMatchObject({ status: 200, body: { status: 'Aborted', date_end: aborted.body.date_end } });
    expect(await call('POST', `/api/v1/jobs/${body.id}/control`, { stop: true })).toMatchObject({ status: 409, body: { error: 'conflict' } });
    expect(await call('GET', `/api/v1/jobs/${body.id}/wait?timeout=5`)).toMatchObject({ status: 200, body: { status: 'Aborted' } });
  });

  it('a control message reaches a running js job', async () => {
    const { body } = await call('POST', '/api/v1/jobs', { environ: { job_type: 'js', cmd: 'for await (const m of ctx.messages()) return m' } });
    await until(async () => ((await call('GET', `/api/v1/jobs/${body.id}`)).body.status === 'Running' ? true : undefined), 30_000, 'the job to run');
    expect(await call('POST', `/api/v1/jobs/${body.id}/control`, { hello: 'there' })).toMatchObject({ status: 200, body: { seq: 1 } });
    expect((await call('GET', `/api/v1/jobs/${body.id}/wait?timeout=30`)).body).toMatchObject({ status: 'Success', result: { hello: 'there' } });
  });

  it('lists with filters (owner, status, tag, group, type, text, created before/after) in pages that neither repeat nor skip', async () => {
    const stamp = `t${Date.now()}`;
    const before = new Date().toISOString();
    const made = await call('POST', '/api/v1/jobs', {
      jobs: [
        ping({ tags: [stamp], group: 'admin/listing', name: `alpha ${stamp}` }),
        { environ: { job_type: 'js', cmd: `return "${stamp}-needle"` }, tags: [stamp], group: 'admin/listing/deeper' },
        ...Array.from({ length: 5 }, (_, i) => ping({ tags: [stamp], name: `page ${i}` })),
      ],
    });
    const ids: string[] = made.body.ids;
    const list = async (query: string) => (await call('GET', `/api/v1/jobs?${query}`)).body;
    expect((await list(`tag=${stamp}`)).jobs.map((j: { id: string }) => j.id)).toEqual(ids);
    expect((await list(`tag=${stamp}&type=js`)).jobs.map((j: { id: string }) => j.id)).toEqual([ids[1]]);
    expect((await list(`q=${stamp}-NEEDLE`)).jobs.map((j: { id: string }) => j.id)).toEqual([ids[1]]);
    expect((await list(`q=alpha%20${stamp}`)).jobs.map((j: { id: string }) => j.id)).toEqual([ids[0]]);
    expect((await list(`group=admin/listing`)).jobs.map((j: { type: string; name: string }) => [j.type, j.name])).toEqual([['job', `alpha ${stamp}`], ['group', 'deeper']]);
    expect((await list(`group=admin/listing&recursive=1&kind=job`)).jobs.map((j: { id: string }) => j.id)).toEqual([ids[0], ids[1]]);
    expect((await list(`tag=${stamp}&created_after=${encodeURIComponent(before)}`)).jobs).toHaveLength(7);
    expect((await list(`tag=${stamp}&created_before=${encodeURIComponent(before)}`)).jobs).toHaveLength(0);
    expect((await list(`tag=${stamp}&owner=admin&status=Queued`)).jobs.every((j: { status: string }) => j.status === 'Queued')).toBe(true);
    // Pages of 3, while more jobs come meanwhile: every job once, in order.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { jobs: Array<{ id: string }>; next: string | null } = await list(`tag=${stamp}&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.jobs.map((j) => j.id));
      if (seen.length === 3) await call('POST', '/api/v1/jobs', ping({ tags: [stamp] }));
      cursor = page.next;
    } while (cursor);
    expect(seen.slice(0, 7)).toEqual(ids);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toHaveLength(8);
    expect(await call('GET', '/api/v1/jobs?cursor=nonsense')).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^cursor:/) } });
    expect(await call('GET', '/api/v1/jobs?status=Sleeping')).toMatchObject({ status: 400, body: { message: expect.stringMatching(/status must be one of/) } });
    expect(await call('GET', '/api/v1/jobs?limit=5000')).toMatchObject({ status: 400 });
    expect(await call('GET', '/api/v1/jobs?group=nobody/here')).toMatchObject({ status: 404 });
    expect(await call('GET', `/api/v1/groups?path=admin/listing`)).toMatchObject({ status: 200, body: { type: 'group', name: 'listing' } });
  });

  it('errors are JSON {error, message} with the right status', async () => {
    expect(await call('GET', '/api/v1/jobs/no-such-id')).toEqual({ status: 404, body: { error: 'not_found', message: 'no job or group with id no-such-id' }, headers: expect.anything() });
    expect(await call('POST', '/api/v1/jobs', { environ: { job_type: 'no-such-type' } })).toMatchObject({ status: 400, body: { error: 'bad_request', message: expect.stringMatching(/unknown job type "no-such-type"/) } });
    expect(await call('POST', '/api/v1/jobs', { environ: { job_type: 'ping' }, retries: 'three' })).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^retries: /) } });
    expect(await call('POST', '/api/v1/jobs', { environ: { job_type: 'ping' }, colour: 'red' })).toMatchObject({ status: 400, body: { message: 'unknown field "colour"' } });
    expect(await call('POST', '/api/v1/jobs', { jobs: [ping(), { environ: 7 }] })).toMatchObject({ status: 400, body: { message: expect.stringMatching(/^jobs\[1\]\.environ: /) } });
    expect(await call('GET', '/api/v1/nothing')).toMatchObject({ status: 404, body: { error: 'not_found', message: 'no such endpoint: GET /api/v1/nothing' } });
  });

  it('owners, workers, the fair-share table, why a job waits, and pruning', async () => {
    expect((await call('GET', '/api/v1/owners')).body.owners).toContainEqual({ owner: 'admin', group: expect.any(String), jobs: expect.any(Number) });
    const workers = (await call('GET', '/api/v1/workers')).body.workers;
    expect(workers).toHaveLength(1);
    expect(workers[0]).toMatchObject({ concurrency: 2, pools: ['default'], running: expect.any(Number), ram_used_mb: expect.any(Number), heartbeat_at: expect.stringMatching(/Z$/) });
    const { body } = await call('POST', '/api/v1/jobs', ping({ pool: 'elsewhere' }));
    const waiting = await call('POST', '/api/v1/waiting', { ids: [body.id, 'no-such-id'] });
    expect(waiting.body.waiting).toEqual({ [body.id]: 'no live worker serves pool elsewhere (start one with: sluice worker --pool elsewhere)' });
    expect((await call('GET', `/api/v1/jobs/${body.id}`)).body.waiting).toMatch(/no live worker serves pool elsewhere/);
    expect(await call('PUT', '/api/v1/fairshare/admin', { share: 3 })).toMatchObject({ status: 200 });
    expect((await call('GET', '/api/v1/fairshare')).body.owners).toContainEqual(expect.objectContaining({ owner: 'admin', share: 3 }));
    expect(await call('PUT', '/api/v1/fairshare/admin', { share: -1 })).toMatchObject({ status: 400 });
    expect((await call('POST', '/api/v1/prune', { dry_run: true })).body).toMatchObject({ dryRun: true, jobs: 0 });
  });

  it('/metrics speaks Prometheus: jobs by status and type, units, histograms in seconds, workers, streams; no ids as labels', async () => {
    const { body } = await call('POST', '/api/v1/jobs', ping());
    await call('GET', `/api/v1/jobs/${body.id}/wait?timeout=30`);
    const text = await until(async () => {
      const t = (await call('GET', '/metrics')).body as string;
      return /sluice_jobs_finished_total\{status="Success",job_type="ping"\} \d+/.test(t) ? t : undefined;
    }, 20_000, 'the finished count');
    for (const name of ['sluice_jobs_submitted_total', 'sluice_queue_wait_seconds_bucket', 'sluice_run_seconds_sum', 'sluice_claim_cycle_seconds_count', 'sluice_workers_alive 1', 'sluice_stream_clients{kind="sse"}', 'sluice_store_errors_total', 'sluice_process_resident_memory_bytes', 'sluice_units_queued{pool="elsewhere",class="normal"}']) {
      expect(text).toContain(name);
    }
    expect(text).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-7/);
    expect(await api(server.url, null, 'GET', '/metrics')).toMatchObject({ status: 401 });
  });

  it('the file store is served under /files with the same tokens', async () => {
    const put = await fetch(`${server.url}/files/files/notes/a.txt`, { method: 'PUT', body: 'hello', headers: { authorization: `Bearer ${server.token}` } });
    expect(put.status).toBe(200);
    const got = await fetch(`${server.url}/files/files/notes/a.txt`, { headers: { authorization: `Bearer ${server.token}` } });
    expect(await got.text()).toBe('hello');
    expect((await fetch(`${server.url}/files/files/notes/a.txt`)).status).toBe(401);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startWorker, until } from './helpers/cli.js';
import { BACKENDS, type Backend } from './helpers/backends.js';
import { api, startServe, type Served } from './helpers/server.js';
import { launchChromium, screenshot, signedIn } from './helpers/browser.js';

/**
 * What the server gives the dashboard (docs/dashboard.md, "The API it uses"), through plain HTTP
 * against a real `sluice serve` on each store: newest-first pages and the listing's sequence
 * number, the charts' counts (kept across a restart, each owner's usage to whom may see it), why a
 * queue is next, lost workers (and the Workers view marking one, in the browser), the page's files.
 */
describe.each(BACKENDS)("the dashboard's API on $name", (backend) => {
  let server: Served;
  let home: ReturnType<Backend['fresh']>;
  let browser: Browser | undefined;
  // A short lease, so that a killed worker is lost within seconds (the embedded worker heartbeats well within it).
  const env = () => ({ ...home.env, SLUICE_LEASE_MS: '3000' });
  const call = (method: string, p: string, body?: unknown, headers?: Record<string, string>) => api(server.url, server.token, method, p, body, headers);
  const ping = (extra: Record<string, unknown> = {}) => ({ environ: { job_type: 'ping' }, ...extra });
  const sum = (m: Record<string, number[]>, klass: string) => (m[klass] ?? []).reduce((a, b) => a + b, 0);

  beforeAll(async () => {
    home = backend.fresh();
    server = await startServe(env(), ['--workers', '2']);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    home?.cleanup();
  });

  it('lists newest first in pages that go on towards older jobs, says the sequence number it is as of, and refuses an unknown order', async () => {
    const { body } = await call('POST', '/api/v1/jobs', { jobs: Array.from({ length: 7 }, (_, i) => ping({ name: `n${i}`, tags: ['pages'], pool: 'nowhere' })) });
    const newest = [...body.ids].reverse();
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await call('GET', `/api/v1/jobs?tag=pages&order=newest&limit=3${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.jobs.map((j: { id: string }) => j.id));
      cursor = page.body.next;
    } while (cursor);
    expect(seen).toEqual(newest);
    expect((await call('GET', '/api/v1/jobs?tag=pages&limit=3')).body.jobs.map((j: { id: string }) => j.id)).toEqual(body.ids.slice(0, 3));
    // seq: at least the last event of what is listed; what the stream gives after it is newer.
    const listed = await call('GET', '/api/v1/jobs?tag=pages&order=newest&limit=1');
    const last = (await call('GET', `/api/v1/jobs/${newest[0]}/events`)).body.events.at(-1).seq;
    expect(listed.body.seq).toBeGreaterThanOrEqual(last);
    const bad = await call('GET', '/api/v1/jobs?order=sideways');
    expect(bad).toMatchObject({ status: 400, body: { error: 'bad_request', message: expect.stringMatching(/order/) } });
    expect(bad.body.message).not.toContain('\n');
  });

  it("says why each owner's first queue is where it is in the fair-share order", async () => {
    await call('POST', '/api/v1/jobs', { jobs: [ping({ class: 'urgent', pool: 'nowhere', owner: 'ursula' }), ping({ class: 'nice', pool: 'nowhere', owner: 'ursula' })] });
    const { body } = await call('GET', '/api/v1/fairshare');
    const row = body.owners.find((r: { owner: string }) => r.owner === 'ursula');
    expect(row).toMatchObject({ queued: 2, next: { pool: 'nowhere', class: 'urgent', waited_ms: expect.any(Number) } });
    expect(row.next.score).toBeCloseTo(row.next.weight * row.factor * row.next.age_bonus, 6);
    expect(row.next.age_bonus).toBeGreaterThanOrEqual(1);
  });

  it('counts jobs started and finished per class, and the counts outlive a server restart', async () => {
    const { body } = await call('POST', '/api/v1/jobs', { jobs: [ping({ class: 'urgent' }), ping({ class: 'urgent' }), ping({ class: 'urgent' }), ping({ class: 'nice' })] });
    for (const id of body.ids) await call('GET', `/api/v1/jobs/${id}/wait?timeout=60`);
    const counted = (s: { started: Record<string, number[]>; finished: Record<string, number[]> }) => [sum(s.started, 'urgent'), sum(s.finished, 'urgent'), sum(s.started, 'nice'), sum(s.finished, 'nice')];
    const before = await until(async () => {
      const s = (await call('GET', '/api/v1/stats')).body;
      return counted(s).join() === '3,3,1,1' ? s : undefined;
    }, 10_000, 'the four jobs in the counts');
    expect(before.step_ms).toBe(10_000);
    expect(before.started.urgent).toHaveLength(360);
    expect(Date.parse(before.now) - Date.parse(before.since)).toBeLessThanOrEqual(3_600_000);
    expect(before.queued.at.every((t: string) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(t))).toBe(true);
    expect((await call('GET', '/api/v1/stats')).body.queued.by_class).toHaveProperty('normal');

    expect(await server.stop()).toBe(0);
    server = await startServe(env(), ['--workers', '2']);
    // The new process read the hour before it from the store, and counts what comes next once.
    await until(async () => (counted((await call('GET', '/api/v1/stats')).body).join() === '3,3,1,1' ? true : undefined), 10_000, 'the counts read back from the store');
    const { body: one } = await call('POST', '/api/v1/jobs', ping({ class: 'urgent' }));
    await call('GET', `/api/v1/jobs/${one.id}/wait?timeout=60`);
    await until(async () => (counted((await call('GET', '/api/v1/stats')).body).join() === '4,4,1,1' ? true : undefined), 10_000, 'the new job counted once');
  });

  it("shows each owner's usage only to whom may see it: the owner, and admins", async () => {
    const uma = (await call('POST', '/api/v1/users', { name: 'uma', role: 'user' })).body.token as string;
    await call('POST', '/api/v1/jobs', ping({ owner: 'uma', pool: 'nowhere' }));
    // Sampled every 5 s: wait for a sample with both owners that have queued units.
    const admin = await until(async () => {
      const s = (await call('GET', '/api/v1/stats')).body;
      return 'uma' in s.usage.by_owner && 'ursula' in s.usage.by_owner ? s : undefined;
    }, 20_000, "a sample of uma's and ursula's usage");
    expect(admin.usage.by_owner.uma).toHaveLength(admin.usage.at.length);
    const theirs = await api(server.url, uma, 'GET', '/api/v1/stats');
    expect(theirs.status).toBe(200);
    expect(Object.keys(theirs.body.usage.by_owner)).toEqual(['uma']);
    expect((await api(server.url, uma, 'GET', '/api/v1/fairshare')).body.owners.map((r: { owner: string }) => r.owner)).toEqual(['uma']);
    expect(await api(server.url, null, 'GET', '/api/v1/stats')).toMatchObject({ status: 401 });
  });

  it('lists a worker that stopped heartbeating as lost, and the Workers view marks it', async () => {
    const worker = await startWorker(env(), ['--pool', 'side', '--concurrency', '3']);
    const pid = worker.pid!;
    const find = (list: Array<{ pid: number }>) => list.find((w) => w.pid === pid);
    await until(async () => (find((await call('GET', '/api/v1/workers')).body.workers) ? true : undefined), 10_000, 'the worker to be listed');
    worker.kill('SIGKILL');
    const lost = await until(async () => {
      const { body } = await call('GET', '/api/v1/workers');
      return !find(body.workers) && find(body.lost) ? find(body.lost) : undefined;
    }, 15_000, 'the killed worker to be lost');
    expect(lost).toMatchObject({ pid, concurrency: 3, pools: ['side'] });
    browser = await launchChromium();
    const { page, context } = await signedIn(browser, server.url, server.token!);
    await page.goto(`${server.url}/#/workers`);
    const row = page.locator('tr.lost[data-worker]', { hasText: String(pid) });
    await row.waitFor();
    expect(await row.textContent()).toMatch(/lost3 \/ 3|lost0 \/ 3/);
    expect(await page.locator('tr:not(.lost)[data-worker]').first().textContent()).toContain('alive');
    if (backend.name === 'sqlite') await screenshot(page, 'workers-lost-light');
    await context.close();
  });

  it("serves the page's files with ETags, gzipped when asked, and the page with a policy that allows this server only", async () => {
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'; script-src 'self'/);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(await page.text()).toContain('/assets/app.js');
    const js = await fetch(`${server.url}/assets/app.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(js.headers.get('content-encoding')).toBe('gzip');
    const etag = js.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]{22}"$/);
    expect((await fetch(`${server.url}/assets/app.js`, { headers: { 'if-none-match': etag } })).status).toBe(304);
    const css = await fetch(`${server.url}/assets/app.css`, { headers: { 'accept-encoding': 'identity' } });
    expect(css.headers.get('content-encoding')).toBeNull();
    expect(await css.text()).toMatch(/prefers-color-scheme: ?dark/);
    expect(await call('GET', '/assets/nothing.js')).toMatchObject({ status: 404, body: { error: 'not_found', message: 'no asset nothing.js' } });
    expect((await call('GET', '/assets/index.html')).status).toBe(404);
    const out = await fetch(`${server.url}/signout`, { method: 'POST' });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^sluice_session=;.*HttpOnly.*Max-Age=0/);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page, Route } from 'playwright-core';
import { sluice, until } from './helpers/cli.js';
import { BACKENDS, type Backend } from './helpers/backends.js';
import { api, startServe, type Served } from './helpers/server.js';
import { freePort } from './helpers/ports.js';
import { launchChromium, signedIn, waitInPage } from './helpers/browser.js';

/**
 * The dashboard's live behaviour and its users, in Debian's Chromium against a real `sluice serve`:
 * a server restart loses and repeats no update, a hidden tab pauses and catches up, a viewer reads
 * only (and the server refuses what a forged request asks), a user never sees another's jobs.
 */
describe.each(BACKENDS)('the live dashboard and its users on $name', (backend) => {
  let browser: Browser;
  let server: Served;
  let home: ReturnType<Backend['fresh']>;
  let port: number;
  let page: Page;
  const call = (method: string, p: string, body?: unknown) => api(server.url, server.token, method, p, body);
  const rows = (p: Page) => p.locator('table.jobs tbody tr[data-id]');
  const idsOn = async (p: Page) => Promise.all((await rows(p).all()).map((r) => r.getAttribute('data-id')));
  const start = async () => {
    server = await startServe(home.env, ['--workers', '2', '--port', String(port)]);
  };

  beforeAll(async () => {
    browser = await launchChromium();
    home = backend.fresh();
    port = await freePort();
    await start();
    ({ page } = await signedIn(browser, server.url, server.token!));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    home?.cleanup();
  });

  it('a server restart shows a banner, then resumes from the last change: nothing missed, nothing doubled', async () => {
    const before = await call('POST', '/api/v1/jobs', { jobs: [1, 2, 3].map((i) => ({ environ: { job_type: 'ping', ping: i }, tags: ['restart'], name: `before ${i}` })) });
    const parked = await call('POST', '/api/v1/jobs', { environ: { job_type: 'ping' }, tags: ['restart'], name: 'parked', pool: 'elsewhere' });
    await page.goto(`${server.url}/#/jobs?tag=restart`);
    await until(async () => ((await idsOn(page)).length === 4 ? true : undefined), 10_000, 'the first four jobs');
    await page.locator('#live-state', { hasText: 'live' }).waitFor();
    const token = server.token;
    expect(await server.stop()).toBe(0);
    await page.locator('#connection-lost').waitFor({ timeout: 10_000 });
    // While the server is down, the CLI works on the store itself: three new jobs, and an abort.
    const env = { ...home.env, SLUICE_USER: 'admin' };
    const during: string[] = [];
    for (const i of [1, 2, 3]) during.push((await sluice(['submit', '--job-type', 'ping', '--tag', 'restart', '--name', `during ${i}`], env)).stdout.trim());
    expect((await sluice(['abort', parked.body.id], env)).code).toBe(0);
    await start();
    expect(server.token).toBe(token);
    await page.locator('#connection-lost').waitFor({ state: 'detached', timeout: 15_000 });
    const all = [...before.body.ids, parked.body.id, ...during];
    await until(async () => {
      const statuses = await Promise.all((await rows(page).all()).map(async (r) => `${await r.getAttribute('data-id')}=${await r.getAttribute('data-status')}`));
      return statuses.length === 7 && statuses.filter((s) => s.endsWith('=Success')).length === 6 ? statuses : undefined;
    }, 30_000, 'every job, ended, once');
    const shown = await idsOn(page);
    expect(new Set(shown).size).toBe(shown.length);
    expect([...shown].sort()).toEqual([...all].sort());
    expect(await page.locator(`tr[data-id="${parked.body.id}"]`).getAttribute('data-status')).toBe('Aborted');
    const counts = await page.evaluate<{ connects: number }>('window.sluiceLive.counts');
    expect(counts.connects).toBeGreaterThanOrEqual(2);
  });

  /** Holds the answers of requests `matching`: each is read from the server at once (or when let go, with `late`), and handed to the page only when let go. */
  function hold(p: Page, matching: (url: URL) => boolean, late = false) {
    let letGo!: () => void;
    const released = new Promise<void>((resolve) => (letGo = resolve));
    let seen!: (body: unknown) => void;
    const read = new Promise<unknown>((resolve) => (seen = resolve));
    const handler = async (route: Route) => {
      if (!matching(new URL(route.request().url()))) return route.fallback();
      if (late) await released;
      const response = await route.fetch();
      seen(await response.json());
      await released;
      await route.fulfill({ response });
    };
    return { handler, read, letGo };
  }
  const eventSeq = async (id: string) => (await call('GET', `/api/v1/jobs/${id}/events`)).body.events.at(-1).seq as number;

  it('a change made while a listing is on its way is shown: one the stream has already brought, and one from before the stream started', async () => {
    // 1. The page follows the stream; the listing of a new filter is read, then a job of it changes
    //    and the stream brings the change, and only then does the listing reach the page.
    const x = (await call('POST', '/api/v1/jobs', { environ: { job_type: 'ping' }, tags: ['race'], name: 'raced', pool: 'elsewhere' })).body.id as string;
    await page.goto(`${server.url}/#/jobs`);
    await page.locator('#live-state', { hasText: 'live' }).waitFor();
    const listing = hold(page, (u) => u.searchParams.get('tag') === 'race');
    await page.route('**/api/v1/jobs?*', listing.handler);
    await page.goto(`${server.url}/#/jobs?tag=race`);
    expect(await listing.read).toMatchObject({ jobs: [{ id: x, status: 'Queued' }] });
    await call('POST', `/api/v1/jobs/${x}/abort`);
    const aborted = await eventSeq(x);
    await waitInPage(page, `window.sluiceLive.last >= ${aborted}`, 10_000);
    listing.letGo();
    await page.locator(`tr[data-id="${x}"][data-status="Aborted"]`).waitFor({ timeout: 5_000 });
    await page.unroute('**/api/v1/jobs?*', listing.handler);

    // 2. A fresh page: its listing is read, the job changes, and the stream starts after the change
    //    (it asks the server's last number then); the listing, older, makes it start again from its own.
    const y = (await call('POST', '/api/v1/jobs', { environ: { job_type: 'ping' }, tags: ['race2'], name: 'raced too', pool: 'elsewhere' })).body.id as string;
    await page.goto(`${server.url}/#/jobs?tag=race2`);
    await page.locator(`tr[data-id="${y}"]`).waitFor();
    const start = hold(page, (u) => u.searchParams.get('limit') === '1' && !u.searchParams.has('tag'), true);
    const older = hold(page, (u) => u.searchParams.get('tag') === 'race2');
    await page.route('**/api/v1/jobs?*', start.handler);
    await page.route('**/api/v1/jobs?*', older.handler);
    await page.reload();
    expect(await older.read).toMatchObject({ jobs: [{ id: y, status: 'Queued' }] });
    await call('POST', `/api/v1/jobs/${y}/abort`);
    const abortedToo = await eventSeq(y);
    start.letGo();
    expect(((await start.read) as { seq: number }).seq).toBeGreaterThanOrEqual(abortedToo);
    await page.locator('#live-state', { hasText: 'live' }).waitFor();
    older.letGo();
    await page.locator(`tr[data-id="${y}"][data-status="Aborted"]`).waitFor({ timeout: 5_000 });
    await page.unrouteAll();
    expect(await rows(page).count()).toBe(1);
  });

  it('a hidden tab stops following, and catches up when shown again', async () => {
    await page.goto(`${server.url}/#/jobs?tag=hidden`);
    await page.locator('td.empty').waitFor();
    await page.locator('#live-state', { hasText: 'live' }).waitFor();
    // What a browser does when the tab is hidden or shown again (headless Chromium has no tabs to switch).
    const visibility = (hidden: boolean) =>
      page.evaluate(`Object.defineProperty(document, 'hidden', { configurable: true, get: () => ${hidden} }); document.dispatchEvent(new Event('visibilitychange'))`);
    await visibility(true);
    await page.locator('#live-state', { hasText: 'paused' }).waitFor();
    const { body } = await call('POST', '/api/v1/jobs', { jobs: [1, 2].map(() => ({ environ: { job_type: 'ping' }, tags: ['hidden'] })) });
    await call('GET', `/api/v1/jobs/${body.ids[1]}/wait?timeout=30`);
    await page.waitForTimeout(500);
    expect(await rows(page).count()).toBe(0);
    await visibility(false);
    await until(async () => ((await idsOn(page)).sort().join() === [...body.ids].sort().join() ? true : undefined), 10_000, 'the jobs made while hidden');
  });

  it('a viewer has no abort button, and the server refuses a forged abort or submit', async () => {
    const vera = (await call('POST', '/api/v1/users', { name: 'vera', role: 'viewer' })).body.token as string;
    const { body } = await call('POST', '/api/v1/jobs', { environ: { job_type: 'ping' }, owner: 'vera', name: 'watched', pool: 'elsewhere' });
    const { context, page: p } = await signedIn(browser, server.url, vera);
    await p.goto(`${server.url}/#/job/${body.id}`);
    await p.locator('article[data-status="Queued"]').waitFor();
    expect(await p.textContent('#me')).toContain('viewer');
    expect(await p.locator('#abort').count()).toBe(0);
    expect(await p.locator('#resubmit').count()).toBe(0);
    expect(await p.locator('#control').count()).toBe(0);
    // The same requests the buttons would send, made by hand with the viewer's cookie.
    const forged = await p.evaluate(async (id) => {
      // (This function runs in the page, with the page's fetch and the viewer's cookie.)
      const abort = await fetch(`/api/v1/jobs/${id}/abort`, { method: 'POST' });
      const submit = await fetch('/api/v1/jobs', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ environ: { job_type: 'ping' } }) });
      return [abort.status, submit.status];
    }, body.id as string);
    expect(forged).toEqual([403, 403]);
    expect((await call('GET', `/api/v1/jobs/${body.id}`)).body.status).toBe('Queued');
    await context.close();
  });

  it("a user never sees another user's jobs: not in the tree, not in a search, not by id, not live", async () => {
    const tokens: Record<string, string> = {};
    for (const name of ['alice', 'bob']) tokens[name] = (await call('POST', '/api/v1/users', { name, role: 'user' })).body.token;
    const secret = await call('POST', '/api/v1/jobs', { environ: { job_type: 'ping', note: 'shared word' }, owner: 'alice', name: 'alice secret', tags: ['mine'], pool: 'elsewhere' });
    const own = await call('POST', '/api/v1/jobs', { environ: { job_type: 'ping', note: 'shared word' }, owner: 'bob', name: 'bob own', tags: ['mine'], pool: 'elsewhere' });
    const bob = await signedIn(browser, server.url, tokens.bob!);
    const alice = await signedIn(browser, server.url, tokens.alice!);
    // The tree: bob's root group only.
    await bob.page.locator(`tr[data-id="${own.body.id}"]`).waitFor();
    expect(await bob.page.locator('tr.group').allTextContents()).toEqual([expect.stringMatching(/^▾bob\//)]);
    expect(await bob.page.locator('#filter-owner').count()).toBe(0);
    // A search for what both environs say.
    await bob.page.fill('#search', 'shared word');
    await bob.page.press('#search', 'Enter');
    await bob.page.locator(`tr[data-id="${own.body.id}"]`).waitFor();
    expect(await idsOn(bob.page)).toEqual([own.body.id]);
    // By id: not found, the same as a job that does not exist.
    await bob.page.goto(`${server.url}/#/job/${secret.body.id}`);
    await bob.page.locator('p.error', { hasText: 'No job' }).waitFor();
    // Live: alice's new job comes to alice's page, never to bob's.
    for (const p of [alice.page, bob.page]) {
      await p.goto(`${server.url}/#/jobs?tag=mine`);
      await p.locator('table.jobs[aria-busy="false"] tbody tr[data-id]').first().waitFor();
      await p.locator('#live-state', { hasText: 'live' }).waitFor();
    }
    const fresh = await call('POST', '/api/v1/jobs', { environ: { job_type: 'ping' }, owner: 'alice', name: 'alice later', tags: ['mine'], pool: 'elsewhere' });
    await alice.page.locator(`tr[data-id="${fresh.body.id}"]`).waitFor({ timeout: 5_000 });
    await bob.page.waitForTimeout(300);
    expect(await idsOn(bob.page)).toEqual([own.body.id]);
    expect(await idsOn(alice.page)).toEqual([fresh.body.id, secret.body.id]);
    await bob.context.close();
    await alice.context.close();
  });
});

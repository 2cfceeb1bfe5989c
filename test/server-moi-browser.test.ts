import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser } from './helpers/browser.js';
import { BACKENDS } from './helpers/backends.js';
import { until } from './helpers/cli.js';
import { api, startServe, type Served } from './helpers/server.js';

/**
 * moi's WebSocket from a real browser page, signed in as a browser is: by opening the printed
 * URL's `/?token=` (the session cookie), after which the page's own WebSocket carries the cookie.
 *
 * moi's own client (`moi.js` with `moi_list.js`, from moi's `moi/support_files/`) is not shipped
 * with Sluice; set SLUICE_TEST_MOI_DIR to a folder holding the two files to run it unchanged here.
 */
const MOI_DIR = process.env.SLUICE_TEST_MOI_DIR;
const haveMoi = !!MOI_DIR && existsSync(path.join(MOI_DIR, 'moi.js')) && existsSync(path.join(MOI_DIR, 'moi_list.js'));
// Not silent: moi's code is not ours to commit, so CI cannot have it; say what is skipped and why.
if (!haveMoi) process.stderr.write("server-moi-browser: moi's own moi.js/moi_list.js test skipped: set SLUICE_TEST_MOI_DIR to a folder with them (moi/support_files)\n");

/** A js job that runs until a control message says stop, so that a page sees it Running first. */
const HOLD = "for await (const m of ctx.messages()) { if (m.stop) return 'done'; }";

describe.each(BACKENDS)("moi's WebSocket in chromium on $name", (backend) => {
  let server: Served;
  let home: ReturnType<typeof backend.fresh>;
  let browser: Browser;
  let alice: string;
  const call = (method: string, route: string, body?: unknown) => api(server.url, alice, method, route, body);
  const submit = async (body: Record<string, unknown>) => (await call('POST', '/api/v1/jobs', body)).body.id as string;
  const signedIn = async (): Promise<Page> => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/?token=${alice}`);
    expect(new URL(page.url()).search).toBe('');
    return page;
  };

  beforeAll(async () => {
    home = backend.fresh();
    server = await startServe(home.env, ['--workers', '2']);
    alice = (await api(server.url, server.token, 'POST', '/api/v1/users', { name: 'alice', role: 'trusted' })).body.token;
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    home?.cleanup();
  });

  it("a page signed in by the printed URL opens /moi-ws/ with its cookie alone and gets moi's frames", async () => {
    const done = await submit({ environ: { job_type: 'ping', ping: 'b' }, name: 'before' });
    await call('GET', `/api/v1/jobs/${done}/wait?timeout=30`);
    const page = await signedIn();
    // The page's script, as text: this project's TypeScript has no DOM types.
    await page.evaluate(`
      window.frames_ = [];
      const ws = new WebSocket('ws://' + location.host + '/moi-ws/');
      ws.onopen = () => ws.send(JSON.stringify({ get: [] }));
      ws.onmessage = (e) => window.frames_.push(JSON.parse(e.data));
    `);
    const frames = () => page.evaluate('window.frames_') as Promise<Record<string, { id: string; status: string | null }>[]>;
    await until(async () => ((await frames()).some((f) => f.get?.id === done) ? true : undefined), 20_000, 'the get answer in the page');
    const later = await submit({ environ: { job_type: 'ping', ping: 'l' }, name: 'later' });
    await until(async () => ((await frames()).some((f) => f.update?.id === later && f.update.status === 'Success') ? true : undefined), 20_000, 'the live update in the page');
    expect((await frames()).find((f) => f.get?.id === done)!.get).toMatchObject({ status: 'Success' });
    await page.close();
  });

  it.skipIf(!haveMoi)("moi's own moi.js and moi_list.js, unchanged: rows for the group's children, live status, a result link, Remove that lasts", async () => {
    const root = (await call('GET', '/api/v1/groups?path=alice')).body;
    const first = await submit({ environ: { job_type: 'ping', ping: 'f' }, name: 'first' });
    await call('GET', `/api/v1/jobs/${first}/wait?timeout=30`);
    const page = await signedIn();
    const load = async (p: Page) => {
      for (const file of ['moi.js', 'moi_list.js']) await p.addScriptTag({ content: readFileSync(path.join(MOI_DIR!, file), 'utf8') });
      await p.evaluate(`moi_list.init(${JSON.stringify(root.id)})`);
    };
    await load(page);
    const row = (id: string) => page.locator(`#moi-list p[id="${id}"]`);
    // A finished job with a url: its status is a link to url/id.
    await row(first).locator('a').waitFor({ timeout: 20_000 });
    expect(await row(first).locator('a').textContent()).toBe('Success');
    expect(await row(first).locator('a').getAttribute('href')).toBe(`${server.url}/api/v1/jobs/${first}`);
    expect(await row(first).textContent()).toContain('first:');
    // A job submitted while the page is open: its row comes with add, then its status changes live.
    const held = await submit({ environ: { job_type: 'js', cmd: HOLD }, name: 'held' });
    await until(async () => ((await page.locator(`[id="${held}:status"]`).textContent().catch(() => null)) === 'Running' ? true : undefined), 20_000, 'the held job shown Running');
    await call('POST', `/api/v1/jobs/${held}/control`, { stop: true });
    await row(held).locator('a').waitFor({ timeout: 20_000 });
    expect(await row(held).locator('a').textContent()).toBe('Success');
    // A group below: a row with "Group details"; its jobs are not rows here (moi_list shows direct children).
    const inner = await submit({ environ: { job_type: 'ping', ping: 'i' }, name: 'inner', group: 'alice/exp' });
    const exp = (await call('GET', '/api/v1/groups?path=alice/exp')).body;
    await row(exp.id).waitFor({ timeout: 20_000 });
    expect(await row(exp.id).textContent()).toContain('Group details');
    await call('GET', `/api/v1/jobs/${inner}/wait?timeout=30`);
    expect(await row(inner).count()).toBe(0);
    // Remove: the row goes at once, and a page opened later does not show it either.
    await row(first).locator('input[value=Remove]').click();
    await until(async () => ((await row(first).count()) === 0 ? true : undefined), 20_000, 'the removed row gone');
    const again = await signedIn();
    await load(again);
    await again.locator(`#moi-list p[id="${held}"]`).waitFor({ timeout: 20_000 });
    expect(await again.locator(`#moi-list p[id="${first}"]`).count()).toBe(0);
    expect((await call('GET', `/api/v1/jobs/${first}`)).status).toBe(200);
    await again.close();
    await page.close();
  });
});

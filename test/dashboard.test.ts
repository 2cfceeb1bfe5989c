import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { sluice, until } from './helpers/cli.js';
import { BACKENDS, type Backend } from './helpers/backends.js';
import { api, startServe, type Served } from './helpers/server.js';
import { running, processesIn, runsIn } from './helpers/procs.js';
import { launchChromium, screenshot, signedIn, waitInPage } from './helpers/browser.js';
import { file, program, requireSandboxTools, scratch } from './sandbox/helpers.js';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The dashboard (docs/dashboard.md) in Debian's Chromium against a real `sluice serve` on a fresh
 * store: every view with real data (and its screenshots, light and dark, for the docs), a job from
 * the CLI coming live, the abort button, the search, the keyboard. On both stores; the screenshots
 * are taken on SQLite (the store a newcomer starts with).
 */
describe.each(BACKENDS)('the dashboard in a browser on $name', (backend) => {
  let browser: Browser;
  let server: Served;
  let home: ReturnType<Backend['fresh']>;
  let units: string;
  let page: Page;
  const call = (method: string, p: string, body?: unknown) => api(server.url, server.token, method, p, body);
  const remote = () => ({ ...home.env, SLUICE_URL: server.url, SLUICE_TOKEN: server.token! });
  const ids = { map: "", js: "", failed: "", later: "" };

  beforeAll(async () => {
    browser = await launchChromium();
    home = backend.fresh();
    units = mkdtempSync(path.join(os.tmpdir(), 'sluice-units-'));
    // The sandbox runs programs as another uid, which must be able to pass through the units' folder.
    chmodSync(units, 0o711);
    server = await startServe({ ...home.env, SLUICE_TMPDIR: units, SLUICE_STREAM_HEARTBEAT: '1s' }, ['--workers', '3']);
    // Real data for every view: a map job, a js job, a failed system job, a queued job of another owner.
    const map = await call('POST', '/api/v1/jobs', { environ: { job_type: 'js', cmd: 'return environ.input * 2' }, inputs: [1, 2, 3, 4], name: 'doubling', tags: ['demo'], group: 'admin/analysis' });
    const js = await call('POST', '/api/v1/jobs', { environ: { job_type: 'js', cmd: 'ctx.progress(1, 1, "done"); return { answer: 42 }' }, name: 'answer', tags: ['demo'], class: 'urgent' });
    const failed = await call('POST', '/api/v1/jobs', { environ: { job_type: 'system', cmd: 'echo to stdout; echo to stderr >&2; exit 3' }, name: 'fails' });
    const later = await call('POST', '/api/v1/jobs', { environ: { job_type: 'ping', ping: 1 }, owner: 'carol', name: 'later', pool: 'elsewhere' });
    Object.assign(ids, { map: map.body.id, js: js.body.id, failed: failed.body.id, later: later.body.id });
    for (const id of [ids.map, ids.js, ids.failed]) await call('GET', `/api/v1/jobs/${id}/wait?timeout=60`);
    ({ page } = await signedIn(browser, server.url, server.token!));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    for (const p of units ? processesIn(units) : []) process.kill(p.pid, 'SIGKILL');
    if (units) rmSync(units, { recursive: true, force: true });
    home?.cleanup();
  });

  const row = (id: string) => page.locator(`tr[data-id="${id}"]`);

  it('signs in from the printed URL: the cookie is HttpOnly and the page is the dashboard, its files served by the server', async () => {
    const cookies = await page.context().cookies();
    expect(cookies).toEqual([expect.objectContaining({ name: 'sluice_session', httpOnly: true, sameSite: 'Strict' })]);
    expect(await page.textContent('#me')).toContain('admin');
    const index = await fetch(`${server.url}/`);
    expect(index.headers.get('content-security-policy')).toContain("default-src 'self'");
    const scripts = await page.evaluate<string[]>('[...document.scripts].map((s) => s.src)');
    expect(scripts).toEqual([`${server.url}/assets/app.js`]);
    // Without the cookie, the page asks for a token, and a wrong one is refused.
    const anonymous = await browser.newPage();
    await anonymous.goto(server.url);
    await anonymous.fill('#token', 'sluice_wrong');
    await anonymous.click('button[type=submit]');
    await anonymous.waitForSelector('.signin .error');
    await anonymous.close();
  });

  it('shows each view with real data (screenshots light and dark)', { timeout: 60_000 }, async () => {
    const dark = await signedIn(browser, server.url, server.token!, { colorScheme: 'dark' });
    const phone = await signedIn(browser, server.url, server.token!, { width: 390 });
    const shoot = async (name: string, hash: string, ready: (p: Page) => Promise<unknown>) => {
      for (const [p, suffix] of [[page, 'light'], [dark.page, 'dark']] as const) {
        await p.goto(`${server.url}/${hash}`);
        await ready(p);
        if (backend.name === 'sqlite') await screenshot(p, `${name}-${suffix}`);
      }
    };
    // Jobs: the tree of groups and jobs with status, progress, times, owner, tags and class.
    await shoot('jobs', '#/jobs', async (p) => {
      await p.locator('button[aria-label="Expand analysis"]').click();
      await p.locator(`tr[data-id="${ids.map}"] [role=progressbar][aria-valuenow="4"]`).waitFor();
      await p.locator(`tr[data-id="${ids.later}"]`).waitFor();
    });
    const js = row(ids.js);
    expect(await js.getAttribute('data-status')).toBe('Success');
    expect(await js.textContent()).toMatch(/answer.*Success.*admin.*demo.*urgent.*js/);
    expect(await page.locator('tr.group').allTextContents()).toEqual(expect.arrayContaining([expect.stringContaining('admin/'), expect.stringContaining('carol/'), expect.stringContaining('analysis/')]));
    // A job: verdict-free js map job with units, environ in and out, the timeline.
    await shoot('job', `#/job/${ids.map}`, (p) => p.locator('#units tbody tr').nth(3).waitFor());
    expect(await page.locator('#units tbody tr').allTextContents()).toEqual([0, 1, 2, 3].map((i) => expect.stringMatching(new RegExp(`^${i}done1.*${(i + 1) * 2}$`))));
    expect(await page.locator('#timeline li').first().textContent()).toMatch(/add.*Queued/);
    expect(await page.locator('#timeline li').last().textContent()).toMatch(/update.*Success.*4\/4/);
    await page.goto(`${server.url}/#/job/${ids.failed}`);
    await page.locator('#stdout pre').waitFor();
    expect(await page.locator('#stdout pre').textContent()).toBe('to stdout\n');
    expect(await page.locator('#stderr pre').textContent()).toBe('to stderr\n');
    expect(await page.locator('h1 .status').textContent()).toBe('Failed');
    // Fair share: carol's queued unit, why it is (not) next, and the usage chart.
    await shoot('fairshare', '#/fairshare', async (p) => {
      await p.locator('tr[data-owner="carol"]').waitFor();
      await p.locator('#usage-chart canvas').waitFor();
      // The server samples the usage every 5 s: wait for a sample with carol's queued unit in it.
      await p.locator('#usage-chart [role=img][aria-label*="carol"]').waitFor({ timeout: 15_000 });
    });
    expect(await page.locator('tr[data-owner="carol"]').textContent()).toMatch(/^carol1/);
    // Workers: the embedded worker, its host and pid.
    await shoot('workers', '#/workers', (p) => p.locator('tr[data-worker]').first().waitFor());
    expect(await page.locator('tr[data-worker]').first().textContent()).toContain(`${os.hostname()}${server.child.pid}`);
    expect(await page.locator('tr[data-worker]').first().textContent()).toMatch(/alive\d+ \/ 3/);
    // Throughput: the jobs above, started and finished, and the queue.
    await shoot('throughput', '#/throughput', async (p) => {
      await p.locator('#queued-chart canvas').waitFor();
      await p.locator('#tp-totals', { hasText: /[1-9]\d* jobs started, [1-9]\d* finished/ }).waitFor();
    });
    // A phone's width: the jobs still read, the minor columns go.
    await phone.page.goto(`${server.url}/#/jobs?tag=demo`);
    await phone.page.locator(`tr[data-id="${ids.js}"]`).waitFor();
    expect(await phone.page.locator('th.wide').first().isVisible()).toBe(false);
    expect(await phone.page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
    if (backend.name === 'sqlite') await screenshot(phone.page, 'jobs-phone');
    await dark.context.close();
    await phone.context.close();
  });

  it('a job submitted from the CLI appears within a second and its progress bar moves', async () => {
    await page.goto(`${server.url}/#/jobs?tag=cli`);
    await page.locator('table.jobs[aria-busy="false"]').waitFor();
    await page.locator('td.empty').waitFor();
    const inputs = Array.from({ length: 6 }, (_, i) => i).join('\n');
    const submitted = await sluice(['submit', '--cmd-type', 'system', '--cmd', 'sleep 0.4', '--inputs', '-', '--tag', 'cli', '--name', 'from the cli'], remote(), inputs);
    const at = Date.now();
    expect(submitted.code).toBe(0);
    const id = submitted.stdout.trim();
    await row(id).waitFor({ timeout: 5_000 });
    expect(Date.now() - at).toBeLessThan(1000);
    const bar = row(id).locator('[role=progressbar]');
    const seen = new Set<string>();
    await until(async () => {
      seen.add((await bar.getAttribute('aria-valuenow'))!);
      return (await bar.getAttribute('aria-valuenow')) === '6' ? true : undefined;
    }, 30_000, 'the bar to reach 6 of 6');
    // It moved through values between (the bar is live, not only right at the end).
    expect([...seen].filter((v) => v !== '0' && v !== '6').length).toBeGreaterThan(0);
    expect(await row(id).getAttribute('data-status')).toBe('Success');
    expect(await page.locator(`tr[data-id="${id}"]`).count()).toBe(1);
  });

  it("a running map job's page moves: its bar, its units and its timeline, to the end", async () => {
    const { body } = await call('POST', '/api/v1/jobs', { environ: { job_type: 'system', cmd: 'sleep 0.25' }, inputs: Array.from({ length: 9 }, (_, i) => i), name: 'busy map' });
    await page.goto(`${server.url}/#/job/${body.id}`);
    const bar = page.locator('article dl.facts [role=progressbar]');
    await bar.waitFor();
    const seen = new Set<string>();
    await until(async () => {
      const now = (await bar.getAttribute('aria-valuenow'))!;
      seen.add(now);
      return now === '9' ? true : undefined;
    }, 30_000, 'the bar to reach 9 of 9');
    expect([...seen].filter((v) => v !== '0' && v !== '9').length).toBeGreaterThan(1);
    await page.locator('article[data-status="Success"]').waitFor();
    await until(async () => ((await page.locator('#units tbody tr[data-state="done"]').count()) === 9 ? true : undefined), 10_000, 'every unit done in the table');
    await page.locator('#timeline li', { hasText: /update.*Success.*9\/9/ }).waitFor({ timeout: 10_000 });
  });

  it("the abort button stops a running system job and kills its process", async () => {
    const { body } = await call('POST', '/api/v1/jobs', { environ: { job_type: 'system', cmd: 'sleep 313' }, name: 'to abort' });
    await runsIn(units, 'sleep 313');
    await page.goto(`${server.url}/#/job/${body.id}`);
    await page.locator('article[data-status="Running"]').waitFor();
    await page.locator('#abort').focus();
    await page.keyboard.press('Enter');
    await page.locator('article[data-status="Aborted"]').waitFor({ timeout: 10_000 });
    expect(await page.locator('#abort').count()).toBe(0);
    // (The worker's idle js children live in the same folder: only the sleep must go.)
    await until(() => (running(processesIn(units), 'sleep 313').length === 0 ? true : undefined), 5_000, 'the aborted sleep to be killed');
    expect((await call('GET', `/api/v1/jobs/${body.id}`)).body.status).toBe('Aborted');
  });

  it("a sandboxed exec job's verdict reads as a table: result, checker comment, score, time and memory", async () => {
    requireSandboxTools();
    const dir = scratch();
    const [echo, checker] = await Promise.all([program('echo'), program('chk_compare')]);
    const environ = {
      job_type: 'exec', use_filetracker: false, exe_file: echo, chk_file: checker, check_output: true,
      in_file: file(dir, 'in', '84\n'), hint_file: file(dir, 'hint', '84\n'), exec_time_limit: 2000, exec_mem_limit: 65536,
    };
    const { body } = await call('POST', '/api/v1/jobs', { environ, name: 'judged' });
    const done = await call('GET', `/api/v1/jobs/${body.id}/wait?timeout=60`);
    expect(done.body.output, done.body.output.result_string).toMatchObject({ result_code: 'OK', result_percentage: [42, 1] });
    await page.goto(`${server.url}/#/job/${body.id}`);
    const cell = (key: string) => page.locator(`table.verdict td[data-key="${key}"]`);
    await cell('result_code').waitFor();
    expect(await cell('result_code').textContent()).toBe('OK');
    expect(await cell('result_string').textContent()).toBe('OK');
    expect(await cell('result_percentage').textContent()).toBe('42 %');
    expect(await cell('time_used').textContent()).toBe(`${done.body.output.time_used} ms`);
    expect(await cell('mem_used').textContent()).toBe(`${done.body.output.mem_used} KiB`);
    expect(await cell('exec_time_limit').textContent()).toBe('2000 ms');
    expect(await page.locator('table.verdict th').allTextContents()).toEqual(expect.arrayContaining(['Result', 'Comment', 'Score', 'CPU time', 'Wall time', 'Memory']));
    if (backend.name === 'sqlite') await screenshot(page, 'job-exec-light');
    rmSync(dir, { recursive: true, force: true });
  });

  it('the control button sends a running job a message it reads, and resubmit makes the same job again', async () => {
    const cmd = 'for await (const m of ctx.messages()) if (m.word) return { heard: m.word };';
    const { body } = await call('POST', '/api/v1/jobs', { environ: { job_type: 'js', cmd }, name: 'listening', tags: ['ears'], class: 'nice' });
    await page.goto(`${server.url}/#/job/${body.id}`);
    await page.locator('article[data-status="Running"]').waitFor({ timeout: 20_000 });
    await page.click('#control');
    await page.fill('#control-body', '{not json');
    await page.click('form.control button[type=submit]');
    expect(await page.locator('form.control .error').textContent()).toBe('Not JSON.');
    await page.fill('#control-body', '{"word": "hello"}');
    await page.click('form.control button[type=submit]');
    await page.locator('.notice', { hasText: 'Control message 1 sent' }).waitFor();
    await page.locator('article[data-status="Success"]').waitFor({ timeout: 20_000 });
    expect((await call('GET', `/api/v1/jobs/${body.id}`)).body.result).toEqual({ heard: 'hello' });
    // An ended job takes no more messages: no button for it.
    expect(await page.locator('#control').count()).toBe(0);
    await page.click('#resubmit');
    await page.waitForURL((u) => /#\/job\//.test(u.hash) && !u.hash.includes(body.id));
    const fresh = decodeURIComponent(new URL(page.url()).hash.replace('#/job/', ''));
    const again = (await call('GET', `/api/v1/jobs/${fresh}`)).body;
    expect(again).toMatchObject({ name: 'listening', tags: ['ears'], class: 'nice', environ: { job_type: 'js', cmd } });
    await call('POST', `/api/v1/jobs/${fresh}/abort`);
  });

  it('the search finds a job by a word of its environ, and by its id', { timeout: 60_000 }, async () => {
    const { body } = await call('POST', '/api/v1/jobs', { environ: { job_type: 'ping', ping: 1, note: 'the haystack hides a zanzibar here' }, name: 'plain name' });
    await page.goto(`${server.url}/#/jobs`);
    // The keyboard: / goes to the search.
    await page.locator('tr.group').first().waitFor();
    await page.locator('#search').waitFor();
    await page.keyboard.press('/');
    await waitInPage(page, "document.activeElement && document.activeElement.id === 'search'", 5_000);
    await page.keyboard.type('zanzibar');
    await page.keyboard.press('Enter');
    await page.waitForURL(/q=zanzibar/);
    // (The tree, still there for a moment, shows the job too: wait for the search's list.)
    const found = page.locator('table[aria-label="Jobs"][aria-busy="false"] tbody tr');
    await found.first().waitFor();
    expect(await found.evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id')))).toEqual([body.id]);
    await page.fill('#search', ids.js);
    await page.press('#search', 'Enter');
    await page.locator(`table[aria-label="Jobs"] tr[data-id="${ids.js}"]`).waitFor();
    // Escape leaves the field; keys 1-4 switch views; j and k move between rows, Enter opens one.
    await page.keyboard.press('Escape');
    await page.keyboard.press('3');
    await page.waitForURL(/#\/workers$/);
    await page.keyboard.press('/');
    await page.waitForURL(/#\/jobs$/);
    await waitInPage(page, "document.activeElement && document.activeElement.id === 'search'", 5_000);
    await page.keyboard.press('Escape');
    await page.keyboard.press('4');
    await page.waitForURL(/#\/throughput$/);
    await page.keyboard.press('1');
    await page.waitForURL(/#\/jobs$/);
    await page.goto(`${server.url}/#/jobs?tag=demo`);
    await row(ids.map).waitFor();
    const links = await page.locator('[data-row-link]').evaluateAll((els) => els.map((e) => e.getAttribute('href')));
    expect(links.length).toBeGreaterThanOrEqual(2);
    await page.keyboard.press('j');
    await page.keyboard.press('j');
    await page.keyboard.press('k');
    await page.keyboard.press('j');
    expect(await page.evaluate<string | null>("document.activeElement.getAttribute('href')")).toBe(links[1]);
    await page.keyboard.press('Enter');
    await page.waitForURL((u) => u.hash === links[1]);
    await page.locator('#job-title').waitFor();
  });
});

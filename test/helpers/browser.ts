import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { requireProgram } from './require.js';

/** Where the tests write the dashboard's screenshots (docs/dashboard.md shows them). */
export const SCREENSHOTS = path.join(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '..', '..', 'docs', 'screenshots');

/**
 * Debian's Chromium (apt-get install chromium), driven by playwright-core: no browser download.
 * Without it the test fails naming the package. One launch per test file; a context per user.
 */
export async function launchChromium(): Promise<Browser> {
  const executablePath = requireProgram('chromium', 'chromium');
  return chromium.launch({
    executablePath,
    // Root in CI: Chromium's own sandbox needs a user namespace it may not get; the pages are ours.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  });
}

/** A browser context signed in as the printed URL signs in: /?token=T sets the session cookie and lands on /. */
export async function signedIn(browser: Browser, url: string, token: string, options: { colorScheme?: 'light' | 'dark'; width?: number } = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ colorScheme: options.colorScheme ?? 'light', viewport: { width: options.width ?? 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${url}/?token=${token}`);
  await page.waitForSelector('#me');
  return { context, page };
}

export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: false });
}

/**
 * Waits until `expression` is truthy in the page. (Playwright's waitForFunction with a string polls
 * through an eval, which the dashboard's Content-Security-Policy refuses; page.evaluate does not.)
 */
export async function waitInPage(page: Page, expression: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await page.evaluate<unknown>(expression))) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${expression} in the page`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The same launch, by the name the moi browser test uses. */
export const launchBrowser = launchChromium;

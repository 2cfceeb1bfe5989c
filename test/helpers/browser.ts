import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** The system's chromium (Debian's `chromium` package; .ci/run installs it), or SLUICE_TEST_CHROMIUM. */
export const CHROMIUM = process.env.SLUICE_TEST_CHROMIUM ?? '/usr/bin/chromium';

/** A headless chromium driven by playwright-core (no browser download: the system's build). */
export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: apt-get install chromium, or set SLUICE_TEST_CHROMIUM`);
  // --no-sandbox: the tests run as root on CI, where chromium's own sandbox refuses to start.
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { SETTINGS } from '../src/environ/index.js';

/** The settings users read about are the settings Sluice reads. */
describe('docs/cli.md', () => {
  it('lists every setting of src/environ/config.ts in its environment table', () => {
    const table = readFileSync(new URL('../docs/cli.md', import.meta.url), 'utf8');
    const missing = SETTINGS.map((s) => s.env).filter((name) => !table.includes(`\`${name}\``));
    expect(missing).toEqual([]);
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { run } from '../src/environ/index.js';
import { builtinRegistry } from '../src/jobs/index.js';
import { until } from './helpers/cli.js';
import { testScope } from './helpers/scope.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'sluice-registry-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A SLUICE_PLUGINS module whose import takes a while, as a real one that loads dependencies does. */
function slowPlugin(name: string, delayMs = 50): string {
  const file = path.join(root, `${name}.mjs`);
  writeFileSync(file, `await new Promise((r) => setTimeout(r, ${delayMs}));\nexport const jobs = { ${name}: (e) => ({ ...e, [${JSON.stringify(name)}]: true }) };\n`);
  return file;
}

describe('registry', () => {
  it('concurrent first look-ups of a plugin job all wait for the one scan', async () => {
    const registry = builtinRegistry({ nodeModules: [], pluginModules: [slowPlugin('noop')] });
    const outs = await Promise.all(Array.from({ length: 50 }, () => run({ job_type: 'noop' }, { registry })));
    expect(outs.map((o) => o.exception ?? o.result)).toEqual(Array(50).fill('SUCCESS'));
  });

  it('names() and hasJob() are complete for concurrent first callers', async () => {
    const registry = builtinRegistry({ nodeModules: [], pluginModules: [slowPlugin('later')] });
    const [names, has, hasNot] = await Promise.all([registry.names(), registry.hasJob('later'), registry.hasJob('nothing')]);
    expect(names.jobs).toEqual(expect.arrayContaining(['js', 'ping', 'system', 'later']));
    expect([has, hasNot]).toEqual([true, false]);
    await expect(registry.assertJob('nothing')).rejects.toThrow(/^unknown job type "nothing"; known job types: .*later/);
    await expect(registry.assertJob('later')).resolves.toBeUndefined();
  });

  it('a plugin module that cannot load does not hide the others, and an unknown name says why', async () => {
    const registry = builtinRegistry({ nodeModules: [], pluginModules: [path.join(root, 'missing.mjs'), slowPlugin('kept', 0)] });
    expect((await run({ job_type: 'kept' }, { registry })).result).toBe('SUCCESS');
    const out = await run({ job_type: 'nothing' }, { registry });
    expect(out.exception).toMatch(/unknown job type "nothing"; known job types: .*kept.*; SLUICE_PLUGINS: cannot load ".*missing\.mjs"/);
  });
});

describe('plugin jobs on a fresh worker', () => {
  const t = testScope();

  it('sluice worker --concurrency 50 runs 200 plugin jobs claimed at once', async () => {
    const h = t.home();
    const store = await t.store(h);
    // Submitted before the worker starts, so its first claim hands 50 of them to a registry that has not scanned yet.
    const ids = await store.submit(Array.from({ length: 200 }, () => ({ owner: 'a', environ: { job_type: 'noop' } })));
    await t.worker({ ...h.env, SLUICE_PLUGINS: slowPlugin('noop') }, ['--concurrency', '50']);
    const ended = async () => {
      const jobs = await store.list();
      return jobs.every((j) => j.status === 'Success' || j.status === 'Failed') ? jobs : undefined;
    };
    const jobs = await until(ended, 60_000, '200 plugin jobs to end');
    expect(jobs.filter((j) => j.status !== 'Success').length).toBe(0);
    expect((await store.get(ids[199]!))!.result).toEqual({ noop: true });
  }, 90_000);
});

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Registry, run } from '../src/environ/index.js';
import { builtinRegistry } from '../src/jobs/index.js';

const root = mkdtempSync(path.join(os.tmpdir(), 'sluice-plugins-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Writes an npm package into a temporary node_modules, as `npm install` would leave it. */
function installPackage(nodeModules: string, name: string, manifest: object, files: Record<string, string>): void {
  const dir = path.join(nodeModules, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', type: 'module', ...manifest }));
  for (const [file, text] of Object.entries(files)) writeFileSync(path.join(dir, file), text);
}

describe('plugins', () => {
  const nodeModules = path.join(root, 'node_modules');
  installPackage(
    nodeModules,
    'sluice-plugin-shout',
    { sluice: { jobs: { shout: './jobs.js#shout' }, filters: { stamp: './filters.js' } } },
    {
      'jobs.js': 'export function shout(environ) { environ.shouted = String(environ.text).toUpperCase(); return environ; }',
      'filters.js': 'export default function stamp(environ) { environ.stamped = true; return environ; }',
    },
  );
  installPackage(nodeModules, '@acme/sluice-jobs', { sluice: { jobs: { acme: './a.js#run' } } }, { 'a.js': 'export const run = (e) => ({ ...e, acme: 1 });' });
  installPackage(nodeModules, 'not-a-plugin', {}, { 'index.js': 'export default 1' });
  installPackage(nodeModules, 'broken-plugin', { sluice: { jobs: { broken: './b.js#missing' } } }, { 'b.js': 'export const other = 1;' });

  it('finds jobs and filters declared in an installed package.json', async () => {
    const registry = builtinRegistry({ nodeModules: [nodeModules] });
    const out = await run({ job_type: 'shout', text: 'hi', prefilters: ['stamp'] }, { registry });
    expect(out).toMatchObject({ result: 'SUCCESS', shouted: 'HI', stamped: true });
    expect((await run({ job_type: 'acme' }, { registry })).acme).toBe(1);
    expect((await registry.names()).jobs).toEqual(expect.arrayContaining(['ping', 'system', 'js', 'shout', 'acme']));
  });

  it('finds packages in node_modules above the working folder by default', async () => {
    const project = path.join(root, 'project', 'deep');
    mkdirSync(project, { recursive: true });
    const registry = new Registry({ cwd: project, pluginModules: [] });
    const cwd = process.cwd();
    process.chdir(project);
    try {
      expect((await registry.names()).jobs).toContain('shout');
    } finally {
      process.chdir(cwd);
    }
  });

  it('a declared export that is missing is a FAILURE saying so', async () => {
    const registry = builtinRegistry({ nodeModules: [nodeModules] });
    const out = await run({ job_type: 'broken' }, { registry });
    expect(out).toMatchObject({ result: 'FAILURE', exception: expect.stringMatching(/does not export a function "missing"/) });
  });

  it('loads modules named in SLUICE_PLUGINS', async () => {
    const file = path.join(root, 'local-plugin.mjs');
    writeFileSync(file, 'export const jobs = { double: (e) => ({ ...e, doubled: e.n * 2 }) }; export const filters = { zero: (e) => ({ ...e, n: 0 }) };');
    const registry = builtinRegistry({ nodeModules: [], pluginModules: [file] });
    expect((await run({ job_type: 'double', n: 21 }, { registry })).doubled).toBe(42);
    expect((await run({ job_type: 'double', n: 21, prefilters: ['zero'] }, { registry })).doubled).toBe(0);
    const bad = builtinRegistry({ nodeModules: [], pluginModules: [path.join(root, 'missing.mjs')] });
    expect((await run({ job_type: 'nothing' }, { registry: bad })).exception).toMatch(/SLUICE_PLUGINS: cannot load/);
  });

  it('built-ins win over a plugin of the same name', async () => {
    installPackage(nodeModules, 'evil-ping', { sluice: { jobs: { ping: './p.js#ping' } } }, { 'p.js': 'export const ping = (e) => ({ ...e, pong: "evil" });' });
    const registry = builtinRegistry({ nodeModules: [nodeModules] });
    expect((await run({ job_type: 'ping', ping: 1 }, { registry })).pong).toBe(1);
  });
});

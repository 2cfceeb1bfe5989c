// The environ's file access (sioworkers' ft.download/upload): use_filetracker true / false / "auto",
// filetracker_url, and the versioned name written back after an upload.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry, run, type Environ, type JobContext } from '../../src/environ/index.js';
import { JobFiles, fileMode } from '../../src/files/index.js';
import { raw, tempDir, testServer } from './helpers.js';

let server: Awaited<ReturnType<typeof testServer>>;
let dir: ReturnType<typeof tempDir>;
let jobFiles: JobFiles;
let fileAccessFor: JobFiles['access'];
const cwd = process.cwd();

/** A job that upper-cases in_file into out_file, through ctx.files only. */
const registry = new Registry().registerJob('upper', async (environ: Environ, ctx: JobContext) => {
  const input = await ctx.files.download(environ, 'in_file', 'sub/in.txt');
  writeFileSync(path.join(ctx.tmpdir, 'out.txt'), readFileSync(input, 'utf8').toUpperCase());
  environ.out_file = await ctx.files.upload(environ, 'out_file', 'out.txt', { toRemote: environ.upload_out !== false });
  return environ;
});

beforeAll(async () => {
  dir = tempDir();
  jobFiles = new JobFiles({ cacheDir: path.join(dir.dir, 'cache') });
  fileAccessFor = jobFiles.access;
  server = await testServer();
  await raw(server.url, 'PUT', '/files/in/a.txt', { body: 'from the store' });
  mkdirSync(path.join(dir.dir, 'work', 'in'), { recursive: true });
  writeFileSync(path.join(dir.dir, 'work', 'in', 'a.txt'), 'from the disk');
  process.chdir(path.join(dir.dir, 'work'));
});
afterAll(async () => {
  process.chdir(cwd);
  jobFiles.close();
  await server.cleanup();
  dir.cleanup();
});

describe('use_filetracker', () => {
  it("defaults to the store when filetracker_url (or the configuration's SLUICE_FILES_URL) is set, else to local paths", () => {
    expect(fileMode({}).mode).toBe(false);
    expect(fileMode({ filetracker_url: 'http://x' })).toEqual({ mode: true, url: 'http://x' });
    expect(fileMode({ filetracker_url: 'http://x', use_filetracker: 'auto' }).mode).toBe('auto');
    expect(fileMode({ filetracker_url: 'http://x', use_filetracker: false }).mode).toBe(false);
    expect(fileMode({}, 'http://from-env')).toEqual({ mode: true, url: 'http://from-env' });
    expect(fileMode({ filetracker_url: 'http://x' }, 'http://from-env').url).toBe('http://x');
    expect(() => fileMode({ use_filetracker: true })).toThrow(/filetracker_url/);
    expect(() => fileMode({ use_filetracker: 'sometimes', filetracker_url: 'http://x' })).toThrow(/true, false or "auto"/);
  });

  it('true: names are store paths; the output is uploaded and replaced by its versioned name', async () => {
    const out = await run({ job_type: 'upper', filetracker_url: server.url, in_file: '/in/a.txt', out_file: '/out/a.txt' }, { registry, files: fileAccessFor });
    expect(out.result, String(out.traceback)).toBe('SUCCESS');
    expect(out.out_file).toMatch(/^\/out\/a\.txt@\d+$/);
    expect((await raw(server.url, 'GET', `/files${out.out_file}`)).text).toBe('FROM THE STORE');
  });

  it('false: names are local paths, even with a store URL', async () => {
    const out = await run(
      { job_type: 'upper', filetracker_url: server.url, use_filetracker: false, in_file: 'in/a.txt', out_file: 'out/local.txt' },
      { registry, files: fileAccessFor },
    );
    expect(out.result, String(out.traceback)).toBe('SUCCESS');
    expect(out.out_file).toBe('out/local.txt');
    expect(readFileSync(path.join(dir.dir, 'work', 'out', 'local.txt'), 'utf8')).toBe('FROM THE DISK');
    expect((await raw(server.url, 'GET', '/files/out/local.txt')).status).toBe(404);
  });

  it('"auto": absolute names from the store, relative ones from the disk', async () => {
    const out = await run(
      { job_type: 'upper', filetracker_url: server.url, use_filetracker: 'auto', in_file: '/in/a.txt', out_file: 'out/auto.txt' },
      { registry, files: fileAccessFor },
    );
    expect(out.result, String(out.traceback)).toBe('SUCCESS');
    expect(readFileSync(path.join(dir.dir, 'work', 'out', 'auto.txt'), 'utf8')).toBe('FROM THE STORE');
    const back = await run(
      { job_type: 'upper', filetracker_url: server.url, use_filetracker: 'auto', in_file: 'in/a.txt', out_file: '/out/auto.txt' },
      { registry, files: fileAccessFor },
    );
    expect(back.out_file).toMatch(/^\/out\/auto\.txt@\d+$/);
    expect((await raw(server.url, 'GET', '/files/out/auto.txt')).text).toBe('FROM THE DISK');
  });

  it('a versioned out_file gets a new version; bad names and a missing store URL fail the job with a reason', async () => {
    const first = await run({ job_type: 'upper', filetracker_url: server.url, in_file: '/in/a.txt', out_file: '/out/v.txt@5' }, { registry, files: fileAccessFor });
    expect(Number(String(first.out_file).split('@')[1])).toBeGreaterThan(5);
    const bad = await run({ job_type: 'upper', filetracker_url: server.url, in_file: '/in/../etc/passwd', out_file: '/o' }, { registry, files: fileAccessFor });
    expect(bad.result).toBe('FAILURE');
    expect(bad.exception).toMatch(/in_file.*".." component/);
    const noUrl = await run({ job_type: 'upper', use_filetracker: true, in_file: '/in/a.txt', out_file: '/o' }, { registry, files: fileAccessFor });
    expect(noUrl.exception).toMatch(/filetracker_url/);
  });
});

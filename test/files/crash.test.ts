// A crash mid-upload: the server (a child process) is SIGKILLed while a PUT streams in. After a
// restart the name still denotes the old content, whole; a new name does not exist; no partial blob
// or temporary file is left.
import { createHash } from 'node:crypto';
import http from 'node:http';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { blobsIn, childServer, raw, tempDir, type ChildServer } from './helpers.js';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Starts a PUT of `total` bytes, sends `sent` of them, and returns once `inFlight` uploads are (at least half) in tmp/. */
async function partialPut(server: ChildServer, root: string, name: string, total: number, sent: number, inFlight: number): Promise<void> {
  const url = new URL(server.url);
  const req = http.request({ host: url.hostname, port: url.port, method: 'PUT', path: `/files${name}`, headers: { 'content-length': String(total) } });
  req.on('error', () => {});
  req.write(Buffer.alloc(sent, 'p'));
  const tmp = path.join(root, 'tmp');
  const deadline = Date.now() + 10_000;
  while (readdirSync(tmp).filter((f) => statSync(path.join(tmp, f)).size >= sent / 2).length < inFlight) {
    if (Date.now() > deadline) throw new Error('the upload never reached the server');
    await new Promise((r) => setTimeout(r, 10));
  }
}

it('SIGKILL during a PUT leaves no partial file; the old version survives whole', async () => {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const root = path.join(dir, 'root');
  let server = await childServer(root);
  cleanups.push(() => server.kill('SIGKILL'));
  const original = Buffer.alloc(300_000, 'o');
  expect((await raw(server.url, 'PUT', '/files/crash/f', { body: original })).status).toBe(200);

  // Replace /crash/f and create /crash/new, both cut off halfway by a kill -9.
  await partialPut(server, root, '/crash/f', 64 * 1024 * 1024, 4 * 1024 * 1024, 1);
  await partialPut(server, root, '/crash/new', 64 * 1024 * 1024, 4 * 1024 * 1024, 2);
  expect(readdirSync(path.join(root, 'tmp'))).toHaveLength(2);
  await server.kill('SIGKILL');

  server = await childServer(root);
  const got = await raw(server.url, 'GET', '/files/crash/f');
  expect(got.status).toBe(200);
  expect(got.body.equals(original)).toBe(true);
  expect(got.headers['sha256-checksum']).toBe(sha(original));
  expect((await raw(server.url, 'GET', '/files/crash/new')).status).toBe(404);
  expect((await raw(server.url, 'GET', '/list/crash')).text).toBe('f\n');
  // The stale uploads of the dead process are gone; the only blob is the original's.
  expect(readdirSync(path.join(root, 'tmp'))).toEqual([]);
  expect(blobsIn(root)).toEqual([sha(original)]);
  // And the store works on: a full upload now succeeds.
  expect((await raw(server.url, 'PUT', '/files/crash/f', { body: 'after' })).status).toBe(200);
  expect((await raw(server.url, 'GET', '/files/crash/f')).text).toBe('after');
  expect(blobsIn(root)).toEqual([sha('after')]);
});

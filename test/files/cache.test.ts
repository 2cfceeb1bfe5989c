// The client cache: versioned names are served with no request at all; unversioned names cost one
// HEAD; LRU eviction under a size cap; a vanished blob is a miss; downloads are verified.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FilesClient, FileTracker } from '../../src/files/index.js';
import { raw, tempDir, testServer } from './helpers.js';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

let server: Awaited<ReturnType<typeof testServer>>;
let dir: ReturnType<typeof tempDir>;
/** Requests the server received (counted at the socket level, whoever sent them). */
let served = 0;
const trackers: FileTracker[] = [];

beforeEach(async () => {
  server = await testServer();
  server.app.server.on('request', () => served++);
  served = 0;
  dir = tempDir();
});
afterEach(async () => {
  for (const t of trackers.splice(0)) t.close();
  await server.cleanup();
  dir.cleanup();
});

function tracker(cacheMaxBytes?: number, cacheName = 'cache'): FileTracker {
  const t = new FileTracker({ url: server.url, cacheDir: path.join(dir.dir, cacheName), ...(cacheMaxBytes ? { cacheMaxBytes } : {}) });
  trackers.push(t);
  return t;
}

function local(name: string, content: Buffer | string): string {
  const file = path.join(dir.dir, name);
  writeFileSync(file, content);
  return file;
}

describe('cache', () => {
  it('a versioned name already in the cache is served without any request', async () => {
    const t = tracker();
    const name = await t.put(local('in.txt', 'input data'), '/tests/1/in');
    expect(name).toMatch(/^\/tests\/1\/in@\d+$/);
    const before = served;
    const requests = t.client.requests;
    for (let i = 0; i < 20; i++) {
      const got = await t.get(name, path.join(dir.dir, 'out', `copy${i}`));
      expect(got).toEqual({ name, fromCache: true });
    }
    expect(served).toBe(before);
    expect(t.client.requests).toBe(requests);
    expect(readFileSync(path.join(dir.dir, 'out', 'copy7'), 'utf8')).toBe('input data');
    // The copy is the job's own: writable, and changing it does not touch the cache.
    writeFileSync(path.join(dir.dir, 'out', 'copy7'), 'scribbled');
    await t.get(name, path.join(dir.dir, 'again'));
    expect(readFileSync(path.join(dir.dir, 'again'), 'utf8')).toBe('input data');
    expect(served).toBe(before);
  });

  it('a cold cache downloads once; later gets of the versioned name make no request', async () => {
    const uploaded = JSON.parse((await raw(server.url, 'PUT', '/files/data/x@42', { body: 'forty-two' })).text).name;
    const t = tracker();
    served = 0;
    expect(await t.get(uploaded, path.join(dir.dir, 'a'))).toEqual({ name: '/data/x@42', fromCache: false });
    expect(served).toBe(1);
    expect(await t.get('/data/x@42', path.join(dir.dir, 'b'))).toEqual({ name: '/data/x@42', fromCache: true });
    expect(served).toBe(1);
    expect(readFileSync(path.join(dir.dir, 'b'), 'utf8')).toBe('forty-two');
  });

  it('an unversioned name asks the server for the current version first (one HEAD), then uses the cache', async () => {
    await raw(server.url, 'PUT', '/files/u/f@10', { body: 'ten' });
    const t = tracker();
    expect((await t.get('/u/f', path.join(dir.dir, 'a'))).name).toBe('/u/f@10');
    served = 0;
    expect(await t.get('/u/f', path.join(dir.dir, 'b'))).toEqual({ name: '/u/f@10', fromCache: true });
    expect(served).toBe(1);
    // Replaced on the server: the next unversioned get fetches the new content ...
    await raw(server.url, 'PUT', '/files/u/f@11', { body: 'eleven' });
    served = 0;
    expect(await t.get('/u/f', path.join(dir.dir, 'c'))).toEqual({ name: '/u/f@11', fromCache: false });
    expect(readFileSync(path.join(dir.dir, 'c'), 'utf8')).toBe('eleven');
    expect(served).toBe(2);
    // ... while the old versioned name still means the old content (from the cache; the server 404s it).
    expect(await t.get('/u/f@10', path.join(dir.dir, 'd'))).toEqual({ name: '/u/f@10', fromCache: true });
    expect(readFileSync(path.join(dir.dir, 'd'), 'utf8')).toBe('ten');
    // A new name whose content is already cached (same digest): HEAD only, no download.
    await raw(server.url, 'PUT', '/files/u/copy', { body: 'eleven' });
    served = 0;
    expect((await t.get('/u/copy', path.join(dir.dir, 'e'))).fromCache).toBe(true);
    expect(served).toBe(1);
  });

  it('least recently used blobs are evicted above the size cap', async () => {
    const KB = 1024;
    const t = tracker(350 * KB);
    const names: Record<string, string> = {};
    for (const k of ['a', 'b', 'c']) names[k] = await t.put(local(k, randomBytes(100 * KB)), `/lru/${k}`);
    expect(t.cache!.stats()).toEqual({ bytes: 300 * KB, entries: 3 });
    await t.get(names.a!, path.join(dir.dir, 'use-a')); // a is now the most recently used
    names.d = await t.put(local('d', randomBytes(100 * KB)), '/lru/d');
    expect(t.cache!.stats()).toEqual({ bytes: 300 * KB, entries: 3 });
    const cached = (k: string) => t.cache!.has(`/lru/${k}`, Number(names[k]!.split('@')[1]));
    expect(['a', 'b', 'c', 'd'].filter(cached)).toEqual(['a', 'c', 'd']);
    // b is fetched again from the server, evicting c (now the least recently used).
    served = 0;
    expect((await t.get(names.b!, path.join(dir.dir, 'b-again'))).fromCache).toBe(false);
    expect(served).toBe(1);
    expect(['a', 'b', 'c', 'd'].filter(cached)).toEqual(['a', 'b', 'd']);
    // A file larger than the whole cache is delivered but not cached.
    const big = await t.put(local('big', randomBytes(400 * KB)), '/lru/big');
    expect(t.cache!.stats().bytes).toBeLessThanOrEqual(350 * KB);
    expect((await t.get(big, path.join(dir.dir, 'big-copy'))).fromCache).toBe(false);
    expect(readFileSync(path.join(dir.dir, 'big-copy')).equals(readFileSync(path.join(dir.dir, 'big')))).toBe(true);
  });

  it('a blob that vanished from the cache is a miss, not an error', async () => {
    const t = tracker();
    const name = await t.put(local('v', 'vanishing'), '/v/f');
    const blobs = path.join(dir.dir, 'cache', 'blobs');
    for (const p of readdirSync(blobs)) rmSync(path.join(blobs, p), { recursive: true });
    served = 0;
    expect(await t.get(name, path.join(dir.dir, 'v-copy'))).toEqual({ name, fromCache: false });
    expect(served).toBe(1);
    expect(readFileSync(path.join(dir.dir, 'v-copy'), 'utf8')).toBe('vanishing');
  });

  it('toRemote false keeps a file in the cache only, under a versioned name', async () => {
    const t = tracker();
    served = 0;
    const name = await t.put(local('o', 'local output'), '/out/o', { toRemote: false });
    expect(served).toBe(0);
    expect((await raw(server.url, 'GET', '/files/out/o')).status).toBe(404);
    expect(await t.get(name, path.join(dir.dir, 'o-copy'))).toEqual({ name, fromCache: true });
    expect(readFileSync(path.join(dir.dir, 'o-copy'), 'utf8')).toBe('local output');
  });

  it('two trackers on one cache folder (two worker processes) share it', async () => {
    const a = tracker(undefined, 'shared');
    const b = tracker(undefined, 'shared');
    const name = await a.put(local('s', 'shared'), '/s/f');
    served = 0;
    expect((await b.get(name, path.join(dir.dir, 's-copy'))).fromCache).toBe(true);
    expect(served).toBe(0);
  });
});

describe('client', () => {
  it('gzip in both directions when asked (as for a remote server)', async () => {
    const client = new FilesClient({ url: server.url, gzip: true });
    try {
      const text = Buffer.from('compressible line\n'.repeat(50_000));
      const put = await client.upload(text, '/gz/file');
      expect(put).toMatchObject({ size: text.length, sha256: sha(text), applied: true });
      const dest = path.join(dir.dir, 'gz');
      await client.download('/gz/file', dest);
      expect(readFileSync(dest).equals(text)).toBe(true);
    } finally {
      client.close();
    }
  });

  it('a download whose content does not match the announced digest is refused and leaves no file', async () => {
    // A server that lies about the checksum.
    const liar = http.createServer((_req, res) => {
      res.writeHead(200, { 'last-modified': new Date(5000).toUTCString(), 'logical-size': '5', 'sha256-checksum': sha('other') });
      res.end('hello');
    });
    await new Promise<void>((r) => liar.listen(0, '127.0.0.1', r));
    const client = new FilesClient({ url: `http://127.0.0.1:${(liar.address() as { port: number }).port}` });
    try {
      const dest = path.join(dir.dir, 'lie', 'f');
      await expect(client.download('/x', dest)).rejects.toThrow(/corrupt/);
      expect(existsSync(dest)).toBe(false);
      expect(readdirSync(path.dirname(dest))).toEqual([]);
    } finally {
      client.close();
      liar.close();
    }
  });

  it('errors carry the server reason; an unreachable server says so', async () => {
    const client = new FilesClient({ url: server.url });
    try {
      await expect(client.download('/nope', path.join(dir.dir, 'nope'))).rejects.toThrow(/no file "\/nope"/);
      await expect(client.upload(Buffer.from('x'), 'relative')).rejects.toThrow(/absolute/);
      expect(await client.stat('/nope')).toBeUndefined();
      expect(await client.protocolVersions()).toEqual([2]);
    } finally {
      client.close();
    }
    const dead = new FilesClient({ url: 'http://127.0.0.1:1' });
    await expect(dead.stat('/x')).rejects.toThrow(/cannot reach the file store at http:\/\/127.0.0.1:1: ECONNREFUSED/);
    dead.close();
  });
});

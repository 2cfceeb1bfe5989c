// Content-addressed storage: identical contents stored once, concurrent writers end with one whole
// version, readers never see a half-written file, and reference counts free blobs exactly when unused.
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FileStorage } from '../../src/files/index.js';
import { blobsIn, raw, tempDir, testServer, versionOf } from './helpers.js';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

let server: Awaited<ReturnType<typeof testServer>>;
beforeEach(async () => {
  server = await testServer();
});
afterEach(async () => server.cleanup());

describe('deduplication', () => {
  it('two paths with one content share one blob; the blob goes when the last name goes', async () => {
    const content = randomBytes(100_000);
    expect((await raw(server.url, 'PUT', '/files/a/one', { body: content })).status).toBe(200);
    expect((await raw(server.url, 'PUT', '/files/b/two', { body: content })).status).toBe(200);
    expect(blobsIn(server.root)).toEqual([sha(content)]);
    expect(readFileSync(path.join(server.root, 'blobs', sha(content).slice(0, 2), sha(content))).equals(content)).toBe(true);
    expect(server.storage.counts()).toEqual({ files: 2, blobs: 1, bytes: content.length });
    expect((await raw(server.url, 'DELETE', '/files/a/one')).status).toBe(200);
    expect(blobsIn(server.root)).toHaveLength(1);
    expect((await raw(server.url, 'GET', '/files/b/two')).body.equals(content)).toBe(true);
    expect((await raw(server.url, 'DELETE', '/files/b/two')).status).toBe(200);
    expect(blobsIn(server.root)).toEqual([]);
  });

  it('replacing a file frees its old blob unless another name still uses it', async () => {
    await raw(server.url, 'PUT', '/files/r/x', { body: 'v1' });
    await raw(server.url, 'PUT', '/files/r/y', { body: 'v1' });
    await raw(server.url, 'PUT', '/files/r/x', { body: 'v2' });
    expect(blobsIn(server.root).sort()).toEqual([sha('v1'), sha('v2')].sort());
    await raw(server.url, 'PUT', '/files/r/y', { body: 'v3' });
    expect(blobsIn(server.root).sort()).toEqual([sha('v2'), sha('v3')].sort());
    // Rewriting the same content under the same name keeps one reference.
    await raw(server.url, 'PUT', '/files/r/y', { body: 'v3' });
    await raw(server.url, 'DELETE', '/files/r/y');
    expect(blobsIn(server.root)).toEqual([sha('v2')]);
  });
});

describe('concurrency', () => {
  it('concurrent unversioned writers to one path end with one whole version and one blob', async () => {
    const contents = Array.from({ length: 16 }, () => randomBytes(256 * 1024));
    const results = await Promise.all(contents.map((body) => raw(server.url, 'PUT', '/files/c/same', { body })));
    expect(results.every((r) => r.status === 200)).toBe(true);
    const final = await raw(server.url, 'GET', '/files/c/same');
    expect(contents.some((c) => c.equals(final.body))).toBe(true);
    expect(final.headers['sha256-checksum']).toBe(sha(final.body));
    // Every write took effect in turn, each with its own version; the last one holds the name.
    const versions = results.map(versionOf);
    expect(new Set(versions).size).toBe(16);
    expect(versionOf(final)).toBe(Math.max(...versions));
    expect(blobsIn(server.root)).toEqual([sha(final.body)]);
    expect(blobsIn(server.root)).toHaveLength(1);
  });

  it('concurrent versioned writers arriving in any order: the highest version wins', async () => {
    const order = [7, 3, 12, 1, 9, 15, 4, 11, 2, 14, 6, 10, 13, 5, 8, 16];
    await Promise.all(order.map((v) => raw(server.url, 'PUT', `/files/c/versioned@${v}`, { body: `content ${v} `.repeat(20_000) })));
    const final = await raw(server.url, 'GET', '/files/c/versioned');
    expect(versionOf(final)).toBe(16);
    expect(final.text).toBe('content 16 '.repeat(20_000));
    expect(blobsIn(server.root)).toEqual([sha(final.body)]);
  });

  it('while an upload is in flight, readers see the previous version whole', async () => {
    await raw(server.url, 'PUT', '/files/slow/f', { body: 'old content' });
    const url = new URL(server.url);
    const req = http.request({ host: url.hostname, port: url.port, method: 'PUT', path: '/files/slow/f', headers: { 'content-length': String(2 * 1024 * 1024) } });
    const answered = new Promise<number>((resolve, reject) => {
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
    });
    req.write(Buffer.alloc(1024 * 1024, 'n'));
    // The first half is on the server (in tmp/), the name still denotes the old content.
    const tmp = path.join(server.root, 'tmp');
    for (let i = 0; i < 200 && !readdirSync(tmp).some((f) => statSync(path.join(tmp, f)).size > 0); i++) await new Promise((r) => setTimeout(r, 10));
    expect(readdirSync(tmp)).toHaveLength(1);
    const during = await raw(server.url, 'GET', '/files/slow/f');
    expect(during.text).toBe('old content');
    req.end(Buffer.alloc(1024 * 1024, 'n'));
    expect(await answered).toBe(200);
    const after = await raw(server.url, 'GET', '/files/slow/f');
    expect(after.body.equals(Buffer.alloc(2 * 1024 * 1024, 'n'))).toBe(true);
    expect(readdirSync(tmp)).toEqual([]);
  });
});

describe('two storage processes on one root', () => {
  it('two FileStorage instances (as two servers would) keep one consistent index', async () => {
    const { dir, cleanup } = tempDir();
    const a = new FileStorage(dir, { fsync: false });
    const b = new FileStorage(dir, { fsync: false });
    try {
      const { Readable } = await import('node:stream');
      const ingest = (s: FileStorage, text: string) => s.ingest(Readable.from([Buffer.from(text)]));
      a.commit('/x', 5, await ingest(a, 'from a'));
      expect(b.commit('/x', 4, await ingest(b, 'from b')).applied).toBe(false);
      expect(b.commit('/x', 6, await ingest(b, 'from b')).applied).toBe(true);
      expect(a.get('/x')).toMatchObject({ version: 6, sha256: sha('from b') });
      expect(blobsIn(dir)).toEqual([sha('from b')]);
      // fsck finds nothing to repair in a consistent store.
      expect(a.fsck()).toEqual({ orphansRemoved: 0, missing: [] });
    } finally {
      a.close();
      b.close();
      cleanup();
    }
  });
});

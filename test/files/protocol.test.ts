// The filetracker v2 protocol, checked with a plain HTTP client (node:http, paths sent as written),
// not through our own client: versions out of order, listing cutoffs, deletes, HEAD, gzip, errors.
import Fastify from 'fastify';
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { filesRoutes, startFileServer } from '../../src/files/index.js';
import { blobsIn, raw, tempDir, testServer, versionOf } from './helpers.js';

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
const date = (v: number) => new Date(v * 1000).toUTCString();
/** Python's email.utils.formatdate(v): what the filetracker client sends. */
const rfc2822 = (v: number) => date(v).replace('GMT', '-0000');

let server: Awaited<ReturnType<typeof testServer>>;
let url: string;

beforeAll(async () => {
  server = await testServer();
  url = server.url;
});
afterAll(async () => server.cleanup());

const put = (path: string, body: string | Buffer, headers: Record<string, string> = {}) => raw(url, 'PUT', `/files${path}`, { body, headers });
const get = (path: string, headers: Record<string, string> = {}) => raw(url, 'GET', `/files${path}`, { headers });

describe('filetracker protocol v2', () => {
  it('GET /version lists protocol 2', async () => {
    const res = await raw(url, 'GET', '/version');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ protocol_versions: [2] });
  });

  it('PUT then GET and HEAD: Last-Modified carries the version, Logical-Size and SHA256-Checksum describe the content', async () => {
    const r = await put(`/p/a.txt?last_modified=${encodeURIComponent(rfc2822(1000))}`, 'hello');
    expect(r.status).toBe(200);
    expect(versionOf(r)).toBe(1000);
    const g = await get('/p/a.txt', { 'accept-encoding': 'identity' });
    expect(g.status).toBe(200);
    expect(g.text).toBe('hello');
    expect(versionOf(g)).toBe(1000);
    expect(g.headers['logical-size']).toBe('5');
    expect(g.headers['sha256-checksum']).toBe(sha('hello'));
    expect(g.headers['content-length']).toBe('5');
    const h = await raw(url, 'HEAD', '/files/p/a.txt');
    expect(h.status).toBe(200);
    expect(h.body.length).toBe(0);
    expect(versionOf(h)).toBe(1000);
    expect(h.headers['logical-size']).toBe('5');
    expect(h.headers['sha256-checksum']).toBe(sha('hello'));
    expect((await raw(url, 'HEAD', '/files/p/missing')).status).toBe(404);
    expect((await raw(url, 'HEAD', '/files/p/a.txt@999')).status).toBe(404);
    expect((await raw(url, 'HEAD', '/files/p/a.txt@1000')).status).toBe(200);
  });

  it('gzip transfer: a gzip body is stored decompressed; a client that accepts gzip gets gzip', async () => {
    const text = 'line of text\n'.repeat(10_000);
    const r = await put('/gz/t', gzipSync(text), { 'content-encoding': 'gzip', 'logical-size': String(text.length), 'sha256-checksum': sha(text) });
    expect(r.status).toBe(200);
    const g = await get('/gz/t', { 'accept-encoding': 'gzip' });
    expect(g.headers['content-encoding']).toBe('gzip');
    expect(g.body.length).toBeLessThan(text.length / 10);
    expect(gunzipSync(g.body).toString()).toBe(text);
    expect(g.headers['logical-size']).toBe(String(text.length));
    const plain = await get('/gz/t');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.text).toBe(text);
  });

  it('a declared checksum or size that does not match the body is refused and nothing is stored', async () => {
    const bad = await put('/chk/a', 'abc', { 'sha256-checksum': sha('abd') });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text).error).toMatch(/SHA256-Checksum/);
    expect(bad.headers['x-exception']).toMatch(/SHA256-Checksum/);
    const badSize = await put('/chk/a', 'abc', { 'logical-size': '4' });
    expect(badSize.status).toBe(400);
    expect((await get('/chk/a')).status).toBe(404);
    expect((await put('/chk/a', 'not gzip', { 'content-encoding': 'gzip' })).status).toBe(400);
    expect((await get('/chk/a')).status).toBe(404);
  });

  it('versions out of order: @1, @2, then @1 with new content keeps version 2; GET @1 is 404', async () => {
    expect(versionOf(await put('/v/f@1', 'one'))).toBe(1);
    expect(versionOf(await put('/v/f@2', 'two'))).toBe(2);
    const stale = await put('/v/f@1', 'one again');
    expect(stale.status).toBe(200);
    expect(versionOf(stale)).toBe(2);
    expect(JSON.parse(stale.text).applied).toBe(false);
    expect((await get('/v/f')).text).toBe('two');
    expect((await get('/v/f@2')).text).toBe('two');
    const gone = await get('/v/f@1');
    expect(gone.status).toBe(404);
    expect(JSON.parse(gone.text).error).toMatch(/version 1/);
    // ?last_modified= is the same as @: an older one changes nothing, a newer one replaces.
    expect(versionOf(await put(`/v/f?last_modified=${encodeURIComponent(rfc2822(1))}`, 'x'))).toBe(2);
    expect(versionOf(await put('/v/f?last_modified=3', 'three'))).toBe(3);
    expect((await get('/v/f')).text).toBe('three');
    // An equal version replaces (filetracker's rule: only an older one is ignored).
    expect(versionOf(await put('/v/f@3', 'three bis'))).toBe(3);
    expect((await get('/v/f')).text).toBe('three bis');
    // Conflicting versions in the name and the query are refused.
    expect((await put('/v/f@4?last_modified=5', 'x')).status).toBe(400);
  });

  it('a write without a version is stamped now', async () => {
    const before = Math.floor(Date.now() / 1000);
    const r = await put('/now/f', 'x');
    const after = Math.floor(Date.now() / 1000);
    expect(versionOf(r)).toBeGreaterThanOrEqual(before);
    expect(versionOf(r)).toBeLessThanOrEqual(after);
    // Two unversioned writes in the same second still get distinct versions (a versioned name means one content).
    const r2 = await put('/now/f', 'y');
    expect(versionOf(r2)).toBeGreaterThan(versionOf(r));
  });

  it('/list honours its last_modified cutoff (versions 1, 100, 200)', async () => {
    await put('/l/A@1', 'a');
    await put('/l/sub/B@100', 'b');
    await put('/l/C@200', 'c');
    const list = async (cutoff: number) => {
      const res = await raw(url, 'GET', `/list/l?last_modified=${encodeURIComponent(rfc2822(cutoff))}`);
      expect(res.status).toBe(200);
      return res.text.split('\n').filter(Boolean).sort();
    };
    expect(await list(0)).toEqual([]);
    expect(await list(1)).toEqual(['A']);
    expect(await list(100)).toEqual(['A', 'sub/B']);
    expect(await list(200)).toEqual(['A', 'C', 'sub/B']);
    // Default cutoff: now. JSON on request.
    const json = await raw(url, 'GET', '/list/l/', { headers: { accept: 'application/json' } });
    expect(JSON.parse(json.text).map((e: { name: string; version: number }) => [e.name, e.version])).toEqual([['A', 1], ['C', 200], ['sub/B', 100]]);
    // A file is not a folder; a missing folder is 404.
    expect((await raw(url, 'GET', '/list/l/A')).status).toBe(400);
    expect((await raw(url, 'GET', '/list/nothing-here')).status).toBe(404);
    const all = await raw(url, 'GET', '/list/');
    expect(all.text.split('\n')).toContain('l/sub/B');
  });

  it('DELETE: 404 for a missing file; an older version changes nothing; empty folders disappear', async () => {
    const missing = await raw(url, 'DELETE', '/files/d/missing');
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.text).error).toMatch(/no file/);
    await put('/d/sub/f@50', 'x');
    const older = await raw(url, 'DELETE', `/files/d/sub/f?last_modified=${encodeURIComponent(rfc2822(49))}`);
    expect(older.status).toBe(200);
    expect(versionOf(older)).toBe(50);
    expect(JSON.parse(older.text).removed).toBe(false);
    expect((await get('/d/sub/f')).text).toBe('x');
    const ok = await raw(url, 'DELETE', '/files/d/sub/f@50');
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text).removed).toBe(true);
    expect((await get('/d/sub/f')).status).toBe(404);
    expect((await raw(url, 'GET', '/list/d/sub')).status).toBe(404);
    expect((await raw(url, 'GET', '/list/d')).status).toBe(404);
    expect((await raw(url, 'DELETE', '/files/d/sub/f')).status).toBe(404);
  });

  it('a name is a file or a folder, not both', async () => {
    await put('/tree/a', 'file');
    const under = await put('/tree/a/b', 'x');
    expect(under.status).toBe(409);
    expect(JSON.parse(under.text).error).toMatch(/is a file/);
    await put('/tree2/a/b', 'x');
    expect((await put('/tree2/a', 'x')).status).toBe(409);
  });

  it('empty files, and names with spaces, unicode and percent signs', async () => {
    expect((await put('/e/empty', '')).status).toBe(200);
    const e = await get('/e/empty');
    expect(e.status).toBe(200);
    expect(e.body.length).toBe(0);
    expect(e.headers['sha256-checksum']).toBe(sha(''));
    const name = `/e/${encodeURIComponent('zażółć 100%.txt')}`;
    expect((await put(name, 'pl')).status).toBe(200);
    expect((await get(name)).text).toBe('pl');
    const listing = await raw(url, 'GET', '/list/e');
    expect(listing.text).toContain('zażółć 100%.txt');
  });

  it('unknown endpoints answer with a reason', async () => {
    const res = await raw(url, 'GET', '/nope');
    expect(res.status).toBe(404);
    expect(JSON.parse(res.text).error).toMatch(/no such endpoint/);
  });
});

describe('bearer token', () => {
  it('with --token every request needs it; loopback is open by default; a public address needs a token', async () => {
    const s = await testServer({ token: 's3cret' });
    try {
      expect((await raw(s.url, 'GET', '/version')).status).toBe(401);
      const wrong = await raw(s.url, 'PUT', '/files/x', { body: 'x', headers: { authorization: 'Bearer nope' } });
      expect(wrong.status).toBe(401);
      expect(JSON.parse(wrong.text).error).toMatch(/wrong/);
      expect((await raw(s.url, 'GET', '/files/x', { headers: { authorization: 'Bearer s3cret' } })).status).toBe(404);
      expect(s.storage.counts().files).toBe(0);
      expect((await raw(s.url, 'PUT', '/files/x', { body: 'x', headers: { authorization: 'Bearer s3cret' } })).status).toBe(200);
    } finally {
      await s.cleanup();
    }
    const { dir, cleanup } = tempDir();
    try {
      await expect(startFileServer({ root: dir, host: '0.0.0.0', port: 0 })).rejects.toThrow(/needs a token/);
    } finally {
      cleanup();
    }
  });
});

describe('mounting', () => {
  it('the routes mount under a prefix of another fastify server', async () => {
    const { dir, cleanup } = tempDir();
    const app = Fastify();
    app.post('/echo', async (request) => request.body);
    await app.register(filesRoutes, { prefix: '/ft', root: dir });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    try {
      expect((await raw(base, 'PUT', '/ft/files/m/x@7', { body: 'mounted' })).status).toBe(200);
      expect((await raw(base, 'GET', '/ft/files/m/x')).text).toBe('mounted');
      expect((await raw(base, 'GET', '/ft/list/m')).text).toBe('x\n');
      // The plugin's body handling stays inside it: the host's JSON parsing is untouched.
      const echo = await raw(base, 'POST', '/echo', { body: '{"a":1}', headers: { 'content-type': 'application/json' } });
      expect(JSON.parse(echo.text)).toEqual({ a: 1 });
      expect(blobsIn(dir)).toHaveLength(1);
    } finally {
      await app.close();
      cleanup();
    }
  });
});

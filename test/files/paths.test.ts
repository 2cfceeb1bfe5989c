// Path validation: every traversal attempt is a 400 with a reason, and nothing outside the root is
// ever read or written (the store's parent folder holds a decoy that must stay untouched and unread).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseDir, parseName, parseVersion, startFileServer, type FileServer } from '../../src/files/index.js';
import { raw, tempDir, treeOf } from './helpers.js';

describe('names', () => {
  it('accepts absolute paths with an optional integer version in the last component', () => {
    expect(parseName('/a/b')).toEqual({ path: '/a/b' });
    expect(parseName('/a/b@17')).toEqual({ path: '/a/b', version: 17 });
    expect(parseName('/a/b.c-d_e f')).toEqual({ path: '/a/b.c-d_e f' });
    expect(parseDir('/')).toBe('/');
    expect(parseDir('/a/')).toBe('/a');
  });

  it.each([
    ['', /empty/],
    ['a/b', /absolute/],
    ['/', /root folder/],
    ['/a/../b', /"\.\." component/],
    ['/..', /"\.\." component/],
    ['/a/./b', /"\." component/],
    ['/a//b', /empty component/],
    ['/a/b/', /empty component/],
    ['/a\u0000b', /control character/],
    ['/a\nb', /control character/],
    ['/a@1/b', /"@"/],
    ['/a/b@x', /bad version/],
    ['/a/b@1@2', /bad version|"@"/],
    ['/a/b@-1', /bad version/],
    ['/a/b@99999999999999', /bad version/],
    [`/${'x'.repeat(256)}`, /component longer/],
    [`/${'abcdefgh/'.repeat(120)}x`, /longer than 1024/],
  ])('refuses %j', (name, reason) => {
    expect(() => parseName(name)).toThrow(reason);
  });

  it('parses versions as RFC 2822 dates or seconds', () => {
    expect(parseVersion('Thu, 01 Jan 1970 00:01:40 -0000')).toBe(100);
    expect(parseVersion('Thu, 01 Jan 1970 00:01:40 GMT')).toBe(100);
    expect(parseVersion('100')).toBe(100);
    expect(parseVersion('100.9')).toBe(100);
    expect(() => parseVersion('yesterday')).toThrow(/neither/);
  });
});

describe('traversal attempts over HTTP', () => {
  let server: FileServer;
  let parent: ReturnType<typeof tempDir>;
  let decoy: string;

  beforeAll(async () => {
    parent = tempDir();
    decoy = path.join(parent.dir, 'secret.txt');
    writeFileSync(decoy, 'do not read me');
    server = await startFileServer({ root: path.join(parent.dir, 'root'), port: 0, fsync: false });
  });
  afterAll(async () => {
    await server.close();
    parent.cleanup();
  });

  const attempts = [
    '/files/../secret.txt',
    '/files/a/../../secret.txt',
    '/files/a/%2e%2e/%2e%2e/secret.txt',
    '/files/%2e%2e%2fsecret.txt',
    '/files/..%2f..%2fsecret.txt',
    '/files//etc/passwd',
    '/files/a%00b',
    '/files/a%0ab',
    '/files/a/./b',
    '/files/',
    '/files/a@1/b',
    '/files/a/b@oops',
    `/files/${'y'.repeat(300)}`,
    `/files/${'abcdefgh/'.repeat(130)}z`,
  ];

  it.each(attempts)('%s is refused with a reason, for every method', async (p) => {
    for (const method of ['GET', 'HEAD', 'PUT', 'DELETE']) {
      const res = await raw(server.url, method, p, method === 'PUT' ? { body: 'pwned' } : {});
      expect(res.status, `${method} ${p}`).toBe(400);
      if (method !== 'HEAD') expect(JSON.parse(res.text).error.length).toBeGreaterThan(5);
      expect(String(res.headers['x-exception'] ?? '')).not.toBe('');
    }
  });

  it('listing outside the root is refused too', async () => {
    for (const p of ['/list/..', '/list/a/../..', '/list/%2e%2e', '/list//x', '/list/a@1']) {
      const res = await raw(server.url, 'GET', p);
      expect(res.status, p).toBe(400);
    }
  });

  it('after all of that, nothing was written anywhere and the decoy is intact', async () => {
    expect(readFileSync(decoy, 'utf8')).toBe('do not read me');
    expect(treeOf(parent.dir).filter((f) => !f.startsWith('root/meta.db'))).toEqual(['secret.txt']);
    expect(server.storage.counts()).toEqual({ files: 0, blobs: 0, bytes: 0 });
  });
});

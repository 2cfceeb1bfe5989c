import { describe, expect, it } from 'vitest';
import { BACKENDS } from './helpers/backends.js';
import { api } from './helpers/server.js';
import { testScope } from './helpers/scope.js';

const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
const job = (environ: unknown, extra = '') => `{"environ": ${JSON.stringify(environ)}${extra}}`;
const pings = (n: number) => JSON.stringify({ jobs: Array.from({ length: n }, () => ({ environ: { job_type: 'ping' } })) });

/**
 * Malformed requests (wrong types, huge arrays, deep nesting, invalid UTF-8, truncated JSON, wrong
 * content types): each is answered with a JSON error and its status, the server stays healthy, and
 * no job, or part of one, is stored.
 */
const CASES: Array<[string, string | Buffer, string | null, number, string]> = [
  ['text/plain', job({ job_type: 'ping' }), 'text/plain', 415, 'unsupported_media_type'],
  ['a form', 'environ=ping', 'application/x-www-form-urlencoded', 415, 'unsupported_media_type'],
  ['multipart', '--x\r\n\r\n--x--', 'multipart/form-data; boundary=x', 415, 'unsupported_media_type'],
  ['a body without a content type', job({ job_type: 'ping' }), null, 415, 'unsupported_media_type'],
  ['an empty body', '', 'application/json', 400, 'bad_request'],
  ['whitespace', '   \n', 'application/json', 400, 'bad_request'],
  ['truncated JSON', '{"environ": {"job_type": "pi', 'application/json', 400, 'bad_request'],
  ['a trailing comma', '{"environ": {"job_type": "ping",}}', 'application/json', 400, 'bad_request'],
  ['random bytes', Buffer.from([0x7b, 0x00, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0x7d]), 'application/json', 400, 'bad_request'],
  ['invalid UTF-8 in a string', Buffer.concat([Buffer.from('{"environ": {"job_type": "ping", "x": "'), Buffer.from([0xff, 0xfe, 0xc0, 0xaf]), Buffer.from('"}}')]), 'application/json', 400, 'bad_request'],
  ['an overlong UTF-8 slash', Buffer.concat([Buffer.from('{"environ": {"job_type": "ping", "p": "'), Buffer.from([0xc0, 0xaf]), Buffer.from('"}}')]), 'application/json; charset=utf-8', 400, 'bad_request'],
  ['a lone surrogate, encoded', Buffer.concat([Buffer.from('{"environ": {"job_type": "ping", "s": "'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}}')]), 'application/json', 400, 'bad_request'],
  ['an array', '[]', 'application/json', 400, 'bad_request'],
  ['a string', '"ping"', 'application/json', 400, 'bad_request'],
  ['null', 'null', 'application/json', 400, 'bad_request'],
  ['a number', '42', 'application/json', 400, 'bad_request'],
  ['no environ', '{"name": "x"}', 'application/json', 400, 'bad_request'],
  ['environ a string', job('ping'), 'application/json', 400, 'bad_request'],
  ['environ an array', job(['ping']), 'application/json', 400, 'bad_request'],
  ['environ null', job(null), 'application/json', 400, 'bad_request'],
  ['no job_type', job({ ping: 1 }), 'application/json', 400, 'bad_request'],
  ['job_type a number', job({ job_type: 7 }), 'application/json', 400, 'bad_request'],
  ['job_type with a NUL', job({ job_type: 'ping\u0000' }), 'application/json', 400, 'bad_request'],
  ['tags a string', job({ job_type: 'ping' }, ', "tags": "x"'), 'application/json', 400, 'bad_request'],
  ['tags of numbers', job({ job_type: 'ping' }, ', "tags": [1, 2]'), 'application/json', 400, 'bad_request'],
  ['priority a fraction', job({ job_type: 'ping' }, ', "priority": 1.5'), 'application/json', 400, 'bad_request'],
  ['priority a string', job({ job_type: 'ping' }, ', "priority": "high"'), 'application/json', 400, 'bad_request'],
  ['an unknown class', job({ job_type: 'ping' }, ', "class": "vip"'), 'application/json', 400, 'bad_request'],
  ['inputs an object', job({ job_type: 'ping' }, ', "inputs": {}'), 'application/json', 400, 'bad_request'],
  ['inputs empty', job({ job_type: 'ping' }, ', "inputs": []'), 'application/json', 400, 'bad_request'],
  ['negative retries', job({ job_type: 'ping' }, ', "retries": -1'), 'application/json', 400, 'bad_request'],
  ['run_after not a time', job({ job_type: 'ping' }, ', "run_after": "tomorrow"'), 'application/json', 400, 'bad_request'],
  ['a callback that is not http', job({ job_type: 'ping' }, ', "callback_url": "file:///etc/passwd"'), 'application/json', 400, 'bad_request'],
  ['an empty owner', job({ job_type: 'ping' }, ', "owner": ""'), 'application/json', 400, 'bad_request'],
  ['a pool with a slash', job({ job_type: 'ping' }, ', "pool": "a/b"'), 'application/json', 400, 'bad_request'],
  ['an unknown field', job({ job_type: 'ping' }, ', "colour": "red"'), 'application/json', 400, 'bad_request'],
  ['__proto__', job({ job_type: 'ping' }, ', "__proto__": {"polluted": true}'), 'application/json', 400, 'bad_request'],
  ['jobs not a list', '{"jobs": "many"}', 'application/json', 400, 'bad_request'],
  ['jobs empty', '{"jobs": []}', 'application/json', 400, 'bad_request'],
  ['jobs and more', `{"jobs": [${job({ job_type: 'ping' })}], "name": "x"}`, 'application/json', 400, 'bad_request'],
  ['one bad job among good ones', `{"jobs": [${job({ job_type: 'ping' })}, ${job({ job_type: 'ping' })}, ${job({ job_type: 'nope' })}]}`, 'application/json', 400, 'bad_request'],
  ['one bad group among good ones', `{"jobs": [${job({ job_type: 'ping' }, ', "group": "fuzz/a"')}, ${job({ job_type: 'ping' }, `, "group": "fuzz/${'b'.repeat(201)}"`)}]}`, 'application/json', 400, 'bad_request'],
  ['more jobs than a batch takes', pings(101), 'application/json', 413, 'too_large'],
  ['more inputs than a map job takes', job({ job_type: 'ping' }, `, "inputs": ${JSON.stringify(Array.from({ length: 101 }, (_, i) => i))}`), 'application/json', 413, 'too_large'],
  ['a body over the limit', job({ job_type: 'ping', blob: 'x'.repeat(2 << 20) }), 'application/json', 413, 'too_large'],
  ['an environ over its limit', job({ job_type: 'ping', blob: 'x'.repeat(600 << 10) }), 'application/json', 400, 'bad_request'],
  ['nesting deeper than 256', job({ job_type: 'ping', deep: JSON.parse(deep(300)) }), 'application/json', 400, 'bad_request'],
  ['nesting 100,000 deep', `{"environ": {"job_type": "ping", "deep": ${deep(100_000)}}}`, 'application/json', 400, 'bad_request'],
  ['a huge flat array', job({ job_type: 'ping', many: Array.from({ length: 300_000 }, () => 0) }), 'application/json', 400, 'bad_request'],
];

describe.each(BACKENDS)('malformed requests on $name', (backend) => {
  const t = testScope(backend);

  it('each is a JSON error with its status; the server stays healthy and stores nothing', async () => {
    const h = t.home({ SLUICE_MAX_BATCH: '100', SLUICE_MAX_BODY: String(1 << 20), SLUICE_MAX_ENVIRON: String(512 << 10) });
    const server = await t.serve(h.env, ['--no-workers']);
    for (const [name, body, type, status, error] of CASES) {
      const response = await fetch(`${server.url}/api/v1/jobs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.token}`, ...(type ? { 'content-type': type } : {}) },
        body,
      });
      const text = await response.text();
      let parsed: { error?: string; message?: string } = {};
      try {
        parsed = JSON.parse(text);
      } catch {
        // checked below
      }
      expect({ name, status: response.status, error: parsed.error, json: response.headers.get('content-type') }).toEqual({ name, status, error, json: 'application/json; charset=utf-8' });
      expect(parsed.message, name).toMatch(/\S/);
    }
    // The same guards on the other routes that read a body.
    const { body } = await api(server.url, server.token, 'POST', '/api/v1/jobs', { environ: { job_type: 'ping' }, tags: ['kept'] });
    for (const [raw, status] of [[Buffer.from([0x22, 0xff, 0x22]), 400], ['{"a":', 400], [deep(1000), 400]] as const) {
      const r = await fetch(`${server.url}/api/v1/jobs/${body.id}/control`, { method: 'POST', headers: { authorization: `Bearer ${server.token}`, 'content-type': 'application/json' }, body: raw });
      expect(r.status).toBe(status);
    }
    expect((await api(server.url, server.token, 'PATCH', '/api/v1/users/admin', '{"role": ', { 'content-type': 'application/json' })).status).toBe(400);
    expect((await api(server.url, server.token, 'PUT', '/api/v1/fairshare/x', { share: 'lots' })).status).toBe(400);
    expect((await api(server.url, server.token, 'POST', '/api/v1/waiting', { ids: Array.from({ length: 5000 }, () => 'x') })).status).toBe(400);
    expect(await api(server.url, null, 'GET', '/healthz')).toMatchObject({ status: 200 });
    const all = await api(server.url, server.token, 'GET', '/api/v1/jobs?kind=any');
    // Only the one good job (and its owner's root group) was stored; no group of a refused batch either.
    expect(all.body.jobs.map((n: { type: string; name: string }) => [n.type, n.name])).toEqual([['group', 'admin'], ['job', 'admin-ping']]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  }, 120_000);
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { sluice } from './helpers/cli.js';
import { BACKENDS, SQLITE } from './helpers/backends.js';
import { api, startServe, type Served } from './helpers/server.js';
import { testScope } from './helpers/scope.js';

/** Users, roles and tokens through HTTP (the access policy is one place: service/access.ts), on each store. */
describe.each(BACKENDS)('users and roles on $name', (backend) => {
  let server: Served;
  let home: ReturnType<typeof backend.fresh>;
  const tokens: Record<string, string> = {};
  const as = (who: string | null) => (method: string, path: string, body?: unknown) => api(server.url, who === null ? null : who === 'admin' ? server.token : tokens[who]!, method, path, body);
  const admin = as('admin');
  beforeAll(async () => {
    home = backend.fresh();
    // No embedded worker: jobs stay queued, so every refusal is about the job, not about its end.
    server = await startServe(home.env, ['--no-workers']);
    for (const [name, role] of [['tina', 'trusted'], ['ursula', 'user'], ['victor', 'viewer'], ['bob', 'user']] as const) {
      const added = await admin('POST', '/api/v1/users', { name, role });
      expect(added).toMatchObject({ status: 201, body: { name, role, token: expect.stringMatching(/^sluice_/) } });
      tokens[name] = added.body.token;
    }
  });
  afterAll(async () => {
    await server?.stop();
    home?.cleanup();
  });

  it('without a token, or with a wrong one, every route but health is 401', async () => {
    for (const path of ['/api/v1/jobs', '/api/v1/events', '/metrics', '/api/v1/me']) {
      const r = await api(server.url, null, 'GET', path);
      expect({ path, status: r.status, error: r.body.error }).toEqual({ path, status: 401, error: 'unauthorized' });
      expect(r.headers.get('www-authenticate')).toBe('Bearer');
    }
    expect(await api(server.url, 'sluice_wrong', 'GET', '/api/v1/jobs')).toMatchObject({ status: 401, body: { message: expect.stringMatching(/not valid/) } });
    expect((await as('tina')('GET', '/api/v1/me')).body).toEqual({ name: 'tina', role: 'trusted', accounts: [] });
  });

  it('roles decide the job types: js and system for trusted and admin, sandboxed types for user, nothing for viewer', async () => {
    const js = { environ: { job_type: 'js', cmd: 'return 1' } };
    const sys = { environ: { job_type: 'system', cmd: 'id' } };
    const ping = { environ: { job_type: 'ping' } };
    expect((await admin('POST', '/api/v1/jobs', js)).status).toBe(201);
    expect((await as('tina')('POST', '/api/v1/jobs', sys)).status).toBe(201);
    expect(await as('ursula')('POST', '/api/v1/jobs', js)).toMatchObject({ status: 403, body: { error: 'forbidden', message: expect.stringMatching(/"js" runs unsandboxed/) } });
    expect(await as('ursula')('POST', '/api/v1/jobs', { environ: { job_type: 'unsafe-exec' } })).toMatchObject({ status: 403 });
    expect(await as('ursula')('POST', '/api/v1/jobs', { environ: { job_type: 'unsafe-interactive-exec' } })).toMatchObject({ status: 403, body: { message: expect.stringMatching(/"unsafe-interactive-exec" runs unsandboxed/) } });
    expect(await as('ursula')('POST', '/api/v1/jobs', { environ: { job_type: 'sioworkersd-group', group: {}, keys: {} } })).toMatchObject({ status: 403 });
    expect(await as('ursula')('POST', '/api/v1/jobs', { jobs: [ping, sys] })).toMatchObject({ status: 403 });
    expect(await as('ursula')('POST', '/api/v1/jobs', { environ: { job_type: 'ping', prefilters: ['my-filter'] } })).toMatchObject({ status: 403, body: { message: expect.stringMatching(/filter "my-filter" is not marked safe/) } });
    expect(await as('ursula')('POST', '/api/v1/jobs', { environ: { job_type: 'exec', use_filetracker: false } })).toMatchObject({ status: 403, body: { message: expect.stringMatching(/file store only/) } });
    const ok = await as('ursula')('POST', '/api/v1/jobs', ping);
    expect(ok.status).toBe(201);
    // A user's job reaches files through the file store only.
    expect((await as('ursula')('GET', `/api/v1/jobs/${ok.body.id}`)).body).toMatchObject({ owner: 'ursula', environ: { job_type: 'ping', use_filetracker: true } });
    expect(await as('victor')('POST', '/api/v1/jobs', ping)).toMatchObject({ status: 403, body: { message: 'a viewer submits nothing' } });
    // Nothing refused was stored.
    expect((await admin('GET', '/api/v1/jobs?owner=ursula')).body.jobs).toHaveLength(1);
  });

  it("a job may wait only for jobs its submitter may see: another user's is refused as one that does not exist", async () => {
    const ursulas = await as('ursula')('POST', '/api/v1/jobs', { environ: { job_type: 'ping' } });
    const refused = await as('bob')('POST', '/api/v1/jobs', { environ: { job_type: 'ping' }, after: [ursulas.body.id] });
    expect(refused).toMatchObject({ status: 400, body: { message: `a job waits for ${ursulas.body.id}, which does not exist` } });
    expect(await as('bob')('POST', '/api/v1/jobs', { environ: { job_type: 'ping' }, after: ['nosuch'] })).toMatchObject({ status: 400, body: { message: 'a job waits for nosuch, which does not exist' } });
    const own = await as('ursula')('POST', '/api/v1/jobs', { environ: { job_type: 'ping' }, after: [ursulas.body.id] });
    expect(own.status).toBe(201);
    expect((await as('ursula')('GET', `/api/v1/jobs/${own.body.id}`)).body.status).toBe('Waiting');
    expect((await admin('POST', '/api/v1/jobs', { environ: { job_type: 'ping' }, after: [ursulas.body.id] })).status).toBe(201);
    expect((await admin('GET', '/api/v1/jobs?owner=bob')).body.jobs).toHaveLength(0);
  });

  it("another user's job is not found, exactly as a job that does not exist; lists and streams of others are refused", async () => {
    const { body } = await as('ursula')('POST', '/api/v1/jobs', { environ: { job_type: 'ping' } });
    const id = body.id as string;
    const missing = '01a00000-0000-7000-8000-000000000000';
    for (const [method, path, payload] of [
      ['GET', '/api/v1/jobs/ID'],
      ['GET', '/api/v1/jobs/ID/wait?timeout=0'],
      ['GET', '/api/v1/jobs/ID/units'],
      ['GET', '/api/v1/jobs/ID/events'],
      ['POST', '/api/v1/jobs/ID/abort'],
      ['POST', '/api/v1/jobs/ID/control', { stop: 1 }],
      ['GET', '/api/v1/events?job=ID'],
    ] as Array<[string, string, unknown?]>) {
      const theirs = await as('bob')(method, path.replace('ID', id), payload);
      const none = await as('bob')(method, path.replace('ID', missing), payload);
      expect({ path, status: theirs.status, message: theirs.body.message.replace(id, 'X') }).toEqual({ path, status: 404, message: none.body.message.replace(missing, 'X') });
    }
    expect(await as('bob')('GET', '/api/v1/jobs?owner=ursula')).toMatchObject({ status: 403 });
    expect(await as('bob')('GET', '/api/v1/events?owner=ursula')).toMatchObject({ status: 403 });
    expect((await as('bob')('GET', '/api/v1/jobs')).body.jobs).toEqual([]);
    expect((await as('bob')('GET', '/api/v1/owners')).body.owners).toEqual([]);
    expect((await as('bob')('POST', '/api/v1/waiting', { ids: [id] })).body.waiting).toEqual({});
    // Nor may anyone but an admin submit as someone else.
    expect(await as('bob')('POST', '/api/v1/jobs', { environ: { job_type: 'ping' }, owner: 'ursula' })).toMatchObject({ status: 403 });
    expect(await as('bob')('POST', '/api/v1/jobs', { environ: { job_type: 'ping' }, group: 'ursula/mine' })).toMatchObject({ status: 400, body: { message: expect.stringMatching(/belongs to ursula/) } });
    // The admin sees it all, and may act for a user.
    expect((await admin('GET', `/api/v1/jobs/${id}`)).status).toBe(200);
    expect((await admin('POST', '/api/v1/jobs', { environ: { job_type: 'ping' }, owner: 'victor' })).status).toBe(201);
  });

  it('a viewer reads their own jobs and changes none', async () => {
    const { body } = await admin('POST', '/api/v1/jobs', { environ: { job_type: 'ping' }, owner: 'victor', name: 'for victor' });
    expect((await as('victor')('GET', `/api/v1/jobs/${body.id}`)).body).toMatchObject({ name: 'for victor' });
    expect(await as('victor')('POST', `/api/v1/jobs/${body.id}/abort`)).toMatchObject({ status: 403, body: { message: 'a viewer reads jobs and changes none' } });
    expect(await as('victor')('POST', `/api/v1/jobs/${body.id}/control`, { x: 1 })).toMatchObject({ status: 403 });
    expect((await admin('GET', `/api/v1/jobs/${body.id}`)).body.status).toBe('Queued');
    const put = await fetch(`${server.url}/files/files/v.txt`, { method: 'PUT', body: 'x', headers: { authorization: `Bearer ${tokens.victor}` } });
    expect(put.status).toBe(403);
  });

  it('admins alone manage users, shares and pruning; accounts must be granted, and are recorded on the job', async () => {
    for (const [method, path, body] of [['GET', '/api/v1/users'], ['POST', '/api/v1/users', { name: 'eve' }], ['PUT', '/api/v1/fairshare/bob', { share: 9 }], ['POST', '/api/v1/prune', {}], ['POST', '/api/v1/users/bob/token']] as Array<[string, string, unknown?]>) {
      expect({ path, status: (await as('tina')(method, path, body)).status }).toEqual({ path, status: 403 });
    }
    expect(await as('bob')('POST', '/api/v1/jobs', { environ: { job_type: 'ping' }, account: 'contest:7' })).toMatchObject({ status: 403, body: { message: expect.stringMatching(/account contest:7 was not granted to bob/) } });
    expect(await admin('PATCH', '/api/v1/users/bob', { accounts: ['contest:7'] })).toMatchObject({ status: 200, body: { accounts: ['contest:7'] } });
    const { body } = await as('bob')('POST', '/api/v1/jobs', { environ: { job_type: 'ping' }, account: 'contest:7' });
    expect((await as('bob')('GET', `/api/v1/jobs/${body.id}`)).body).toMatchObject({ owner: 'bob', account: 'contest:7' });
    expect(await admin('POST', '/api/v1/users', { name: 'bob' })).toMatchObject({ status: 409 });
    expect(await admin('PATCH', '/api/v1/users/bob', { role: 'god' })).toMatchObject({ status: 400 });
  });

  it('a new token revokes the old one; a removed user is signed out', async () => {
    const added = await admin('POST', '/api/v1/users', { name: 'temp', role: 'user' });
    const old = added.body.token;
    expect((await api(server.url, old, 'GET', '/api/v1/me')).status).toBe(200);
    const renewed = await admin('POST', '/api/v1/users/temp/token');
    expect((await api(server.url, old, 'GET', '/api/v1/me')).status).toBe(401);
    expect((await api(server.url, renewed.body.token, 'GET', '/api/v1/me')).body.name).toBe('temp');
    expect(await admin('DELETE', '/api/v1/users/temp')).toMatchObject({ status: 204 });
    expect((await api(server.url, renewed.body.token, 'GET', '/api/v1/me')).status).toBe(401);
  });

  it('the printed URL signs a browser in: an HttpOnly SameSite=Strict cookie, then a redirect to /', async () => {
    const open = await fetch(`${server.url}/?token=${server.token}`, { redirect: 'manual' });
    expect(open.status).toBe(303);
    expect(open.headers.get('location')).toBe('/');
    const cookie = open.headers.get('set-cookie')!;
    expect(cookie).toMatch(/^sluice_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict$/);
    const session = cookie.split(';')[0]!;
    const page = await fetch(`${server.url}/`, { headers: { cookie: session } });
    // The dashboard's page (docs/dashboard.md), which asks the API who is signed in.
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<script type="module" src="/assets/app.js"></script>');
    expect((await api(server.url, null, 'GET', '/api/v1/me', undefined, { cookie: session })).body.name).toBe('admin');
    expect((await fetch(`${server.url}/?token=sluice_wrong`, { redirect: 'manual' })).status).toBe(401);
    // moi's WebSocket takes the cookie or ?token=, and refuses neither-nor.
    const opened = (url: string, headers: Record<string, string> = {}) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(url, { headers });
        ws.on('open', () => {
          ws.close();
          resolve(101);
        });
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('error', () => {});
      });
    const ws = server.url.replace(/^http/, 'ws');
    expect(await opened(`${ws}/moi-ws/`, { cookie: session })).toBe(101);
    expect(await opened(`${ws}/moi-ws/?token=${tokens.bob}`)).toBe(101);
    expect(await opened(`${ws}/moi-ws/`)).toBe(401);
  });

  it('sluice users add prints a token once, kept hashed; ls, set, token and rm work on the store directly', async () => {
    const { env } = home;
    const added = await sluice(['users', 'add', 'carol', '--role', 'viewer', '--email', 'carol@example.org', '--json'], env);
    expect(added.code).toBe(0);
    const { token, ...rest } = JSON.parse(added.stdout);
    expect(rest).toEqual({ name: 'carol', role: 'viewer' });
    expect((await api(server.url, token, 'GET', '/api/v1/me')).body).toMatchObject({ name: 'carol', role: 'viewer' });
    expect((await sluice(['users', 'ls'], env)).stdout).toMatch(/^carol\trole: viewer\temail: carol@example\.org\taccounts: None\tsince: \d{4}-/m);
    expect((await sluice(['users', 'set', 'carol', '--role', 'user', '--account', 'lab'], env)).stdout).toMatch(/^carol\trole: user\temail: carol@example\.org\taccounts: lab\t/);
    const renewed = (await sluice(['users', 'token', 'carol'], env)).stdout.trim();
    expect((await api(server.url, token, 'GET', '/api/v1/me')).status).toBe(401);
    expect((await api(server.url, renewed, 'GET', '/api/v1/me')).body.role).toBe('user');
    expect(await sluice(['users', 'rm', 'carol'], env)).toMatchObject({ code: 0, stdout: 'user carol removed\n' });
    expect(await sluice(['users', 'rm', 'carol'], env)).toMatchObject({ code: 3, stderr: 'sluice: no user carol\n' });
    expect(await sluice(['users', 'add', 'x', '--role', 'god'], env)).toMatchObject({ code: 2, stderr: expect.stringMatching(/^sluice: --role must be one of admin, trusted, user, viewer/) });
  });
});

describe('limits on who may try', () => {
  const t = testScope(SQLITE);

  it('wrong tokens are rate-limited per address (429 with Retry-After, even for a right token then); CORS is off unless configured', async () => {
    const h = t.home({ SLUICE_AUTH_FAILURES: '3', SLUICE_CORS_ORIGINS: 'https://app.example.org' });
    const server = await t.serve(h.env, ['--no-workers']);
    for (let i = 0; i < 3; i++) expect((await api(server.url, `sluice_guess${i}`, 'GET', '/api/v1/me')).status).toBe(401);
    const limited = await api(server.url, 'sluice_guess', 'GET', '/api/v1/me');
    expect(limited).toMatchObject({ status: 429, body: { error: 'rate_limited' } });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await api(server.url, server.token, 'GET', '/api/v1/me')).status).toBe(429);
    // A request without credentials is no guess: still 401.
    expect((await api(server.url, null, 'GET', '/api/v1/me')).status).toBe(401);
    const allowed = await fetch(`${server.url}/healthz`, { headers: { origin: 'https://app.example.org' } });
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.org');
    const other = await fetch(`${server.url}/healthz`, { headers: { origin: 'https://evil.example.com' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${server.url}/api/v1/jobs`, { method: 'OPTIONS', headers: { origin: 'https://app.example.org', 'access-control-request-method': 'POST' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/authorization/);
    const plain = t.home();
    const off = await t.serve(plain.env, ['--no-workers']);
    expect((await fetch(`${off.url}/healthz`, { headers: { origin: 'https://app.example.org' } })).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('--no-auth serves loopback without tokens, says so, and refuses any other address', async () => {
    const h = t.home({ SLUICE_USER: 'me' });
    const server = await t.serve(h.env, ['--no-auth', '--no-workers']);
    expect(server.line).toMatch(/^Sluice is serving at http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(server.token).toBeNull();
    expect(server.log()).toMatch(/--no-auth: anyone who can reach this address acts as this machine's user/);
    expect((await api(server.url, null, 'GET', '/api/v1/me')).body).toEqual({ name: 'me', role: 'admin', accounts: [] });
    const refused = await sluice(['serve', '--no-auth', '--host', '0.0.0.0', '--port', '0'], h.env);
    expect(refused).toMatchObject({ code: 2, stderr: expect.stringMatching(/^sluice: --no-auth is for loopback addresses only/) });
  });

  it('the admin token is made on the first start, kept under SLUICE_HOME, and printed again at the next', async () => {
    const h = t.home();
    const first = await t.serve(h.env, ['--no-workers']);
    await first.stop();
    const second = await t.serve(h.env, ['--no-workers']);
    expect(second.token).toBe(first.token);
    expect((await api(second.url, second.token, 'GET', '/api/v1/me')).body).toEqual({ name: 'admin', role: 'admin', accounts: [] });
  });
});

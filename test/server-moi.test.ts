import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { until } from './helpers/cli.js';
import { BACKENDS } from './helpers/backends.js';
import { api, startServe, type Served } from './helpers/server.js';

type Info = { id: string; name: string; type: 'job' | 'group'; pubsub: string; url: string | null; parent: string | null; status: string | null; result: unknown; date_start: string | null; date_end: string | null; owner: string };
type Frame = Partial<Record<'get' | 'add' | 'update' | 'remove', Info>> & { error?: string };

/**
 * A client speaking as moi.js does: on open it sends {"get": []} (or {"get": [GROUP_ID]}), every
 * frame is one object whose key is the action, `remove` sends a list, and closing sends {"close": null}.
 */
class MoiClient {
  readonly frames: Frame[] = [];
  readonly closed: Promise<number>;
  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => this.frames.push(JSON.parse(String(data))));
    this.closed = new Promise((resolve) => ws.on('close', (code) => resolve(code)));
  }

  /** Signed in by `?token=`, or (`cookie`) by the session cookie alone, as a browser is. */
  static async open(server: Served, token: string, group: string | null = null, how: 'query' | 'cookie' = 'query'): Promise<MoiClient> {
    const base = `${server.url.replace(/^http/, 'ws')}/moi-ws/`;
    const ws = how === 'query' ? new WebSocket(`${base}?token=${token}`) : new WebSocket(base, { headers: { cookie: await sessionOf(server, token) } });
    const client = new MoiClient(ws);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    client.send('get', group === null ? [] : [group]);
    return client;
  }

  send(action: string, data: unknown): void {
    this.ws.send(JSON.stringify({ [action]: data }));
  }

  of(action: keyof Frame, id?: string): Info[] {
    return this.frames.filter((f) => action in f).map((f) => f[action] as Info).filter((i) => id === undefined || i.id === id);
  }

  wait<T>(what: string, check: () => T | undefined): Promise<T> {
    return until(check, 20_000, what);
  }
}

/** The session cookie the printed URL's `/?token=` sets. */
async function sessionOf(server: Served, token: string): Promise<string> {
  const response = await fetch(`${server.url}/?token=${token}`, { redirect: 'manual' });
  return response.headers.get('set-cookie')!.split(';')[0]!;
}

describe.each(BACKENDS)("moi's WebSocket on $name", (backend) => {
  let server: Served;
  let home: ReturnType<typeof backend.fresh>;
  const tokens: Record<string, string> = {};
  const submit = async (who: string, extra: Record<string, unknown> = {}) => (await api(server.url, tokens[who]!, 'POST', '/api/v1/jobs', { environ: { job_type: 'ping' }, ...extra })).body.id as string;
  beforeAll(async () => {
    home = backend.fresh();
    server = await startServe(home.env, ['--workers', '2']);
    tokens.admin = server.token!;
    for (const name of ['alice', 'bob']) tokens[name] = (await api(server.url, server.token, 'POST', '/api/v1/users', { name, role: 'user' })).body.token;
  });
  afterAll(async () => {
    await server?.stop();
    home?.cleanup();
  });

  it('get [] answers each of the user\'s nodes as moi\'s info; then new jobs come as add, their changes as update, one end each', async () => {
    const first = await submit('alice', { name: 'first', environ: { job_type: 'ping', ping: 'x' } });
    await api(server.url, tokens.alice!, 'GET', `/api/v1/jobs/${first}/wait?timeout=30`);
    const moi = await MoiClient.open(server, tokens.alice!);
    const got = await moi.wait('the get answers', () => (moi.of('get').length >= 2 ? moi.of('get') : undefined));
    const job = got.find((i) => i.id === first)!;
    expect(job).toMatchObject({ name: 'first', type: 'job', pubsub: `${first}:pubsub`, url: `${server.url}/api/v1/jobs`, status: 'Success', result: { pong: 'x' }, owner: 'alice' });
    expect(job.date_start).toMatch(/Z$/);
    const root = got.find((i) => i.type === 'group')!;
    expect(root).toMatchObject({ name: 'alice', parent: null, status: null });
    expect(job.parent).toBe(root.id);
    const second = await submit('alice', { name: 'second' });
    await moi.wait('the end of the second job', () => (moi.of('update', second).some((i) => i.status === 'Success') ? true : undefined));
    expect(moi.of('add', second)).toEqual([expect.objectContaining({ name: 'second', status: 'Queued', parent: root.id })]);
    expect(moi.of('update', second).filter((i) => i.status === 'Success')).toHaveLength(1);
    // The finished first job says nothing more.
    expect(moi.of('update', first)).toEqual([]);
    moi.send('close', null);
    expect(await moi.closed).toBe(1000);
  });

  it('get [GROUP] answers the group and all below it; remove of a group takes it and its descendants out of the view, for good', async () => {
    const a = await submit('alice', { group: 'alice/exp/run-1' });
    const b = await submit('alice', { group: 'alice/exp' });
    const group = (await api(server.url, tokens.alice!, 'GET', '/api/v1/groups?path=alice/exp')).body;
    const run1 = (await api(server.url, tokens.alice!, 'GET', '/api/v1/groups?path=alice/exp/run-1')).body;
    const moi = await MoiClient.open(server, tokens.alice!, group.id);
    const got = await moi.wait('the group and its descendants', () => (moi.of('get').length >= 4 ? moi.of('get') : undefined));
    expect(new Set(got.map((i) => i.id))).toEqual(new Set([group.id, run1.id, a, b]));
    moi.send('remove', [run1.id]);
    const removed = await moi.wait('the removes', () => (moi.of('remove').length >= 2 ? moi.of('remove') : undefined));
    expect(new Set(removed.map((i) => i.id))).toEqual(new Set([run1.id, a]));
    // A job made below the removed group later is out of the view too; the rest of the group is not.
    const later = await submit('alice', { group: 'alice/exp/run-1' });
    const kept = await submit('alice', { group: 'alice/exp', name: 'kept' });
    await moi.wait('the kept job', () => (moi.of('add', kept).length ? true : undefined));
    await api(server.url, tokens.alice!, 'GET', `/api/v1/jobs/${later}/wait?timeout=30`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(moi.of('add', later)).toEqual([]);
    expect(moi.of('update', later)).toEqual([]);
    // Another socket of alice's does not show them either: moi's remove lasts. The records stay.
    const again = await MoiClient.open(server, tokens.alice!);
    await again.wait('the second socket', () => (again.of('get').some((i) => i.id === kept) ? true : undefined));
    expect(again.of('get').map((i) => i.id)).not.toContain(a);
    expect(again.of('get').map((i) => i.id)).not.toContain(later);
    expect(again.of('get').map((i) => i.id)).not.toContain(run1.id);
    expect((await api(server.url, tokens.alice!, 'GET', `/api/v1/jobs/${a}`)).status).toBe(200);
    again.ws.close();
    moi.ws.close();
  });

  it("each user sees their own nodes only; another's group is skipped as a missing id; an admin may look into it", async () => {
    const bobs = await MoiClient.open(server, tokens.bob!);
    const job = await submit('alice', { group: 'alice/private' });
    const group = (await api(server.url, tokens.alice!, 'GET', '/api/v1/groups?path=alice/private')).body;
    bobs.send('get', [group.id, job]);
    bobs.send('remove', [job]);
    const mine = await submit('bob');
    await bobs.wait("bob's own job", () => (bobs.of('update', mine).some((i) => i.status === 'Success') ? true : undefined));
    expect(bobs.frames.flatMap((f) => Object.values(f) as Info[]).filter((i) => i.owner === 'alice')).toEqual([]);
    const admin = await MoiClient.open(server, tokens.admin!, group.id);
    await admin.wait("the admin's view of alice's group", () => (admin.of('get').length >= 2 ? true : undefined));
    expect(new Set(admin.of('get').map((i) => i.id))).toEqual(new Set([group.id, job]));
    // The remove bob tried did nothing: alice's job is still in her view.
    const alices = await MoiClient.open(server, tokens.alice!);
    await alices.wait("alice's view", () => (alices.of('get').some((i) => i.id === job) ? true : undefined));
    for (const c of [bobs, admin, alices]) c.ws.close();
  });

  it('a frame that is not JSON is ignored, as moi does; an unknown action or a non-list argument is answered with an error; the socket stays', async () => {
    const moi = await MoiClient.open(server, tokens.bob!);
    await moi.wait('the first answers', () => (moi.of('get').length ? true : undefined));
    const before = moi.frames.length;
    moi.ws.send('this is not json');
    moi.send('explode', []);
    moi.send('get', 'not-a-list');
    moi.ws.send('[1, 2]');
    const errors = await moi.wait('the errors', () => {
      const e = moi.frames.slice(before).filter((f) => f.error);
      return e.length === 3 ? e : undefined;
    });
    expect(errors.map((e) => e.error)).toEqual(['unknown action: explode', 'get takes a list of ids', 'a message is an object: {"get": [...]}, {"remove": [...]} or {"close": null}']);
    moi.send('get', []);
    await moi.wait('a get after the errors', () => (moi.frames.slice(before).filter((f) => f.get).length ? true : undefined));
    moi.ws.close();
  });

  it("the user is the session's, never the message's: a frame naming another user answers nothing of theirs; a client's add brings a removed node back into that socket's view", async () => {
    const alices = await submit('alice', { name: 'alice-secret' });
    const mine = await submit('bob', { name: 'bobs' });
    await api(server.url, tokens.bob!, 'GET', `/api/v1/jobs/${mine}/wait?timeout=30`);
    const bobs = await MoiClient.open(server, tokens.bob!, null, 'cookie');
    bobs.ws.send(JSON.stringify({ user: 'alice', get: [] }));
    bobs.ws.send(JSON.stringify({ get: [alices], owner: 'alice' }));
    await bobs.wait('the error for each field naming a user', () => (bobs.frames.filter((f) => f.error).length >= 2 ? true : undefined));
    expect(bobs.frames.filter((f) => f.error).map((f) => f.error)).toEqual(['unknown action: user', 'unknown action: owner']);
    await bobs.wait("bob's own job", () => (bobs.of('get', mine).length ? true : undefined));
    expect(bobs.frames.flatMap((f) => Object.values(f) as Info[]).filter((i) => typeof i === 'object' && i.owner !== 'bob')).toEqual([]);
    // moi's Group takes add from a client: the node comes back into this socket's view, answered add.
    bobs.send('remove', [mine]);
    await bobs.wait('the remove', () => (bobs.of('remove', mine).length ? true : undefined));
    bobs.send('add', [mine, alices, 'no-such-id']);
    const added = await bobs.wait('the add', () => (bobs.of('add', mine).length ? bobs.of('add') : undefined));
    expect(added).toEqual([expect.objectContaining({ id: mine, name: 'bobs', status: 'Success', owner: 'bob' })]);
    bobs.send('close', null);
    expect(await bobs.closed).toBe(1000);
  });
});

describe.each(BACKENDS)('the streams one user may hold on $name', (backend) => {
  it('past SLUICE_MAX_STREAMS a WebSocket is closed with 1013 and the reason, an SSE request is 429; a closed one frees its place', async () => {
    const home = backend.fresh();
    const server = await startServe({ ...home.env, SLUICE_MAX_STREAMS: '2' }, ['--no-workers']);
    try {
      const a = await MoiClient.open(server, server.token!);
      const b = await MoiClient.open(server, server.token!);
      await until(async () => (/sluice_stream_clients\{kind="ws"\} 2/.test((await api(server.url, server.token, 'GET', '/metrics')).body) ? true : undefined), 20_000, 'two sockets counted');
      const third = new WebSocket(`${server.url.replace(/^http/, 'ws')}/moi-ws/?token=${server.token}`);
      const [code, reason] = await new Promise<[number, string]>((resolve) => third.on('close', (c, r) => resolve([c, String(r)])));
      expect(code).toBe(1013);
      expect(reason).toMatch(/streams open already.*SLUICE_MAX_STREAMS/);
      const sse = await api(server.url, server.token, 'GET', '/api/v1/events');
      expect(sse).toMatchObject({ status: 429, body: { error: 'rate_limited' } });
      a.ws.close();
      await a.closed;
      await until(async () => (/sluice_stream_clients\{kind="ws"\} 1/.test((await api(server.url, server.token, 'GET', '/metrics')).body) ? true : undefined), 20_000, 'the closed socket let go');
      const again = await MoiClient.open(server, server.token!);
      await until(async () => (/sluice_stream_clients\{kind="ws"\} 2/.test((await api(server.url, server.token, 'GET', '/metrics')).body) ? true : undefined), 20_000, 'the new socket counted');
      expect(again.ws.readyState).toBe(WebSocket.OPEN);
      again.ws.close();
      b.ws.close();
    } finally {
      await server.stop();
      home.cleanup();
    }
  });
});

import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { BIN, exited, sluice, until } from './helpers/cli.js';
import { freePort } from './helpers/ports.js';
import { startRedis, type RedisServer } from './helpers/redis.js';
import { testScope } from './helpers/scope.js';

type Message = { channel: string; message: unknown };

/**
 * `sluice bridge`: Sluice's tree in moi's Redis layout, checked the way a moi consumer (qiita's
 * Group) reads it: info JSON under each id, `<id>:children` sets from the user's root (found in
 * `user-id-map`), and the messages on `<id>:pubsub`. A real redis-server, started by the test.
 */
describe('sluice bridge redis://', () => {
  const scope = testScope();
  const servers: RedisServer[] = [];
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
  });

  async function redis(options: { persist?: boolean } = {}) {
    const server = await startRedis(options);
    servers.push(server);
    return server;
  }

  /** A fresh home and its store, a Redis and a client of it. */
  async function setup(options: { persist?: boolean } = {}) {
    const h = scope.home();
    const server = await redis(options);
    return { env: h.env, store: await scope.store(h), server, r: server.client() };
  }

  /** A moi consumer's subscription: every message on every node's channel. */
  async function listen(server: RedisServer): Promise<Message[]> {
    const sub = server.client();
    const messages: Message[] = [];
    sub.on('pmessage', (_pattern: string, channel: string, text: string) => messages.push({ channel, message: JSON.parse(text) }));
    await sub.psubscribe('*:pubsub');
    return messages;
  }

  function bridge(env: NodeJS.ProcessEnv, url: string): Promise<ChildProcess & { log: () => string }> {
    const child = spawn(process.execPath, [BIN, 'bridge', url], { env, stdio: ['ignore', 'ignore', 'pipe'] }) as ChildProcess & { log: () => string };
    let log = '';
    child.log = () => log;
    child.stderr!.on('data', (d) => (log += d));
    scope.defer(async () => {
      child.kill('SIGKILL');
      await exited(child);
    });
    return until(() => {
      if (child.exitCode !== null) throw new Error(`the bridge exited (${child.exitCode}): ${log}`);
      return log.includes('bridge: mirrored the current state') || log.includes('resuming after seq') ? child : undefined;
    }, 20_000, 'the bridge to start');
  }

  const info = async (r: Redis, id: string) => {
    const text = await r.get(id);
    return text === null ? null : (JSON.parse(text) as Record<string, unknown>);
  };
  /** moi's traverse: every id below a node, by its children sets. */
  const traverse = async (r: Redis, id: string): Promise<string[]> => {
    const children = await r.smembers(`${id}:children`);
    return [...children, ...(await Promise.all(children.map((c) => traverse(r, c)))).flat()].sort();
  };
  const submit = async (env: NodeJS.ProcessEnv, args: string[]) => {
    const r = await sluice(['submit', ...args], env);
    expect(r.code, r.stderr).toBe(0);
    return args.includes('--json') ? (JSON.parse(r.stdout) as { id: string }).id : r.stdout.trim();
  };
  const seqOf = async (r: Redis) => Number(await r.get('sluice:bridge:seq'));

  it("mirrors the tree in moi's layout, and follows it live: adds on the parent's channel, updates on the node's", async () => {
    const { env, store, server, r } = await setup();
    const a = await submit(env, ['--user', 'alice', '--group', 'alice/analysis-7', '--cmd', 'return 42']);
    const messages = await listen(server);
    await bridge(env, server.url);

    const root = (await r.hget('user-id-map', 'alice'))!;
    expect(await r.hget('user-id-map', root)).toBe('alice');
    const group = (await store.group('alice/analysis-7'))!.id;
    expect(await traverse(r, root)).toEqual([a, group].sort());
    expect(await info(r, group)).toMatchObject({ id: group, type: 'group', name: 'analysis-7', parent: root, owner: 'alice', status: null, pubsub: `${group}:pubsub` });
    const queued = (await info(r, a))!;
    expect(queued).toMatchObject({ id: a, type: 'job', parent: group, owner: 'alice', status: 'Queued', result: null, url: null, context: 'default', pubsub: `${a}:pubsub`, date_start: null });
    expect(queued.date_created).toBe(new Date((await store.get(a))!.date_created).toISOString());
    expect(Object.keys(queued).slice(0, 13)).toEqual(['id', 'name', 'type', 'parent', 'owner', 'status', 'result', 'date_created', 'date_start', 'date_end', 'url', 'context', 'pubsub']);

    // A fresh mirror announces what it found, as moi's submit did: each node on its parent's channel.
    await until(() => (messages.length >= 2 ? true : undefined), 10_000, 'the first announcements');
    expect(messages).toEqual([{ channel: `${root}:pubsub`, message: { add: [group] } }, { channel: `${group}:pubsub`, message: { add: [a] } }]);

    messages.length = 0;
    const b = await submit(env, ['--user', 'alice', '--group', 'alice/analysis-7', '--cmd', 'return 43']);
    await until(() => (messages.length ? true : undefined), 10_000, 'the add');
    expect(messages).toEqual([{ channel: `${group}:pubsub`, message: { add: [b] } }]);
    expect(await r.sismember(`${group}:children`, b)).toBe(1);

    await scope.worker(env, []);
    await until(async () => ((await info(r, a))?.status === 'Success' && (await info(r, b))?.status === 'Success' ? true : undefined), 20_000, 'both to succeed');
    expect(await info(r, a)).toMatchObject({ result: 42, date_end: new Date((await store.get(a))!.date_end!).toISOString() });
    for (const id of [a, b]) expect(messages.filter((m) => m.channel === `${id}:pubsub`).every((m) => JSON.stringify(m.message) === JSON.stringify({ update: [id] }))).toBe(true);
    expect(messages.some((m) => m.channel === `${a}:pubsub`)).toBe(true);
    await until(async () => ((await seqOf(r)) === (await store.lastSeq()) ? true : undefined), 10_000, 'the place to catch up');
  }, 60_000);

  it('a restarted bridge resumes after its last sequence number: what changed meanwhile is announced once, nothing else again', async () => {
    const { env, store, server, r } = await setup();
    const y = await submit(env, ['--user', 'alice', '--group', 'alice/g', '--cmd', 'return 1']);
    const first = await bridge(env, server.url);
    first.kill('SIGTERM');
    expect(await exited(first)).toBe(0);
    expect(first.log()).toMatch(/bridge: stopped\n$/);
    const place = await seqOf(r);
    expect(place).toBe(await store.lastSeq());

    // While no bridge runs: a job is submitted and run here (no worker alive), another is aborted.
    const x = await submit(env, ['--user', 'alice', '--group', 'alice/g', '--cmd', 'return 2', '--block', '--json']);
    expect((await sluice(['abort', y], env)).code).toBe(0);
    const group = (await store.group('alice/g'))!.id;

    const messages = await listen(server);
    const second = await bridge(env, server.url);
    expect(second.log()).toContain(`resuming after seq ${place}`);
    await until(async () => ((await seqOf(r)) === (await store.lastSeq()) ? true : undefined), 10_000, 'the place to catch up');
    await until(() => (messages.length >= 2 ? true : undefined), 10_000, 'the announcements');
    expect(messages.sort((m, n) => m.channel.localeCompare(n.channel))).toEqual(
      [{ channel: `${group}:pubsub`, message: { add: [x] } }, { channel: `${y}:pubsub`, message: { update: [y] } }].sort((m, n) => m.channel.localeCompare(n.channel)),
    );
    expect(await info(r, x)).toMatchObject({ status: 'Success', result: 2 });
    expect(await info(r, y)).toMatchObject({ status: 'Aborted' });
  }, 60_000);

  it('Redis going away and coming back: the bridge says so in one line, reconnects, resumes; a Redis back empty gets the whole tree again', async () => {
    const { env, store, server } = await setup({ persist: true });
    const y = await submit(env, ['--user', 'alice', '--cmd', 'return 1']);
    const b = await bridge(env, server.url);
    const before = await seqOf(server.client());

    await server.stop();
    expect((await sluice(['abort', y], env)).code).toBe(0);
    const z = await submit(env, ['--user', 'alice', '--cmd', 'return 2']);
    await until(() => (b.log().includes('failed (') ? true : undefined), 20_000, 'the bridge to notice');
    await server.start();
    const r = server.client();
    await until(async () => ((await info(r, y))?.status === 'Aborted' && (await info(r, z)) !== null ? true : undefined), 20_000, 'the changes made meanwhile');
    expect(b.log()).toContain(`answers again after`);
    expect(b.log()).toContain(`resuming after seq ${before}`);
    expect(b.log().match(/failed \(/g)).toHaveLength(1);
    const messages = await listen(server);
    const w = await submit(env, ['--user', 'alice', '--cmd', 'return 3']);
    const root = (await store.group('alice'))!.id;
    await until(() => (messages.some((m) => JSON.stringify(m.message) === JSON.stringify({ add: [w] }) && m.channel === `${root}:pubsub`) ? true : undefined), 10_000, 'the add of a later job');

    // Back without its data: the bridge finds no place kept and mirrors the current state.
    await server.stop();
    await server.start({ fresh: true });
    const r2 = server.client();
    await until(async () => ((await seqOf(r2)) === (await store.lastSeq()) ? true : undefined), 20_000, 'the tree to be mirrored again');
    expect(await traverse(r2, root)).toEqual([y, z, w].sort());
    expect(await r2.hget('user-id-map', 'alice')).toBe(root);
    expect(b.log().match(/failed \(/g)).toHaveLength(2);
    expect(b.log()).toContain('no place kept in Redis: mirroring the current state first');
  }, 90_000);

  it('pruning: removed nodes leave their parents\' children sets and are announced with remove; their info stays readable a while', async () => {
    const { env, store, server, r } = await setup();
    const live = await submit(env, ['--user', 'alice', '--group', 'alice/live', '--cmd', 'return 0']);
    const old1 = await submit(env, ['--user', 'alice', '--group', 'alice/old', '--cmd', 'return 1', '--block', '--json']);
    const old2 = await submit(env, ['--user', 'alice', '--group', 'alice/old', '--cmd', 'return 2', '--block', '--json']);
    const bobs = await submit(env, ['--user', 'bob', '--cmd', 'return 3', '--block', '--json']);
    const [root, old, bobRoot] = [(await store.group('alice'))!.id, (await store.group('alice/old'))!.id, (await store.group('bob'))!.id];
    const messages = await listen(server);
    await bridge(env, server.url);

    const pruned = await sluice(['prune', '--older-than', '0'], env);
    expect(pruned.code, pruned.stderr).toBe(0);
    await until(async () => ((await r.hexists('sluice:bridge:nodes', old1)) ? undefined : true), 20_000, 'the removal');
    await until(async () => ((await seqOf(r)) === (await store.lastSeq()) ? true : undefined), 10_000, 'the place to catch up');
    const removes = messages.filter((m) => 'remove' in (m.message as object));
    expect(removes).toContainEqual({ channel: `${old}:pubsub`, message: { remove: expect.arrayContaining([old1, old2]) } });
    expect(removes).toContainEqual({ channel: `${root}:pubsub`, message: { remove: [old] } });
    expect(await traverse(r, root)).toEqual([live, (await store.group('alice/live'))!.id].sort());
    expect(await info(r, old1)).toMatchObject({ id: old1, status: 'Success' });
    const ttl = await r.ttl(old1);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(3600);
    expect(await r.ttl(live)).toBe(-1);
    // bob's root group went with his only job: he is gone from user-id-map too.
    expect(await store.get(bobRoot)).toBeNull();
    expect(await r.hget('user-id-map', 'bob')).toBeNull();
    expect(await r.hget('user-id-map', bobRoot)).toBeNull();
    expect(await r.sismember(`${bobRoot}:children`, bobs)).toBe(0);
  }, 60_000);

  it('a bad URL, a missing one and a Redis that is not there are one-line errors', async () => {
    const { env } = scope.home();
    const bad = await sluice(['bridge', 'http://127.0.0.1:6379'], env);
    expect(bad).toMatchObject({ code: 2, stderr: 'sluice: the bridge needs a Redis URL like redis://127.0.0.1:6379 (rediss:// for TLS, /N for a database number), got "http://127.0.0.1:6379"\n' });
    const missing = await sluice(['bridge'], env);
    expect(missing).toMatchObject({ code: 2, stderr: "sluice: missing required argument 'redis-url'\n" });
    const port = await freePort();
    const nobody = await sluice(['bridge', `redis://127.0.0.1:${port}`], env);
    expect(nobody.code).toBe(70);
    expect(nobody.stderr).toMatch(new RegExp(`^sluice: cannot reach redis at redis://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED.*\\n$`));
  });
});

import type { ChildProcess } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtFile } from '../src/environ/index.js';
import { BACKENDS, type Backend } from './helpers/backends.js';
import { exited, startWorker, until } from './helpers/cli.js';
import { api, startServe, type Served } from './helpers/server.js';

/** The package entry as a program imports it (`import { connect, openLocal } from 'sluice'`): the built dist/index.js. */
type Lib = typeof import('../src/index.js');
type Service = import('../src/index.js').Service;
type StreamItem = import('../src/index.js').StreamItem;
const lib = (): Promise<Lib> => import(pathToFileURL(builtFile('index.js')).href) as Promise<Lib>;

/** A js job that runs until a control message says stop (and returns what it was told before). */
const HOLD = 'const seen = []; for await (const m of ctx.messages()) { if (m.stop) return seen; seen.push(m); }';

interface Way {
  name: string;
  /** a service acting for alice, with workers behind it; `stop` ends what it started */
  open(backend: Backend): Promise<{ service: Service; stop: () => Promise<void> }>;
}

/** In this process over the store (a `sluice worker` beside it runs the jobs), as alice. */
const LOCAL: Way = {
  name: 'openLocal',
  async open(backend) {
    const home = backend.fresh();
    const { openLocal } = await lib();
    const service = await openLocal({ env: home.env, user: 'alice' });
    let worker: ChildProcess | undefined;
    try {
      worker = await startWorker(home.env, ['--concurrency', '2']);
    } catch (err) {
      await service.close();
      throw err;
    }
    return {
      service,
      async stop() {
        await service.close();
        worker!.kill('SIGTERM');
        await exited(worker!);
        home.cleanup();
      },
    };
  },
};

/** Over HTTP to a real `sluice serve` (embedded workers), signed in as alice, a trusted user. */
const REMOTE: Way = {
  name: 'connect(url)',
  async open(backend) {
    const home = backend.fresh();
    const server: Served = await startServe(home.env, ['--workers', '2']);
    const token = (await api(server.url, server.token, 'POST', '/api/v1/users', { name: 'alice', role: 'trusted' })).body.token as string;
    const { connect } = await lib();
    const service = connect(server.url, { token });
    return {
      service,
      async stop() {
        await service.close();
        expect(await server.stop()).toBe(0);
        home.cleanup();
      },
    };
  },
};

const CASES = BACKENDS.flatMap((backend) => [LOCAL, REMOTE].map((way) => ({ backend, way, label: `${way.name} on ${backend.name}` })));

/**
 * One behaviour suite for the `Service` interface, run the same through `openLocal` and through
 * `connect(url)` against a real server, on both stores: what a program sees must not depend on
 * where the service is.
 */
describe.each(CASES)('the Service through $label', ({ backend, way }) => {
  let service: Service;
  let stop: () => Promise<void>;
  beforeAll(async () => {
    ({ service, stop } = await way.open(backend));
  });
  afterAll(async () => {
    await stop?.();
  });

  it('whoami is alice; submit one and many; get, list with filters and the group by path', async () => {
    expect(await service.whoami()).toMatchObject({ name: 'alice' });
    const [one] = await service.submit([{ environ: { job_type: 'ping', ping: 'one' }, name: 'one', tags: ['suite'], group: 'alice/exp' }]);
    const many = await service.submit([{ environ: { job_type: 'ping', ping: 1 } }, { environ: { job_type: 'ping', ping: 2 }, tags: ['suite'] }]);
    expect(many).toHaveLength(2);
    const record = await service.get(one!);
    expect(record).toMatchObject({ id: one, name: 'one', type: 'job', owner: 'alice', tags: ['suite'], environ: { job_type: 'ping', ping: 'one' } });
    expect(typeof record.date_created).toBe('number');
    const tagged = await service.list({ tag: 'suite' });
    expect(tagged.map((n) => n.id).sort()).toEqual([one, many[1]].sort());
    const group = await service.group('alice/exp');
    expect(group).toMatchObject({ type: 'group', name: 'exp', owner: 'alice' });
    expect((await service.list({ parent: group.id })).map((n) => n.id)).toEqual([one]);
    for (const id of [one!, ...many]) expect(await service.wait(id, { timeoutMs: 30_000 })).toMatchObject({ status: 'Success' });
    expect((await service.wait(one!)).result).toEqual({ pong: 'one' });
  });

  it('a map job: the positional result, its units and its history', async () => {
    const [id] = await service.submit([{ environ: { job_type: 'js', cmd: 'return environ.input * 2' }, inputs: [1, 2, 3] }]);
    const done = await service.wait(id!, { timeoutMs: 60_000 });
    expect(done).toMatchObject({ status: 'Success', result: [2, 4, 6] });
    expect((await service.units(id!)).map((u) => [u.idx, u.state, u.result])).toEqual([[0, 'done', 2], [1, 'done', 4], [2, 'done', 6]]);
    const events = await service.events(id!);
    expect(events[0]).toMatchObject({ verb: 'add', id, info: { status: 'Queued' } });
    expect(events.at(-1)).toMatchObject({ verb: 'update', info: { status: 'Success' } });
  });

  it('wait times out on a running job; control reaches it; abort ends it once; an ended job refuses control', async () => {
    const [id] = await service.submit([{ environ: { job_type: 'js', cmd: HOLD } }]);
    const { TimeoutError, ConflictError } = await lib();
    await expect(service.wait(id!, { timeoutMs: 300 })).rejects.toBeInstanceOf(TimeoutError);
    await until(async () => ((await service.get(id!)).status === 'Running' ? true : undefined), 30_000, 'the job to run');
    expect(await service.control(id!, { hello: 1 })).toEqual({ seq: 1 });
    expect(await service.control(id!, { stop: true })).toEqual({ seq: 2 });
    expect(await service.wait(id!, { timeoutMs: 30_000 })).toMatchObject({ status: 'Success', result: [{ hello: 1 }] });
    const [held] = await service.submit([{ environ: { job_type: 'js', cmd: HOLD } }]);
    const aborted = await service.abort(held!);
    expect(aborted.status).toBe('Aborted');
    expect((await service.abort(held!)).date_end).toBe(aborted.date_end);
    await expect(service.control(held!, { late: true })).rejects.toBeInstanceOf(ConflictError);
  });

  it('errors are the same classes: a missing job is NotFoundError, bad input a UsageError', async () => {
    const { NotFoundError, UsageError } = await lib();
    await expect(service.get('00000000-0000-4000-8000-000000000000')).rejects.toBeInstanceOf(NotFoundError);
    await expect(service.wait('00000000-0000-4000-8000-000000000000', { timeoutMs: 1000 })).rejects.toBeInstanceOf(NotFoundError);
    await expect(service.group('alice/no-such-group')).rejects.toBeInstanceOf(NotFoundError);
    await expect(service.submit([{ environ: { job_type: 'no-such-type' } }])).rejects.toBeInstanceOf(UsageError);
    await expect(service.submit([{ environ: { ping: 'no job type' } } as never])).rejects.toBeInstanceOf(UsageError);
  });

  it('stream: the current state, a sync, then each change of a new job; with since, the same changes replayed', async () => {
    const [earlier] = await service.submit([{ environ: { job_type: 'ping', ping: 'e' } }]);
    await service.wait(earlier!, { timeoutMs: 30_000 });
    const control = new AbortController();
    const seen: StreamItem[] = [];
    const reading = (async () => {
      for await (const item of service.stream({ owner: 'alice' }, { signal: control.signal })) seen.push(item);
    })();
    const sync = await until(() => seen.find((i) => i.verb === 'sync') as { seq: number } | undefined, 20_000, 'the sync');
    const before = seen.slice(0, seen.indexOf(sync as StreamItem));
    expect(before.some((i) => i.verb === 'get' && i.id === earlier)).toBe(true);
    expect(before.every((i) => i.verb === 'get' && i.info.owner === 'alice')).toBe(true);
    const [id] = await service.submit([{ environ: { job_type: 'ping', ping: 's' }, name: 'streamed' }]);
    await until(() => (seen.some((i) => i.verb === 'update' && i.id === id && i.info.status === 'Success') ? true : undefined), 30_000, 'the end of the streamed job');
    const mine = seen.filter((i) => (i.verb === 'add' || i.verb === 'update') && i.id === id) as Extract<StreamItem, { seq: number; id: string }>[];
    expect(mine[0]).toMatchObject({ verb: 'add', info: { status: 'Queued', name: 'streamed' } });
    expect(mine.map((i) => i.info.status).filter((s) => s === 'Success')).toHaveLength(1);
    const seqs = mine.map((i) => i.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
    control.abort();
    await reading;
    // The same changes, replayed from the sync's sequence number.
    const replay: StreamItem[] = [];
    const again = new AbortController();
    for await (const item of service.stream({ job: id! }, { since: sync.seq, signal: again.signal })) {
      replay.push(item);
      if (item.verb === 'update' && item.info.status === 'Success') again.abort();
    }
    expect(replay.map((i) => ('seq' in i ? i.seq : null))).toEqual(seqs);
  });
});

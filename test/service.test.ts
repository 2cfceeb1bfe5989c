import { afterEach, describe, expect, it } from 'vitest';
import { LocalService, type StreamItem } from '../src/service/index.js';
import { builtinRegistry } from '../src/jobs/index.js';
import { BACKENDS } from './helpers/backends.js';

/** The service's stream: the filters `sluice watch` offers, and replay from a sequence number. */
describe.each(BACKENDS)('service stream on $name', (backend) => {
  const cleanups: Array<() => void> = [];
  afterEach(() => cleanups.splice(0).forEach((c) => c()));
  const open = async () => {
    const h = backend.fresh();
    cleanups.push(h.cleanup);
    const store = await h.open();
    return { store, service: new LocalService(store, { registry: builtinRegistry() }) };
  };
  async function take(items: AsyncIterable<StreamItem>, n: number): Promise<StreamItem[]> {
    const out: StreamItem[] = [];
    for await (const item of items) {
      out.push(item);
      if (out.length === n) break;
    }
    return out;
  }

  it('filters by job, by tag and by owner; the header shows only matching jobs', async () => {
    const { store, service } = await open();
    const [a, b, c] = await service.submit([
      { owner: 'alice', environ: { job_type: 'ping' }, tags: ['red'] },
      { owner: 'alice', environ: { job_type: 'ping' } },
      { owner: 'bob', environ: { job_type: 'ping' }, tags: ['red'] },
    ]);
    const stop = new AbortController();
    const idsOf = (items: StreamItem[]) => items.filter((i) => i.verb === 'get').map((i) => (i as { id: string }).id);
    const byJob = take(service.stream({ job: b! }, { signal: stop.signal }), 2);
    expect(idsOf(await byJob)).toEqual([b]);
    const byTag = take(service.stream({ tag: 'red' }, { signal: stop.signal }), 3);
    expect(idsOf(await byTag)).toEqual([a, c]);
    const byOwner = take(service.stream({ owner: 'bob' }, { signal: stop.signal }), 2);
    expect(idsOf(await byOwner)).toEqual([c]);
    stop.abort();
    await store.close();
  });

  it('with since, replays only the changes after that sequence number, filtered', async () => {
    const { store, service } = await open();
    const before = await store.lastSeq();
    const [a] = await service.submit([{ owner: 'alice', environ: { job_type: 'ping' } }]);
    await service.submit([{ owner: 'bob', environ: { job_type: 'ping' } }]);
    await service.abort(a!);
    // alice's root group is added too (groups are nodes of the tree), then her job; bob's never shows.
    const replay = await take(service.stream({ owner: 'alice' }, { since: before }), 3);
    expect(replay.map((i) => [i.verb, 'info' in i ? i.info.type : null, 'info' in i ? i.info.status : null])).toEqual([
      ['add', 'group', null],
      ['add', 'job', 'Queued'],
      ['update', 'job', 'Aborted'],
    ]);
    expect(replay.slice(1).every((i) => 'id' in i && i.id === a)).toBe(true);
    await store.close();
  });
});

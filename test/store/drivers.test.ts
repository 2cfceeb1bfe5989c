/**
 * The driver suite (River's `riverdriver` tests): what every database driver must do under the
 * store, run against each — the embedded SQLite file and PostgreSQL. Several stores on one database
 * stand for several processes or machines.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { DriverStore, PostgresStore, SqliteStore } from '../../src/store/index.js';
import { take } from './conformance.js';
import { freshSchema } from '../helpers/postgres.js';

type Opener = () => Promise<() => Promise<DriverStore>>;
const DRIVERS: Array<{ name: string; database: Opener }> = [
  {
    name: 'sqlite',
    database: async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-driver-'));
      cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
      const file = path.join(dir, 'sluice.db');
      return async () => new SqliteStore(file);
    },
  },
  {
    name: 'postgres',
    database: async () => {
      const url = `${inject('pgUrl')}?schema=${freshSchema()}`;
      return () => PostgresStore.open(url);
    },
  },
];
const cleanups: Array<() => unknown> = [];

describe.each(DRIVERS)('driver: $name', ({ database }) => {
  const stores: DriverStore[] = [];
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    for (const c of cleanups.splice(0)) await c();
  });
  const open = async (n: number) => {
    const opener = await database();
    const opened = [];
    for (let i = 0; i < n; i++) opened.push(await opener());
    stores.push(...opened);
    return opened;
  };

  it('keeps the queue counts equal to the queued units through every path (submit, claim, release, reap, retry, delay, abort, fail-fast)', async () => {
    const [store] = await open(1);
    const check = async () => {
      const { kept, real } = await store!.driver.read.queueCounts();
      expect(kept).toEqual(real);
    };
    const w = await store!.registerWorker({ host: 'h', pid: 1, concurrency: 9, ram_mb: 4096, exclusive: true });
    const [, fast] = await store!.submit([
      { owner: 'a', environ: { job_type: 'x' }, inputs: [1, 2, 3] },
      { owner: 'b', environ: { job_type: 'x' }, inputs: [1, 2, 3], failFast: true, class: 'urgent' },
      { owner: 'b', environ: { job_type: 'x' }, retries: 1 },
      { owner: 'c', environ: { job_type: 'x' }, runAfter: Date.now() + 150 },
      { owner: 'c', environ: { job_type: 'x' }, exclusive: true },
      { owner: 'c', environ: { job_type: 'x' }, ramMb: 5000 },
      { owner: 'd', environ: { job_type: 'x' }, pool: 'gpu' },
    ]);
    await check();
    const claimed = await take(store!, w, 4, 10_000, 3000);
    await check();
    await store!.release([{ unit: claimed[0]!.unit, token: claimed[0]!.token }]);
    await check();
    const fastUnit = (await take(store!, w, 9, 1)).find((u) => u.job === fast) ?? claimed.find((u) => u.job === fast);
    await check();
    if (fastUnit) await store!.complete([{ unit: fastUnit.unit, token: fastUnit.token, output: { result: 'FAILURE', exception: 'E' } }]);
    await check();
    await new Promise((r) => setTimeout(r, 200));
    await store!.reapExpired();
    await check();
    await store!.queueSnapshot();
    await check();
    for (const job of await store!.list()) await store!.abort(job.id);
    await check();
    expect((await store!.driver.read.queueCounts()).real).toEqual([]);
  });

  it("first submissions of one owner from four stores at once all land in the owner's one root group", async () => {
    const stores = await open(4);
    const ids = (await Promise.all(stores.map((s) => s.submit([{ owner: 'newcomer', environ: { job_type: 'x' } }, { owner: 'newcomer', group: 'newcomer/a/b', environ: { job_type: 'x' } }])))).flat();
    const records = await Promise.all(ids.map((id) => stores[0]!.get(id)));
    const roots = new Set(records.filter((_, i) => i % 2 === 0).map((r) => r!.parent));
    expect(roots.size).toBe(1);
    expect(new Set(records.filter((_, i) => i % 2 === 1).map((r) => r!.parent)).size).toBe(1);
  });

  it('four claimers at once never take the same unit, and every unit is taken once', async () => {
    const [submitter, ...claimers] = await open(5);
    await submitter!.submit(Array.from({ length: 400 }, (_, n) => ({ owner: `o${n % 4}`, environ: { job_type: 'x', n } })));
    const workers = await Promise.all(claimers.map((s, i) => s.registerWorker({ host: 'h', pid: i, concurrency: 1000, ram_mb: 1 << 20, exclusive: false })));
    const taken: number[] = [];
    await Promise.all(
      claimers.map(async (store, i) => {
        for (;;) {
          const got = await take(store, workers[i]!, 7, 60_000);
          if (!got.length) break;
          taken.push(...got.map((u) => u.environ.n as number));
          await store.complete(got.map((u) => ({ unit: u.unit, token: u.token, output: { result: 'SUCCESS' } })));
        }
      }),
    );
    expect(taken.length).toBe(400);
    expect(new Set(taken).size).toBe(400);
  });

  it('a reader following events while four writers commit sees every event once, in sequence order', async () => {
    const [reader, ...writers] = await open(5);
    const seen: number[] = [];
    let done = false;
    const follow = (async () => {
      let seq = 0;
      for (;;) {
        const mark = reader!.changeMark();
        const batch = await reader!.eventsAfter(seq, 100);
        for (const e of batch) {
          expect(e.seq).toBeGreaterThan(seq);
          seq = e.seq;
          seen.push(e.seq);
        }
        if (!batch.length) {
          if (done && seq >= (await reader!.lastSeq())) return;
          await reader!.waitForChange(50, undefined, mark);
        }
      }
    })();
    await Promise.all(writers.map(async (w, i) => {
      for (let k = 0; k < 25; k++) await w.submit([{ owner: `w${i}`, environ: { job_type: 'x', k } }, { owner: `w${i}`, environ: { job_type: 'x', k } }]);
    }));
    done = true;
    await follow;
    const all: number[] = [];
    for (let seq = 0; ; ) {
      const batch = await reader!.eventsAfter(seq, 1000);
      if (!batch.length) break;
      all.push(...batch.map((e) => e.seq));
      seq = batch.at(-1)!.seq;
    }
    expect(seen).toEqual(all);
    // 4 writers × 25 batches × 2 jobs, and each writer's root group once.
    expect(all.length).toBe(4 * 25 * 2 + 4);
  });

  it('a transaction that rolls back after taking event numbers leaves a gap the readers step over', async () => {
    const [store] = await open(1);
    const [first] = await store!.submit([{ owner: 'a', environ: { job_type: 'x' } }]);
    await expect(
      store!.driver.transaction(async (tx) => {
        await tx.appendEvents('update', [first!], Date.now());
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    const [later] = await store!.submit([{ owner: 'a', environ: { job_type: 'x' } }]);
    // A reader may hold back at the gap for a moment (PostgreSQL: until no transaction that could fill it is left).
    let events: Awaited<ReturnType<DriverStore['eventsAfter']>> = [];
    for (let i = 0; i < 50 && !events.some((e) => e.verb !== 'prune' && e.id === later); i++) {
      events = await store!.eventsAfter(0, 100);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(events.flatMap((e) => (e.verb === 'prune' ? [] : [e.info.type]))).toEqual(['group', 'job', 'job']);
  });
});

import { describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import { PostgresStore } from '../src/store/index.js';
import { storeConformance } from './store/conformance.js';
import { freshSchema } from './helpers/postgres.js';
import { MIGRATIONS } from '../src/store/postgres/schema.js';
import { migrate } from '../src/store/postgres/migrate.js';

const url = inject('pgUrl');

storeConformance('postgres', () => PostgresStore.open(url, { schema: freshSchema() }));

describe('postgres store specifics', () => {
  it('says what it is: PostgreSQL, its version, where, and the schema', async () => {
    const schema = freshSchema();
    const store = await PostgresStore.open(url, { schema });
    expect(store.description).toMatch(new RegExp(`^PostgreSQL \\d+\\.\\d+.* \\(127\\.0\\.0\\.1:\\d+/postgres, schema ${schema}\\)$`));
    await store.close();
  });

  it('two processes starting at once apply each migration once', async () => {
    const schema = freshSchema();
    const stores = await Promise.all([1, 2, 3].map(() => PostgresStore.open(url, { schema })));
    const client = new pg.Client(url);
    await client.connect();
    const { rows } = await client.query(`SELECT version FROM "${schema}".migrations ORDER BY version`);
    await client.end();
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
    await Promise.all(stores.map((s) => s.close()));
  });

  it('searches text in index order both on its own and inside a transaction, which it leaves as it was', async () => {
    const store = await PostgresStore.open(url, { schema: freshSchema() });
    const [a, , c] = await store.submit([1, 2, 3].map((i) => ({ owner: 'x', environ: { job_type: 'ping', note: i === 2 ? 'hay' : 'needle' } })));
    const filter = { text: 'needle', newestFirst: true };
    expect((await store.driver.read.listNodes(filter)).map((n) => n.id)).toEqual([c, a]);
    const inside = await store.driver.snapshot(async (tx) => {
      const found = (await tx.listNodes(filter)).map((n) => n.id);
      // The rest of the transaction sorts again: an unfiltered listing in another order is still answered.
      return [found, (await tx.listNodes({ newestFirst: false, limit: 1 })).map((n) => n.id)];
    });
    expect(inside).toEqual([[c, a], [a]]);
    await store.close();
  });

  it('upgrades a database made by the previous schema, its jobs kept', async () => {
    const schema = freshSchema();
    const client = new pg.Client(url);
    await client.connect();
    try {
      await migrate(client, schema, MIGRATIONS.length - 1);
      // A job as the previous schema kept it: its node and its queued unit, counted in its queue.
      await client.query(`SET search_path TO "${schema}"`);
      await client.query(`INSERT INTO nodes (id, type, name, owner, date_created) VALUES ('g', 'group', 'old', 'old', 1)`);
      await client.query(`INSERT INTO nodes (id, type, name, parent, owner, status, job_type, tags, date_created, environ, units_total) VALUES ('j', 'job', 'old-ping', 'g', 'old', 'Queued', 'ping', '["kept", "kept"]', 1, '{"job_type":"ping","ping":5}', 1)`);
      await client.query(`INSERT INTO units (job, owner, state, queued_at, max_attempts) VALUES ('j', 'old', 'queued', 1, 1)`);
      await client.query(`INSERT INTO queues (pool, owner, class, exclusive, queued, since) VALUES ('default', 'old', 'normal', false, 1, 1)`);
    } finally {
      await client.end();
    }
    const store = await PostgresStore.open(url, { schema });
    expect(await store.get('j')).toMatchObject({ status: 'Queued', context: 'default', environ: { ping: 5 } });
    expect((await store.list({ tag: 'kept' })).map((n) => n.id)).toEqual(['j']);
    const w = await store.registerWorker({ host: 'h', pid: 1, concurrency: 1, ram_mb: 1024, exclusive: false });
    const [u] = await store.claim(w, { picks: [{ pool: 'default', owner: 'old', class: 'normal', exclusive: false, count: 1 }], freeRamMb: 1024, leaseMs: 10_000 });
    expect(u).toMatchObject({ job: 'j', environ: { ping: 5 } });
    expect(await store.control('j', 'hello')).toEqual({ seq: 1 });
    await store.close();
  });
});

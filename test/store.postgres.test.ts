import { describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import { PostgresStore } from '../src/store/index.js';
import { storeConformance } from './store/conformance.js';
import { freshSchema } from './helpers/postgres.js';
import { MIGRATIONS } from '../src/store/postgres/schema.js';
import { migrate } from '../src/store/postgres/migrate.js';
import { SQL } from '../src/store/postgres/statements.js';
import { take } from './store/conformance.js';

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

  it('a claim cycle looks its rows up by key even before any ANALYZE (right after a bulk submission)', async () => {
    const schema = freshSchema();
    const store = await PostgresStore.open(url, { schema });
    const client = new pg.Client(url);
    await client.connect();
    try {
      for (let i = 0; i < 5; i++) await store.submit(Array.from({ length: 1000 }, (_, n) => ({ owner: 'a', environ: { job_type: 'x', n } })));
      const w = await store.registerWorker({ host: 'h', pid: 1, concurrency: 50, ram_mb: 1024, exclusive: false });
      const units = await take(store, w, 50);
      await client.query(`SET search_path TO "${schema}"`);
      // As the store's own connections plan (postgres/driver.ts).
      await client.query('SET random_page_cost = 1.1');
      const jobs = units.map((u) => u.job);
      const outcomes = JSON.stringify(units.map((u) => ({ unit: u.unit, token: u.token, state: 'done', result: null, error: null })));
      const updates = JSON.stringify(jobs.map((id) => ({ id, status: 'Success', unitsDone: 1, unitsFailed: 0, dateEnd: 1, hasOutput: false, hasResult: false, hasError: false })));
      const plans: Record<string, [string, unknown[]]> = {
        startJobs: [SQL.startJobs, [1, JSON.stringify(jobs.map((job) => ({ job, attempts: 1 }))), jobs]],
        finishUnits: [SQL.finishUnits, [1, outcomes, units.map((u) => u.unit)]],
        jobTallies: [SQL.jobTallies, [jobs]],
        updateJobs: [SQL.updateJobs, [updates, jobs]],
        appendEvents: [SQL.appendEvents, ['k', 'c', 'i', jobs, jobs.map(() => 'update'), jobs.map(() => 1)]],
      };
      for (const [name, [text, values]] of Object.entries(plans)) {
        await client.query('BEGIN');
        const plan = (await client.query(`EXPLAIN ${text}`, values)).rows.map((r) => r['QUERY PLAN']).join('\n');
        await client.query('ROLLBACK');
        // A scan of a whole table, or of the running units' index with every finished unit's dead entry
        // in it, costs per row of the table (jobTallies counts running units of map jobs only).
        expect(plan, name).not.toMatch(/Seq Scan on (nodes|units)/);
        if (name !== 'jobTallies') expect(plan, name).not.toMatch(/units_running/);
      }
    } finally {
      await client.end();
      await store.close();
    }
  });
});

import { describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import { PostgresStore } from '../src/store/index.js';
import { storeConformance } from './store/conformance.js';
import { freshSchema } from './helpers/postgres.js';

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
    expect(rows.map((r) => r.version)).toEqual([1, 2]);
    await Promise.all(stores.map((s) => s.close()));
  });
});

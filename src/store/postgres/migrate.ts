import type pg from 'pg';
import { MIGRATIONS } from './schema.js';

/** A schema name as SQL: quoted, so that any name the user chose works. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Brings the schema up to date: the numbered migrations not yet applied, each in its own transaction,
 * under an advisory lock on the schema's name, so that two processes starting at once (a worker and
 * a server, twenty workers) apply each migration once and the others wait for it.
 */
export async function migrate(client: pg.ClientBase, schema: string, upTo = MIGRATIONS.length): Promise<void> {
  await client.query('SELECT pg_advisory_lock(hashtext($1))', [`sluice-migrate:${schema}`]);
  try {
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${ident(schema)}.migrations (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ v: number }>(`SELECT coalesce(max(version), 0) AS v FROM ${ident(schema)}.migrations`);
    const current = Number(rows[0]!.v);
    if (current > MIGRATIONS.length) {
      throw new Error(`the database was written by a newer Sluice (schema ${current}, this one knows ${MIGRATIONS.length})`);
    }
    for (let v = current; v < upTo; v++) {
      await client.query('BEGIN');
      try {
        await client.query(`SET LOCAL search_path TO ${ident(schema)}`);
        await client.query(MIGRATIONS[v]!);
        await client.query(`INSERT INTO ${ident(schema)}.migrations (version) VALUES ($1)`, [v + 1]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw err;
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`sluice-migrate:${schema}`]);
  }
}

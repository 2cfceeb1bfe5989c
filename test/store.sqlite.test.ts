import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { SqliteStore } from '../src/store/index.js';
import { storeConformance } from './store/conformance.js';
import { prepare } from '../src/store/sqlite/statements.js';

const dirs: string[] = [];
const fresh = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-store-'));
  dirs.push(dir);
  return path.join(dir, 'sluice.db');
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

storeConformance('sqlite', async () => new SqliteStore(fresh()));

describe('sqlite store specifics', () => {
  it("runs each batch statement from the batch's rows: a row finds its table's row by key, never a walk of another index per row", async () => {
    // (A batch update once walked nodes_status for every live job, once per row of the batch: a claim of 1,000 units took seconds.)
    const file = fresh();
    await new SqliteStore(file).close();
    const raw = new Database(file);
    const bad: string[] = [];
    let checked = 0;
    for (const [name, statement] of Object.entries(prepare(raw))) {
      const sql = statement.source;
      if (!/^\s*(UPDATE|DELETE)/i.test(sql) || !/jsonb?_each\(/.test(sql)) continue;
      const names = [...new Set([...sql.matchAll(/[:@$]([A-Za-z_]\w*)/g)].map((m) => m[1]!))];
      const positional = (sql.replace(/'[^']*'/g, '').match(/\?/g) ?? []).length;
      const args = names.length ? [Object.fromEntries(names.map((n) => [n, null]))] : Array<null>(positional).fill(null);
      const plan = raw.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...args) as Array<{ id: number; parent: number; detail: string }>;
      const top = plan.filter((r) => r.parent === 0);
      const first = top[0]!;
      const drivenByList = first.detail.startsWith('SEARCH') && top.some((r) => /^LIST SUBQUERY/.test(r.detail));
      const drivenByRows = /^SCAN (j|json_each|jsonb_each) VIRTUAL TABLE/.test(first.detail);
      // An OR of keys (deps by job or by dep): each branch searches its index from its list; no table is walked.
      const drivenByLists = first.detail === 'MULTI-INDEX OR' && !plan.some((r) => /^SCAN /.test(r.detail) && !/VIRTUAL TABLE/.test(r.detail));
      if (!drivenByList && !drivenByRows && !drivenByLists) bad.push(`${name}: ${plan.map((r) => r.detail).join('; ')}`);
      checked++;
    }
    raw.close();
    expect(checked).toBeGreaterThan(5);
    expect(bad).toEqual([]);
  });

  it('keeps a row per tag of each node, and none of a pruned one', async () => {
    const file = fresh();
    const store = new SqliteStore(file);
    await store.submit([{ owner: 'a', environ: { job_type: 'ping' }, tags: ['x', 'y', 'x'] }, { owner: 'a', environ: { job_type: 'ping' } }]);
    const raw = new Database(file, { readonly: true });
    const tags = () => (raw.prepare('SELECT tag FROM node_tags ORDER BY tag').pluck().all() as string[]);
    expect(tags()).toEqual(['x', 'y']);
    for (const job of await store.list()) await store.abort(job.id);
    await store.prune({ olderThanMs: 0 });
    expect(tags()).toEqual([]);
    raw.close();
    await store.close();
  });

  it('uses WAL and records its schema version', async () => {
    const file = fresh();
    const store = new SqliteStore(file);
    await store.close();
    const raw = new Database(file, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(raw.pragma('user_version', { simple: true })).toBeGreaterThan(0);
    raw.close();
  });

  it('refuses a database written by a newer schema, with a reason', () => {
    const file = fresh();
    const raw = new Database(file);
    raw.pragma('user_version = 999');
    raw.close();
    expect(() => new SqliteStore(file)).toThrow(/newer Sluice/);
  });

  it('a busy writer has its WAL copied back by a thread of its own; closing stops that thread', async () => {
    const file = fresh();
    const store = new SqliteStore(file);
    // Enough writes to start the thread, then about 1,500 WAL pages: past the thread's mark (1,000),
    // short of the writers' own fallback (4,000), so only the thread checkpoints them.
    for (let i = 0; i < 60; i++) await store.submit([{ owner: 'a', environ: { job_type: 'x', i } }]);
    for (let i = 0; i < 6; i++) await store.submit(Array.from({ length: 1000 }, (_, k) => ({ owner: 'a', environ: { job_type: 'x', pad: 'x'.repeat(200), k } })));
    const look = new Database(file);
    let state = (look.pragma('wal_checkpoint(NOOP)') as Array<{ log: number; checkpointed: number }>)[0]!;
    expect(state.log).toBeGreaterThan(1000);
    expect(state.log).toBeLessThan(4000);
    for (let i = 0; i < 500 && state.checkpointed === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      state = (look.pragma('wal_checkpoint(NOOP)') as Array<{ log: number; checkpointed: number }>)[0]!;
    }
    expect(state.checkpointed).toBeGreaterThan(1000);
    look.close();
    // The last connection to close removes the WAL: the thread's connection is closed too.
    await store.close();
    expect(existsSync(`${file}-wal`)).toBe(false);
  });

  it('wakes a waiter when another connection commits', async () => {
    const file = fresh();
    const a = new SqliteStore(file);
    const b = new SqliteStore(file);
    const started = Date.now();
    const woke = a.waitForChange(5000);
    await b.submit([{ owner: 'x', environ: { job_type: 'ping' } }]);
    await woke;
    expect(Date.now() - started).toBeLessThan(5000);
    await a.close();
    await b.close();
  });
});

import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { SqliteStore } from '../src/store/index.js';
import { storeConformance } from './store/conformance.js';

const dirs: string[] = [];
const fresh = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-store-'));
  dirs.push(dir);
  return path.join(dir, 'sluice.db');
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

storeConformance('sqlite', async () => new SqliteStore(fresh()));

describe('sqlite store specifics', () => {
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

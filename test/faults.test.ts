import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { SqliteStore } from '../src/store/index.js';
import { exited, freshHome, sluice, startWorker, until } from './helpers/cli.js';

/** How many jobs the kill -9 chaos test runs (SLUICE_CHAOS_JOBS; the trial ran 2,000). */
const CHAOS_JOBS = Number(process.env.SLUICE_CHAOS_JOBS ?? 2000);

/** Faults a user's machine has: a full disk, workers killed with SIGKILL under load. */
describe('under faults', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const workerProcess = async (env: NodeJS.ProcessEnv, args: string[]) => {
    const w = await startWorker(env, args);
    cleanups.push(async () => {
      w.kill('SIGKILL');
      await exited(w);
    });
    return w;
  };

  it('a full disk: workers log one clear line, stay alive, and record every result once space is back', async () => {
    if (process.getuid?.() !== 0) throw new Error('this test mounts a small tmpfs to fill: run it as root (CI does)');
    const { env, home, cleanup } = freshHome();
    cleanups.push(cleanup);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', home]);
    cleanups.push(() => spawnSync('umount', ['-l', home]));
    const store = new SqliteStore(path.join(home, 'sluice.db'));
    cleanups.push(() => store.close());
    const ids = await store.submit(Array.from({ length: 40 }, (_, n) => ({ owner: 'a', environ: { job_type: 'js', n, cmd: 'await new Promise((r) => setTimeout(r, 1500)); return environ.n' } })));
    const workers = [await workerProcess(env, ['--concurrency', '10', '--lease', '60']), await workerProcess(env, ['--concurrency', '10', '--lease', '60'])];
    await until(async () => ((await store.list({ status: 'Running' })).length >= 10 ? true : undefined), 20_000, 'units to run');
    // Fill the file system to the last block while units run: their results cannot be written.
    const filler = path.join(home, 'filler');
    spawnSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' });
    const full = await sluice(['submit', '--job-type', 'ping'], env);
    expect(full.code).toBe(70);
    expect(full.stderr).toBe(`sluice: the disk holding the database ${path.join(home, 'sluice.db')} is full; free some space there (SQLITE_FULL)\n`);
    await until(() => (workers.every((w) => /store error .*is full/.test(w.log())) ? true : undefined), 20_000, 'both workers to see the full disk');
    await new Promise((r) => setTimeout(r, 1000));
    for (const w of workers) {
      expect(w.exitCode).toBeNull();
      expect(w.log().match(/store error/g)!.length).toBeLessThanOrEqual(2);
    }
    rmSync(filler);
    await until(async () => ((await store.list({ status: 'Success' })).length === ids.length ? true : undefined), 30_000, 'every job to succeed');
    for (const w of workers) expect(w.log()).toMatch(/the store answers again/);
    const records = await Promise.all(ids.map((id) => store.get(id)));
    expect(records.map((r) => r!.result)).toEqual(ids.map((_, n) => n));
  }, 90_000);

  it(`kill -9 of a random worker every half second under ${CHAOS_JOBS} jobs: every job succeeds, each recorded once`, async () => {
    const { env, home, cleanup } = freshHome();
    cleanups.push(cleanup);
    const log = path.join(home, 'ran');
    mkdirSync(log);
    const store = new SqliteStore(path.join(home, 'sluice.db'));
    cleanups.push(() => store.close());
    const cmd = 'require("node:fs").appendFileSync(environ.log + "/" + environ.n, "x"); await new Promise((r) => setTimeout(r, 60)); return environ.n';
    const ids = await store.submit(Array.from({ length: CHAOS_JOBS }, (_, n) => ({ owner: `u${n % 3}`, environ: { job_type: 'js', n, log, cmd } })));
    const args = ['--concurrency', '8', '--lease', '1', '--grace', '0'];
    const pool: ChildProcess[] = [];
    for (let i = 0; i < 4; i++) pool.push(await workerProcess(env, args));
    let kills = 0;
    const started = Date.now();
    let done = 0;
    while (done < ids.length) {
      if (Date.now() - started > 120_000) throw new Error(`chaos: only ${done} of ${ids.length} jobs ended after 120 s`);
      await new Promise((r) => setTimeout(r, 500));
      const victim = Math.floor(Math.random() * pool.length);
      pool[victim]!.kill('SIGKILL');
      await exited(pool[victim]!);
      kills++;
      pool[victim] = await workerProcess(env, args);
      done = (await store.list({ status: 'Success' })).length + (await store.list({ status: 'Failed' })).length;
    }
    const records = await Promise.all(ids.map((id) => store.get(id)));
    expect(records.filter((r) => r!.status !== 'Success').map((r) => [r!.id, r!.status, r!.error])).toEqual([]);
    expect(records.map((r) => r!.result)).toEqual(ids.map((_, n) => n));
    // Each job's result was recorded once: one terminal update per job in the event log.
    const db = new Database(path.join(home, 'sluice.db'), { readonly: true });
    cleanups.push(() => db.close());
    const terminal = db.prepare(`SELECT node, count(*) AS n FROM events WHERE verb = 'update' AND info ->> 'status' IN ('Success', 'Failed', 'Aborted') GROUP BY node`).all() as Array<{ n: number }>;
    expect(terminal).toHaveLength(ids.length);
    expect(terminal.every((t) => t.n === 1)).toBe(true);
    const runs = ids.map((_, n) => (existsSync(path.join(log, String(n))) ? readFileSync(path.join(log, String(n)), 'utf8').length : 0));
    expect(runs.every((r) => r >= 1)).toBe(true);
    const lost = records.reduce((n, r) => n + r!.lost, 0);
    console.log(`chaos: ${ids.length} jobs, ${kills} kills, ${runs.reduce((a, b) => a + b, 0) - ids.length} units run twice, ${lost} lost runs, ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }, 180_000);
});

import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PostgresStore, SqliteStore } from '../src/store/index.js';
import { exited, freshHome, sluice, startWorker, until } from './helpers/cli.js';
import { POSTGRES, SQLITE, type Backend } from './helpers/backends.js';
import { startPostgres } from './helpers/postgres.js';

/** How many jobs the kill -9 chaos test runs (SLUICE_CHAOS_JOBS; the trial ran 2,000). */
const CHAOS_JOBS = Number(process.env.SLUICE_CHAOS_JOBS ?? 2000);

/** A full disk on the embedded store's machine. */
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
    // The log arrives through a pipe, maybe after the results it speaks of.
    await until(() => (workers.every((w) => /the store answers again/.test(w.log())) ? true : undefined), 10_000, 'both workers to say the store answers again');
    const records = await Promise.all(ids.map((id) => store.get(id)));
    expect(records.map((r) => r!.result)).toEqual(ids.map((_, n) => n));
  }, 90_000);

});

/** The chaos test on each store; on PostgreSQL a second run also restarts the database server in the middle. */
const CHAOS_CASES: Array<{ name: string; backend: Backend; restartServer: boolean }> = [
  { name: 'sqlite', backend: SQLITE, restartServer: false },
  { name: 'postgres', backend: POSTGRES, restartServer: false },
  { name: 'postgres, the server restarted mid-run', backend: POSTGRES, restartServer: true },
];

describe.each(CHAOS_CASES)('kill -9 chaos on $name', ({ backend, restartServer }) => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it(`a random worker of four killed every half second under ${CHAOS_JOBS} jobs: every job succeeds, each recorded once`, async () => {
    // A server of its own when it is to be restarted: the shared one serves other test files meanwhile.
    const own = restartServer ? await startPostgres() : undefined;
    if (own) cleanups.push(() => own.stop());
    const h = backend.fresh();
    cleanups.push(h.cleanup);
    const env = own ? { ...h.env, SLUICE_STORE: `${own.url}?schema=chaos` } : h.env;
    const log = path.join(h.home, 'ran');
    mkdirSync(log);
    const store = own ? await PostgresStore.open(env.SLUICE_STORE!) : await h.open();
    cleanups.push(() => store.close());
    const cmd = 'require("node:fs").appendFileSync(environ.log + "/" + environ.n, "x"); await new Promise((r) => setTimeout(r, 60)); return environ.n';
    const ids: string[] = [];
    for (let n = 0; n < CHAOS_JOBS; n += 1000) {
      ids.push(...(await store.submit(Array.from({ length: Math.min(1000, CHAOS_JOBS - n) }, (_, i) => ({ owner: `u${(n + i) % 3}`, environ: { job_type: 'js', n: n + i, log, cmd } })))));
    }
    const args = ['--concurrency', '8', '--lease', '1', '--grace', '0'];
    const start = async () => {
      const w = await startWorker(env, args);
      cleanups.push(async () => {
        w.kill('SIGKILL');
        await exited(w);
      });
      return w;
    };
    const pool: ChildProcess[] = [];
    for (let i = 0; i < 4; i++) pool.push(await start());
    const kills: number[] = [];
    const started = Date.now();
    let restarted = false;
    let done = 0;
    while (done < ids.length) {
      if (Date.now() - started > 150_000) throw new Error(`chaos: only ${done} of ${ids.length} jobs ended after 150 s`);
      await new Promise((r) => setTimeout(r, 500));
      if (own && !restarted && done > ids.length / 3) {
        restarted = true;
        await own.restart();
        continue;
      }
      const victim = Math.floor(Math.random() * pool.length);
      pool[victim]!.kill('SIGKILL');
      await exited(pool[victim]!);
      kills.push(Date.now());
      pool[victim] = await start();
      const stats = await store.jobStats().catch(() => undefined);
      if (stats) done = (stats.byStatus.Success ?? 0) + (stats.byStatus.Failed ?? 0) + (stats.byStatus.Aborted ?? 0);
    }
    const records = await Promise.all(ids.map((id) => store.get(id)));
    expect(records.filter((r) => r!.status !== 'Success').map((r) => [r!.id, r!.status, r!.error])).toEqual([]);
    expect(records.map((r) => r!.result)).toEqual(ids.map((_, n) => n));
    // Each job's result was recorded once: one terminal update per job in the event log.
    const terminal = new Map<string, number>();
    for (let seq = 0; ; ) {
      const batch = await store.eventsAfter(seq, 5000);
      if (!batch.length) break;
      for (const e of batch) {
        seq = e.seq;
        if (e.verb === 'update' && (e.info.status === 'Success' || e.info.status === 'Failed' || e.info.status === 'Aborted')) terminal.set(e.id, (terminal.get(e.id) ?? 0) + 1);
      }
    }
    expect(terminal.size).toBe(ids.length);
    expect([...terminal.values()].every((n) => n === 1)).toBe(true);
    // No worker died of the store's trouble: each is alive until the end (killed ones were replaced).
    expect(pool.every((w) => w.exitCode === null && w.signalCode === null)).toBe(true);
    const runs = ids.map((_, n) => (existsSync(path.join(log, String(n))) ? readFileSync(path.join(log, String(n)), 'utf8').length : 0));
    expect(runs.every((r) => r >= 1)).toBe(true);
    // Recovery: from a kill to the re-start of a unit it took down (the lease is 1 s).
    let longest = 0;
    for (const id of ids) {
      const [unit] = await store.units(id);
      if (!unit || unit.lost === 0 || unit.started_at === null) continue;
      const kill = kills.filter((k) => k <= unit.started_at!).at(-1);
      if (kill !== undefined) longest = Math.max(longest, unit.started_at - kill);
    }
    const lost = records.reduce((n, r) => n + r!.lost, 0);
    console.log(
      `chaos (${backend.name}${own ? ', server restarted' : ''}): ${ids.length} jobs, ${kills.length} kills, ${runs.reduce((a, b) => a + b, 0) - ids.length} units run twice, ` +
        `${lost} lost runs, longest recovery ${(longest / 1000).toFixed(1)} s, ${((Date.now() - started) / 1000).toFixed(1)} s in all`,
    );
  }, 200_000);
});

import { describe, expect, it } from 'vitest';
import type { Store } from '../src/store/index.js';
import { exited, sluice, until } from './helpers/cli.js';
import { testScope } from './helpers/scope.js';
import { processesIn, runsIn } from './helpers/procs.js';

/** What a pool's worker needs: only one owner's units, and ending by itself (idle, or before an allocation's end). */
describe('worker --owner, --idle-exit, --stop-at', () => {
  const scope = testScope();
  const statusOf = async (store: Store, id: string) => (await store.get(id))?.status;
  const allDone = (store: Store, ids: string[]) =>
    until(async () => ((await Promise.all(ids.map((id) => statusOf(store, id)))).every((s) => s === 'Success') ? true : undefined), 30_000, 'the jobs to end');

  it("--owner takes only that owner's units, and another owner's waiting exclusive unit does not hold it up", async () => {
    const h = scope.home();
    const { env } = h;
    const store = await scope.store(h);
    // bob's go in first: a worker without --owner would take them before or beside alice's.
    const bobs = await store.submit(Array.from({ length: 5 }, () => ({ owner: 'bob', environ: { job_type: 'ping' } })));
    const [bobsExclusive] = await store.submit([{ owner: 'bob', exclusive: true, environ: { job_type: 'ping' } }]);
    const alices = await store.submit(Array.from({ length: 5 }, () => ({ owner: 'alice', environ: { job_type: 'ping' } })));
    const w = await scope.worker(env, ['--owner', 'alice', '--exclusive', '--concurrency', '2']);
    expect(w.log()).toContain("only alice's units");
    await allDone(store, alices);
    w.kill('SIGTERM');
    expect(await exited(w)).toBe(0);
    for (const id of [...bobs, bobsExclusive!]) expect(await statusOf(store, id)).toBe('Queued');
  }, 40_000);

  it('--idle-exit: the worker stops by itself once no unit has run for that long, not while one runs', async () => {
    const h = scope.home();
    const { env } = h;
    const store = await scope.store(h);
    const [id] = await store.submit([{ owner: 'a', environ: { job_type: 'system', cmd: 'sleep 1.5' } }]);
    const w = await scope.worker(env, ['--idle-exit', '1s']);
    expect(await exited(w)).toBe(0);
    const ended = Date.now();
    const job = await store.get(id!);
    expect(job).toMatchObject({ status: 'Success' });
    expect(ended - job!.date_end!).toBeGreaterThanOrEqual(900);
    expect(w.log()).toMatch(/idle for 1s: stopping/);
    expect(await store.liveWorkers(60_000)).toEqual([]);
  }, 30_000);

  /** A worker told to stop in 4 s, running a long unit by then (the margin is for a loaded machine). */
  async function stoppingWorker(grace: string) {
    const h = scope.home();
    const { env } = h;
    const store = await scope.store(h);
    const [id] = await store.submit([{ owner: 'a', environ: { job_type: 'system', cmd: 'sleep 60' } }]);
    const w = await scope.worker(env, ['--stop-at', new Date(Date.now() + 4000).toISOString(), '--grace', grace]);
    await until(async () => ((await statusOf(store, id!)) === 'Running' ? true : undefined), 10_000, 'running');
    return { store, id: id!, w };
  }

  it('--stop-at: at that time the worker stops and gives its running unit back, attempt not counted', async () => {
    const { store, id, w } = await stoppingWorker('0');
    expect(w.log()).toMatch(/stops at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}/);
    expect(await exited(w)).toBe(0);
    expect(w.log()).toMatch(/its stop time .* has come: stopping/);
    expect(w.log()).toContain('gave back 1 unfinished unit(s)');
    expect(await store.get(id)).toMatchObject({ status: 'Queued', attempts: 0, lost: 0 });
  }, 30_000);

  it('a SIGTERM while it stops by itself does not cut the give-back short (Slurm signals at the walltime)', async () => {
    const { store, id, w } = await stoppingWorker('3');
    await until(() => (w.log().includes('has come: stopping') ? true : undefined), 15_000, 'the stop to begin');
    w.kill('SIGTERM');
    expect(await exited(w)).toBe(0);
    expect(w.log()).toContain('SIGTERM: already stopping');
    expect(w.log()).toContain('gave back 1 unfinished unit(s)');
    expect(await store.get(id!)).toMatchObject({ status: 'Queued', attempts: 0, lost: 0 });
  }, 30_000);

  it("a SIGTERM to the worker and to every process of its units (Slurm's way) gives the units back, not Failed", async () => {
    const units = scope.unitsDir();
    const h = scope.home({ SLUICE_TMPDIR: units });
    const { env } = h;
    const store = await scope.store(h);
    const ids = await store.submit(Array.from({ length: 2 }, () => ({ owner: 'a', environ: { job_type: 'system', cmd: 'sleep 60' } })));
    const w = await scope.worker(env, ['--concurrency', '2', '--grace', '5']);
    await runsIn(units, 'sleep 60', 2);
    w.kill('SIGTERM');
    for (const p of processesIn(units)) {
      try {
        process.kill(p.pid, 'SIGTERM');
      } catch {
        // already ended by an earlier one of these signals (its reaper's)
      }
    }
    expect(await exited(w)).toBe(0);
    expect(w.log()).toContain('gave back 2 unfinished unit(s)');
    for (const id of ids) expect(await store.get(id)).toMatchObject({ status: 'Queued', attempts: 0, lost: 0 });
  }, 30_000);

  it('bad values are one-line usage errors', async () => {
    const { env } = scope.home();
    for (const [args, message] of [
      [['--idle-exit', 'soon'], /^sluice: --idle-exit must be a duration like 30s, 5m, 12h or 7d, got "soon"\n$/],
      [['--stop-at', 'whenever'], /^sluice: --stop-at must be a time like .*, got "whenever"\n$/],
      [['--label', 'slurm'], /^sluice: --label must be KEY=VALUE, got "slurm"\n$/],
      [['--owner', ''], /^sluice: --owner needs a name\n$/],
    ] as const) {
      const r = await sluice(['worker', ...args], env);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});

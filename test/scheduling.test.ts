import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from '../src/environ/index.js';
import type { JobRecord } from '../src/store/index.js';
import { LocalService } from '../src/service/index.js';
import { Worker } from '../src/worker/index.js';
import { builtinRegistry } from '../src/jobs/index.js';
import { exited, sluice, startWorker, until } from './helpers/cli.js';
import { BACKENDS } from './helpers/backends.js';

/** Issue 5 end to end: map jobs, retries, delays, placement and fair share through workers and the CLI. */
describe.each(BACKENDS)('map jobs, retries and delays through the CLI on $name', (backend) => {
  const cleanups: Array<() => void | Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const home = () => {
    const h = backend.fresh();
    cleanups.push(h.cleanup);
    return h;
  };

  it('--inputs: one unit per line, progress k of n, results in order, units listed by job --units', async () => {
    const { env, home: dir } = home();
    const inputs = path.join(dir, 'inputs.jsonl');
    writeFileSync(inputs, '1\n2\n\n{"n": 3}\n');
    const r = await sluice(['submit', '--inputs', inputs, '--cmd', 'return typeof environ.input === "number" ? environ.input * 10 : environ.input.n', '--block', '--json'], env);
    const record = JSON.parse(r.stdout);
    expect(record).toMatchObject({ status: 'Success', progress: { done: 3, total: 3 }, result: [10, 20, 3] });
    const units = await sluice(['job', record.id, '--units'], env);
    expect(units.stdout.trim().split('\n')).toEqual([
      'unit 0\tdone\tattempts: 1\tinput: 1\tresult: 10',
      'unit 1\tdone\tattempts: 1\tinput: 2\tresult: 20',
      'unit 2\tdone\tattempts: 1\tinput: {"n":3}\tresult: 3',
    ]);
  });

  it('--fail-fast stops the other units at the first failure; without it every unit runs', async () => {
    const { env, home: dir } = home();
    const inputs = path.join(dir, 'inputs.jsonl');
    writeFileSync(inputs, '"bad"\n1\n2\n');
    const cmd = 'if (environ.input === "bad") throw new Error("bad input"); await new Promise((r) => setTimeout(r, 1500 * environ.input)); return environ.input';
    const fast = JSON.parse((await sluice(['submit', '--inputs', inputs, '--fail-fast', '--cmd', cmd, '--block', '--json'], env)).stdout);
    expect(fast).toMatchObject({ status: 'Failed', error: 'unit 0: Error: bad input', result: [null, null, null] });
    expect(fast.units.map((u: { status: string }) => u.status)).toEqual(['Failed', 'Aborted', 'Aborted']);
    const fastUnits = JSON.parse((await sluice(['job', fast.id, '--units', '--json'], env)).stdout);
    expect(fastUnits.map((u: { state: string }) => u.state)).toEqual(['failed', 'aborted', 'aborted']);
    const all = JSON.parse((await sluice(['submit', '--inputs', inputs, '--cmd', cmd, '--block', '--json'], env)).stdout);
    expect(all).toMatchObject({ status: 'Failed', progress: { done: 3, total: 3 } });
    expect(all.result).toEqual([null, 1, 2]);
    expect(all.units).toEqual([
      { index: 0, status: 'Failed', error: 'Error: bad input' },
      { index: 1, status: 'Success', result: 1 },
      { index: 2, status: 'Success', result: 2 },
    ]);
  });

  it('bad inputs are refused naming the line, and nothing is stored', async () => {
    const { env, home: dir } = home();
    const inputs = path.join(dir, 'bad.jsonl');
    writeFileSync(inputs, '1\n{oops\n');
    const r = await sluice(['submit', '--inputs', inputs, '--cmd', 'return 1'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/inputs file ".*bad.jsonl", line 2: not JSON/);
    expect((await sluice(['jobs', '--json'], env)).stdout.trim()).toBe('[]');
    const empty = path.join(dir, 'empty.jsonl');
    writeFileSync(empty, '\n');
    expect((await sluice(['submit', '--inputs', empty, '--cmd', 'return 1'], env)).stderr).toMatch(/has no inputs/);
  });

  it('--retries runs a failed job again after a backoff', async () => {
    const { env, home: dir } = home();
    const marker = path.join(dir, 'tried');
    const cmd = `const fs = require("node:fs"); if (!fs.existsSync(${JSON.stringify(marker)})) { fs.writeFileSync(${JSON.stringify(marker)}, "1"); throw new Error("first try fails"); } return "second try"`;
    const r = JSON.parse((await sluice(['submit', '--retries', '2', '--cmd', cmd, '--block', '--json'], env)).stdout);
    expect(r).toMatchObject({ status: 'Success', result: 'second try', attempts: 2 });
  });

  it('--delay: the job waits, and says until when', async () => {
    const { env } = home();
    // --delay counts from when the command runs (before it opens the store, which makes the job's date).
    const before = Date.now();
    const id = (await sluice(['submit', '--delay', '4s', '--job-type', 'ping'], env)).stdout.trim();
    const w = await startWorker(env, []);
    cleanups.push(async () => {
      w.kill('SIGKILL');
      await exited(w);
    });
    const early = await sluice(['jobs', '--summary'], env);
    // Local time in moi's layout, as every human output prints times.
    expect(early.stdout).toMatch(new RegExp(`id: ${id}\\tstatus: Queued\\twaiting: delayed until \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\n`));
    const done = await sluice(['wait', id, '--timeout', '10', '--json'], env);
    const record = JSON.parse(done.stdout);
    // JSON carries UTC ISO-8601.
    expect(record.date_start).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(Date.parse(record.date_start) - before).toBeGreaterThanOrEqual(4000);
    expect((await sluice(['submit', '--delay', 'soon', '--job-type', 'ping'], env)).stderr).toMatch(/--delay must be a duration/);
  });

  it('says why a queued job waits: no worker, or a RAM need no live worker can meet', async () => {
    const { env } = home();
    const id = (await sluice(['submit', '--job-type', 'ping', '--ram', '2G'], env)).stdout.trim();
    expect((await sluice(['job', id], env)).stdout).toMatch(/waiting\s+: no worker is running \(start one with: sluice worker\)/);
    const w = await startWorker(env, ['--ram', '1G', '--lease', '1']);
    cleanups.push(async () => {
      w.kill('SIGKILL');
      await exited(w);
    });
    await until(async () => ((await sluice(['job', id], env)).stdout.includes('needs 2048 MiB of RAM; the largest live worker offers 1024 MiB') ? true : undefined), 10_000, 'the reason');
    expect(JSON.parse((await sluice(['job', id, '--json'], env)).stdout).status).toBe('Queued');
  });

  it('sluice fairshare shows active owners; --share sets a share', async () => {
    const { env } = home();
    await sluice(['submit', '--user', 'alice', '--job-type', 'ping'], env);
    await sluice(['submit', '--user', 'bob', '--job-type', 'ping'], env);
    const r = await sluice(['fairshare', '--share', 'alice=2'], env);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^owner\s+share\s+usage \(s\)\s+factor\s+running\s+queued$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/))).toEqual(expect.arrayContaining([['alice', '2', '0.0', '1.000', '0', '1'], ['bob', '1', '0.0', '1.000', '0', '1']]));
    expect((await sluice(['fairshare', '--share', 'alice'], env)).code).toBe(2);
  });
});

describe.each(BACKENDS)('placement and fair share in a worker on $name', (backend) => {
  const cleanups: Array<() => void | Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  async function setup(registry: Registry) {
    const h = backend.fresh();
    const store = await h.open();
    cleanups.push(h.cleanup, () => store.close());
    const service = new LocalService(store, { registry });
    return { store, service };
  }
  const sleepJob = (ms: number) => async () => {
    await new Promise((r) => setTimeout(r, ms));
    return { value: Date.now() };
  };

  it('an exclusive unit runs alone on its worker', async () => {
    const registry = new Registry({ nodeModules: [] }).registerJob('cpu-exec', sleepJob(150)).registerJob('quick', sleepJob(60));
    const { store, service } = await setup(registry);
    const ids = await service.submit([
      { owner: 'a', environ: { job_type: 'quick' } },
      { owner: 'a', environ: { job_type: 'cpu-exec' } },
      { owner: 'a', environ: { job_type: 'quick' } },
      { owner: 'a', environ: { job_type: 'quick' } },
    ]);
    const worker = new Worker({ store, registry, concurrency: 4, exclusive: true });
    await worker.start();
    cleanups.push(() => worker.stop(0));
    const records = await Promise.all(ids.map((id) => service.wait(id, { timeoutMs: 10_000 })));
    const excl = records[1]!;
    for (const other of [records[0]!, records[2]!, records[3]!]) {
      const overlaps = other.date_start! < excl.date_end! && excl.date_start! < other.date_end!;
      expect(overlaps).toBe(false);
    }
  });

  it('an exclusive unit is not starved by a stream of ordinary ones: its worker drains for it', async () => {
    const registry = new Registry({ nodeModules: [] }).registerJob('cpu-exec', sleepJob(50)).registerJob('quick', sleepJob(40));
    const { store, service } = await setup(registry);
    const first = await service.submit(Array.from({ length: 6 }, () => ({ owner: 'a', environ: { job_type: 'quick' } })));
    const worker = new Worker({ store, registry, concurrency: 2, exclusive: true });
    await worker.start();
    cleanups.push(() => worker.stop(0));
    await until(async () => ((await service.get(first[1]!)).status !== 'Queued' ? true : undefined), 10_000, 'ordinary work to start');
    const [excl] = await service.submit([{ owner: 'a', environ: { job_type: 'cpu-exec' } }]);
    const later = await service.submit(Array.from({ length: 6 }, () => ({ owner: 'a', environ: { job_type: 'quick' } })));
    const done = await service.wait(excl!, { timeoutMs: 10_000 });
    const ordinary = await Promise.all([...first, ...later].map((id) => service.wait(id, { timeoutMs: 10_000 })));
    expect(ordinary.filter((r) => r.date_start! > done.date_start!).length).toBeGreaterThan(0);
    for (const other of ordinary) expect(other.date_start! < done.date_end! && done.date_start! < other.date_end!).toBe(false);
  });

  it('says whom a queued job waits behind in the fair-share order', async () => {
    const registry = new Registry({ nodeModules: [] }).registerJob(
      'long',
      (_e, ctx) => new Promise((resolve) => ctx.signal.addEventListener('abort', () => resolve(undefined))),
    );
    const { store, service } = await setup(registry);
    const [running] = await service.submit([{ owner: 'alice', environ: { job_type: 'long' } }]);
    const worker = new Worker({ store, registry, concurrency: 1 });
    await worker.start();
    cleanups.push(() => worker.stop(0));
    await until(async () => ((await service.get(running!)).status === 'Running' ? true : undefined), 10_000, 'the first job to run');
    const [alices, bobs] = await service.submit([
      { owner: 'alice', environ: { job_type: 'long' } },
      { owner: 'bob', environ: { job_type: 'long' } },
    ]);
    const reasons = await service.waitReasons(await service.list({ status: 'Queued' }));
    expect(reasons.get(bobs!)).toMatch(/^next in the fair-share order \(factor [\d.]+, class normal\); waiting for a free worker slot$/);
    expect(reasons.get(alices!)).toMatch(/^behind 1 unit\(s\) of 1 owner\(s\) ranked ahead \(fair-share factor [\d.]+, class normal\)$/);
    await service.abort(running!);
  });

  it('a worker that may not run exclusive work leaves exclusive units alone', async () => {
    const registry = new Registry({ nodeModules: [] }).registerJob('cpu-exec', sleepJob(10)).registerJob('quick', sleepJob(10));
    const { store, service } = await setup(registry);
    const [excl, quick] = await service.submit([{ owner: 'a', environ: { job_type: 'cpu-exec' } }, { owner: 'a', environ: { job_type: 'quick' } }]);
    const worker = new Worker({ store, registry, concurrency: 2, exclusive: false });
    await worker.start();
    cleanups.push(() => worker.stop(0));
    await service.wait(quick!, { timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 200));
    expect((await service.get(excl!)).status).toBe('Queued');
  });

  it('RAM: units run only while they fit the RAM the worker offers', async () => {
    const registry = new Registry({ nodeModules: [] }).registerJob('big', sleepJob(100));
    const { store, service } = await setup(registry);
    const ids = await service.submit([1, 2, 3].map(() => ({ owner: 'a', environ: { job_type: 'big' }, ramMb: 600 })));
    const worker = new Worker({ store, registry, concurrency: 3, ramMb: 1000 });
    await worker.start();
    cleanups.push(() => worker.stop(0));
    const records = (await Promise.all(ids.map((id) => service.wait(id, { timeoutMs: 10_000 })))) as JobRecord[];
    const spans = records.map((r) => [r.date_start!, r.date_end!]).sort((a, b) => a[0]! - b[0]!);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]!);
  });

  it("bumps: a newcomer's single job starts before the heavy user's queued units", async () => {
    const registry = builtinRegistry();
    const { store, service } = await setup(registry);
    const heavy = await service.submit(Array.from({ length: 300 }, () => ({ owner: 'heavy', environ: { job_type: 'js', cmd: 'await new Promise((r) => setTimeout(r, 5))' } })));
    const worker = new Worker({ store, registry, concurrency: 2 });
    await worker.start();
    cleanups.push(() => worker.stop(0));
    await until(async () => ((await store.list({ owner: 'heavy', status: 'Success' })).length >= 20 ? true : undefined), 20_000, 'the heavy user to get going');
    const [newcomer] = await service.submit([{ owner: 'newcomer', environ: { job_type: 'ping' } }]);
    const mine = await service.wait(newcomer!, { timeoutMs: 10_000 });
    const queuedThen = (await Promise.all(heavy.map((id) => store.get(id)))).filter((r) => r!.date_start === null || r!.date_start > mine.date_start!);
    // Units of the heavy user were still waiting when the newcomer started, and none of them went first.
    expect(queuedThen.length).toBeGreaterThan(100);
  }, 60_000);

  it('shares hold for short units: with alice=3, bob=1 and one slot, 0.2 s units run about 3:1, not alternating', async () => {
    const { env, home: dir, cleanup } = backend.fresh();
    cleanups.push(cleanup);
    expect((await sluice(['fairshare', '--share', 'alice=3'], env)).code).toBe(0);
    const inputs = path.join(dir, 'inputs.jsonl');
    writeFileSync(inputs, Array.from({ length: 20 }, (_, i) => String(i)).join('\n'));
    const cmd = 'await new Promise((r) => setTimeout(r, 200))';
    const ids = [];
    for (const user of ['alice', 'bob']) ids.push((await sluice(['submit', '--user', user, '--inputs', inputs, '--cmd', cmd], env)).stdout.trim());
    const w = await startWorker(env, ['--concurrency', '1']);
    cleanups.push(async () => {
      w.kill('SIGKILL');
      await exited(w);
    });
    for (const id of ids) expect((await sluice(['wait', id, '--timeout', '60'], env)).code).toBe(0);
    const units = (await Promise.all(ids.map(async (id, i) => JSON.parse((await sluice(['job', id, '--units', '--json'], env)).stdout).map((u: { started_at: string }) => ({ who: i, at: Date.parse(u.started_at) })))))
      .flat()
      .sort((a, b) => a.at - b.at);
    // While both had work queued (the first 20 starts), 3:1 is 15 of alice's; alternating is 10.
    const alice = units.slice(0, 20).filter((u) => u.who === 0).length;
    expect(alice).toBeGreaterThanOrEqual(14);
    expect(alice).toBeLessThanOrEqual(17);
  }, 60_000);
});

import { describe, expect, it } from 'vitest';
import { sluice, until } from './helpers/cli.js';
import { BACKENDS } from './helpers/backends.js';
import { testScope } from './helpers/scope.js';

/** Named worker pools (moi's contexts): a unit runs only on a worker of its pool; fair share holds inside each. */
describe.each(BACKENDS)('worker pools on $name', (backend) => {
  const scope = testScope(backend);

  it('units never cross pools; the record says its pool as moi\'s context; an unserved pool says so at once', async () => {
    const h = scope.home();
    const store = await scope.store(h);
    const gpuWorker = await scope.worker(h.env, ['--pool', 'gpu', '--concurrency', '2']);
    const anyWorker = await scope.worker(h.env, ['--concurrency', '2']);
    const workersOf = new Map((await store.liveWorkers(60_000)).map((w) => [w.id, w.pools]));
    expect([...workersOf.values()].sort()).toEqual([['default'], ['gpu']]);
    const cmd = 'await new Promise((r) => setTimeout(r, 20)); return 1';
    const gpu = await Promise.all(Array.from({ length: 6 }, async () => (await sluice(['submit', '--pool', 'gpu', '--cmd', cmd], h.env)).stdout.trim()));
    const plain = await Promise.all(Array.from({ length: 6 }, async () => (await sluice(['submit', '--cmd', cmd], h.env)).stdout.trim()));
    for (const id of [...gpu, ...plain]) expect((await sluice(['wait', id, '--timeout', '30'], h.env)).code).toBe(0);
    for (const id of gpu) {
      expect(JSON.parse((await sluice(['job', id, '--json'], h.env)).stdout).context).toBe('gpu');
      expect(workersOf.get((await store.units(id))[0]!.worker!)).toEqual(['gpu']);
    }
    for (const id of plain) expect(workersOf.get((await store.units(id))[0]!.worker!)).toEqual(['default']);
    const lonely = await sluice(['submit', '--pool', 'big', '--job-type', 'ping'], h.env);
    expect((await sluice(['job', lonely.stdout.trim()], h.env)).stdout).toMatch(/waiting\s+: no live worker serves pool big \(start one with: sluice worker --pool big\)/);
    expect(await sluice(['submit', '--pool', 'no spaces', '--job-type', 'ping'], h.env)).toMatchObject({ code: 2, stderr: 'sluice: a pool name is 1-100 letters, digits, ".", "_" or "-", got "no spaces"\n' });
    void gpuWorker;
    void anyWorker;
  }, 60_000);

  it('fair share holds inside a pool: alice=3, bob=1 on one gpu slot run about 3:1, whatever the default pool does', async () => {
    const h = scope.home();
    const store = await scope.store(h);
    await store.setShare('alice', 3);
    const job = (owner: string, pool: string) => ({ owner, pool, environ: { job_type: 'js', cmd: 'await new Promise((r) => setTimeout(r, 100)); return 1' } });
    const ids = await store.submit([...Array.from({ length: 16 }, () => job('alice', 'gpu')), ...Array.from({ length: 16 }, () => job('bob', 'gpu'))]);
    // bob's units queued in the default pool do not count in gpu's order.
    await store.submit(Array.from({ length: 20 }, () => job('bob', 'default')));
    await scope.worker(h.env, ['--pool', 'gpu', '--concurrency', '1']);
    await until(async () => ((await Promise.all(ids.map((id) => store.get(id)))).filter((r) => r!.status === 'Success').length >= 16 ? true : undefined), 60_000, '16 gpu jobs');
    const starts = (await Promise.all(ids.map(async (id) => ({ owner: (await store.get(id))!.owner, at: (await store.units(id))[0]!.started_at })))).filter((u) => u.at !== null).sort((a, b) => a.at! - b.at!);
    const alice = starts.slice(0, 16).filter((u) => u.owner === 'alice').length;
    expect(alice).toBeGreaterThanOrEqual(11);
    expect(alice).toBeLessThanOrEqual(14);
  }, 90_000);
});

describe.each(BACKENDS)('sluice fairshare per pool on $name', (backend) => {
  const scope = testScope(backend);

  it('a row per pool and owner, each counting only its pool; --pool shows one; workers show their pools', async () => {
    const h = scope.home();
    const store = await scope.store(h);
    await store.submit([
      ...Array.from({ length: 3 }, () => ({ owner: 'alice', pool: 'gpu', environ: { job_type: 'ping' } })),
      ...Array.from({ length: 2 }, () => ({ owner: 'alice', environ: { job_type: 'ping' } })),
      { owner: 'bob', environ: { job_type: 'ping' } },
    ]);
    const all = JSON.parse((await sluice(['fairshare', '--json'], h.env)).stdout) as Array<{ pool: string; owner: string; queued: number }>;
    expect(all.map((r) => [r.pool, r.owner, r.queued]).sort()).toEqual([['default', 'alice', 2], ['default', 'bob', 1], ['gpu', 'alice', 3]]);
    const gpu = await sluice(['fairshare', '--pool', 'gpu'], h.env);
    const lines = gpu.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^pool\s+owner\s+share/);
    expect(lines.slice(1).map((l) => l.split(/\s+/)[0] + ' ' + l.split(/\s+/)[1])).toEqual(['gpu alice']);
    expect(await sluice(['fairshare', '--pool', 'bad name'], h.env)).toMatchObject({ code: 2, stderr: expect.stringMatching(/^sluice: a pool name is/) });
    await scope.worker(h.env, ['--pool', 'gpu', '--pool', 'big', '--concurrency', '1']);
    expect((await sluice(['workers'], h.env)).stdout).toMatch(/\tpools: gpu,big\t/);
  }, 60_000);
});

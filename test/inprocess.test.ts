import { afterEach, describe, expect, it } from 'vitest';
import { LocalService } from '../src/service/index.js';
import { Worker } from '../src/worker/index.js';
import { builtinRegistry } from '../src/jobs/index.js';
import { BACKENDS } from './helpers/backends.js';

/**
 * Sluice embedded in an application: the program opens the store, starts a Worker on it and submits
 * jobs in the same process (the shape of `sluice serve` with embedded workers). A local write must
 * wake local waiters at once, not at the next poll.
 */
describe.each(BACKENDS)('a worker and its submitter in one process on $name', (backend) => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('starts each job submitted here without waiting for a poll, and an in-process wait sees it end', async () => {
    const h = backend.fresh();
    cleanups.push(h.cleanup);
    const store = await h.open();
    cleanups.push(() => store.close());
    const registry = builtinRegistry();
    const service = new LocalService(store, { registry });
    const worker = new Worker({ store, registry, concurrency: 2 });
    await worker.start();
    cleanups.push(() => worker.stop(0));
    // Let the worker go idle (it sleeps up to a second between polls when nothing is queued).
    await new Promise((r) => setTimeout(r, 300));
    const delays: number[] = [];
    for (let i = 0; i < 10; i++) {
      const [id] = await service.submit([{ owner: 'app', environ: { job_type: 'ping', ping: i } }]);
      const record = await service.wait(id!, { timeoutMs: 10_000 });
      expect(record).toMatchObject({ status: 'Success', result: { pong: i } });
      delays.push(record.date_start! - record.date_created);
      // Idle again before the next one, so that each submission has to wake the worker.
      await new Promise((r) => setTimeout(r, 50));
    }
    delays.sort((a, b) => a - b);
    // Before the fix each waited for the worker's 1 s poll (median 996 ms); now it is a wake-up.
    expect(delays[5]).toBeLessThan(200);
  }, 30_000);
});

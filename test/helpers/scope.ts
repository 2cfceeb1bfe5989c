import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach } from 'vitest';
import type { Store } from '../../src/store/index.js';
import { exited, startWorker } from './cli.js';
import { processesIn } from './procs.js';
import { SQLITE, type Backend } from './backends.js';
import { startServe, type Served } from './server.js';

/**
 * What a test starts (homes, stores, worker processes) and must stop, stopped after each test in
 * reverse order, whether it passed or not. Call it inside a `describe`.
 */
export function testScope(backend: Backend = SQLITE) {
  const cleanups: Array<() => void | Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  return {
    defer(...fns: Array<() => void | Promise<void>>): void {
      cleanups.push(...fns);
    },
    /** A fresh SLUICE_HOME with a fresh store of the scope's backend; `extra` variables are added to its environment. */
    home(extra: NodeJS.ProcessEnv = {}) {
      const h = backend.fresh();
      cleanups.push(h.cleanup);
      return { ...h, env: { ...h.env, ...extra } };
    },
    /** The home's store, opened directly (to submit many jobs at once, to read records). */
    async store(h: { open: () => Promise<Store> }): Promise<Store> {
      const store = await h.open();
      cleanups.push(() => store.close());
      return store;
    },
    /** A folder for a worker's units (its SLUICE_TMPDIR, see procs.ts); whatever still runs in it at the end is killed. */
    unitsDir(): string {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-units-'));
      cleanups.push(() => {
        for (const p of processesIn(dir)) {
          try {
            process.kill(p.pid, 'SIGKILL');
          } catch (err) {
            // Listed, then gone by itself before the kill: nothing left to do.
            if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
          }
        }
        rmSync(dir, { recursive: true, force: true });
      });
      return dir;
    },
    /** A `sluice serve` process, stopped (SIGTERM, then SIGKILL) at the end. */
    async serve(env: NodeJS.ProcessEnv, args: string[] = []): Promise<Served> {
      const s = await startServe(env, args);
      cleanups.push(async () => {
        const timer = setTimeout(() => s.child.kill('SIGKILL'), 15_000);
        await s.stop();
        clearTimeout(timer);
      });
      return s;
    },
    /** A `sluice worker` process, SIGKILLed at the end. */
    async worker(env: NodeJS.ProcessEnv, args: string[] = []): Promise<ChildProcess & { log: () => string }> {
      const w = await startWorker(env, args);
      cleanups.push(async () => {
        w.kill('SIGKILL');
        await exited(w);
      });
      return w;
    },
  };
}

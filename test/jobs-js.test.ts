import { describe, expect, it } from 'vitest';
import { run } from '../src/environ/index.js';
import { builtinRegistry } from '../src/jobs/index.js';
import { exited, sluice, until } from './helpers/cli.js';
import { nothingLeftIn, runsIn } from './helpers/procs.js';
import { testScope } from './helpers/scope.js';

const registry = builtinRegistry({ nodeModules: [], pluginModules: [] });
let jobs = 0;
/** Runs one js job as `owner` would through a worker, and returns its value. */
async function js(owner: string, cmd: string): Promise<unknown> {
  const out = await run({ job_type: 'js', cmd }, { registry, identity: { job: `job-${++jobs}`, unit: 0, owner } });
  expect(out.exception).toBeUndefined();
  return out.value;
}
const pid = (owner: string) => js(owner, 'return process.pid');

describe('js jobs: one owner per child, a clean scope per job', () => {
  it("an owner's later job reuses its child and starts from a clean global scope", async () => {
    const first = await js('ann', 'globalThis.leak = 1; implicit = 2; process.env.LEAK = "x"; delete globalThis.URL; globalThis.JSON = null; process.umask(0o077); return process.pid');
    const second = await js('ann', 'return [process.pid, typeof leak, typeof implicit, process.env.LEAK ?? null, typeof URL, typeof JSON.parse, process.umask().toString(8)]');
    expect(second).toEqual([first, 'undefined', 'undefined', null, 'function', 'function', expect.not.stringMatching(/^77$/)]);
  });

  it("another owner never gets an owner's child", async () => {
    const a = await pid('amy');
    const b = await pid('bea');
    expect(b).not.toBe(a);
    expect(await pid('amy')).toBe(a);
    expect(await pid('bea')).toBe(b);
  });

  it.each([
    ['a timer left running', 'setTimeout(() => {}, 60_000)'],
    ['a property added to a built-in prototype', 'Array.prototype.evil = 1'],
    ['a process listener', 'process.on("exit", () => {})'],
    ['a global that cannot be deleted', 'Object.defineProperty(globalThis, "stuck", { value: 1 })'],
  ])('a child left with %s is not reused', async (_what, cmd) => {
    const owner = `o-${jobs}`;
    const first = await js(owner, `${cmd}; return process.pid`);
    const next = await js(owner, 'return [process.pid, [].evil ?? null, typeof stuck]');
    expect(next).toEqual([expect.any(Number), null, 'undefined']);
    expect((next as number[])[0]).not.toBe(first);
  });
});

describe("js jobs through a worker: users' state and the worker's secrets", () => {
  const t = testScope();

  it("mallory sees neither alice's globals nor her process.env, nor the worker's SLUICE_* or other secrets", async () => {
    const h = t.home({ SLUICE_SECRET_TEST: 'x', DATABASE_PASSWORD: 'hunter2' });
    const store = await t.store(h);
    // One slot: every job goes through the same worker, one after the other, as in the issue.
    await t.worker(h.env, ['--concurrency', '1']);
    const look = 'return [process.pid, globalThis.leak ?? null, process.env.LEAK ?? null, Object.keys(process.env).filter((k) => k.startsWith("SLUICE_") || k === "DATABASE_PASSWORD")]';
    const results: unknown[] = [];
    for (const [owner, cmd] of [
      ['alice', 'globalThis.leak = "secret"; process.env.LEAK = "x"; return [process.pid]'],
      ['mallory', look],
      ['alice', look],
    ] as const) {
      const [id] = await store.submit([{ owner, environ: { job_type: 'js', cmd } }]);
      const record = await until(async () => {
        const r = await store.get(id!);
        return r && (r.status === 'Success' || r.status === 'Failed') ? r : undefined;
      }, 30_000, `${owner}'s job`);
      expect(record.status, JSON.stringify(record.result)).toBe('Success');
      results.push(record.result);
    }
    const [[alicePid], mallory, alice] = results as [[number], unknown[], unknown[]];
    expect(mallory).toEqual([expect.any(Number), null, null, []]);
    expect(mallory[0]).not.toBe(alicePid);
    // alice's own next job reuses her child, and starts clean too.
    expect(alice).toEqual([alicePid, null, null, []]);
  }, 60_000);
});

describe('js jobs: what a job starts ends with its child', () => {
  const t = testScope();
  const DAEMON = `require("node:child_process").execSync("(setsid sh -c 'sleep 15' &)"); await new Promise(() => {})`;

  it('sluice abort of a js job kills a daemon it started', async () => {
    const h = t.home();
    const dir = t.unitsDir();
    await t.worker({ ...h.env, SLUICE_TMPDIR: dir });
    const id = (await sluice(['submit', '--cmd', DAEMON], h.env)).stdout.trim();
    await runsIn(dir, 'sh -c sleep 15');
    expect((await sluice(['abort', id], h.env)).code).toBe(0);
    await nothingLeftIn(dir, "the aborted js job's daemon to end");
  }, 40_000);

  it('SIGKILL of a worker kills the daemons of its js jobs', async () => {
    const h = t.home();
    const dir = t.unitsDir();
    const w = await t.worker({ ...h.env, SLUICE_TMPDIR: dir });
    await sluice(['submit', '--cmd', DAEMON], h.env);
    await runsIn(dir, 'sh -c sleep 15');
    w.kill('SIGKILL');
    await exited(w);
    await nothingLeftIn(dir, "the killed worker's js daemon to end");
  }, 40_000);
});

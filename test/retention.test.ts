import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, exited, sluice, startWorker, until } from './helpers/cli.js';
import { BACKENDS } from './helpers/backends.js';

/** Retention through the CLI: prune, --keep, SLUICE_RETENTION, background pruning, and watchers told to resync. */
describe.each(BACKENDS)('retention on $name', (backend) => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  const home = () => {
    const h = backend.fresh();
    cleanups.push(h.cleanup);
    return h;
  };
  const ids = (out: string) => JSON.parse(out).map((j: { id: string }) => j.id);

  it('prune --dry-run counts, prune removes ended jobs past retention; --keep and running jobs stay', async () => {
    const { env } = home();
    const old = (await sluice(['submit', '--job-type', 'ping', '--block', '--json'], env)).stdout;
    const oldId = JSON.parse(old).id;
    const kept = JSON.parse((await sluice(['submit', '--job-type', 'ping', '--keep', '7d', '--block', '--json'], env)).stdout).id;
    const queued = (await sluice(['submit', '--job-type', 'ping'], env)).stdout.trim();
    // Retention 30 days by default: nothing has ended that long ago.
    expect((await sluice(['prune', '--dry-run'], env)).stdout).toBe('would remove 0 job(s) that ended over 30d ago and 0 event(s)\n');
    expect((await sluice(['prune', '--older-than', '0', '--dry-run', '--json'], env)).stdout).toMatch(/"jobs": 1/);
    expect(ids((await sluice(['jobs', '--json'], env)).stdout)).toHaveLength(3);
    const r = await sluice(['prune', '--older-than', '0'], env);
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout).toMatch(/^removed 1 ended job\(s\), 0 empty group\(s\) and \d+ event\(s\); events through \d+ are gone\n$/);
    expect((await sluice(['jobs', '--json'], env)).stdout).not.toContain(oldId);
    expect(ids((await sluice(['jobs', '--json'], env)).stdout).sort()).toEqual([kept, queued].sort());
    expect(await sluice(['job', oldId], env)).toMatchObject({ code: 3 });
    expect((await sluice(['prune', '--older-than', 'soon'], env))).toMatchObject({ code: 2, stderr: 'sluice: --older-than must be a duration like 30s, 5m, 12h or 7d (a plain number is days), got "soon"\n' });
  });

  it('SLUICE_RETENTION and the background pruning of a worker', async () => {
    const { env } = home();
    const short = { ...env, SLUICE_RETENTION: '1s', SLUICE_PRUNE_EVERY: '1s' };
    const id = JSON.parse((await sluice(['submit', '--job-type', 'ping', '--block', '--json'], short)).stdout).id;
    const w = await startWorker(short, []);
    cleanups.push(async () => {
      w.kill('SIGKILL');
      await exited(w);
    });
    await until(async () => ((await sluice(['job', id], short)).code === 3 ? true : undefined), 20_000, 'the worker to prune the job');
    expect(w.log()).toMatch(/pruned 1 ended job\(s\), 1 empty group\(s\) and \d+ event\(s\)/);
  });

  it('a watcher asking for a pruned sequence number gets resync, then the current state', async () => {
    const { env } = home();
    await sluice(['submit', '--job-type', 'ping', '--block'], env);
    const live = (await sluice(['submit', '--job-type', 'ping', '--user', 'bob'], env)).stdout.trim();
    await sluice(['prune', '--older-than', '0'], env);
    const child = spawn(process.execPath, [BIN, 'watch', '--since', '1'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    cleanups.push(async () => {
      child.kill('SIGTERM');
      await exited(child);
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    await until(() => (out.includes('"sync"') ? true : undefined), 10_000, 'the watcher to catch up');
    const lines = out.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0]).toEqual({ verb: 'resync', seq: expect.any(Number) });
    expect(lines.filter((l) => l.verb === 'get').map((l) => l.id)).toEqual([live]);
    expect(lines.at(-1)).toMatchObject({ verb: 'sync' });
  });
});

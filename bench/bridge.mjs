// The moi bridge: how fast `sluice bridge` mirrors a store into Redis (a fresh mirror of N nodes, a
// burst of N new jobs while it runs) and how soon one change is announced (submit to the `add` a moi
// consumer receives). A real redis-server; the bridge runs as users run it, a `sluice bridge`
// process. `node bench/bridge.mjs` prints the markdown section.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { SqliteStore } from '../dist/store/index.js';
import { startRedis } from './lib/servers.mjs';
import { fmt, now, summarize } from './lib/stats.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.join(here, '..', 'dist', 'cli', 'main.js');
const N = Number(process.env.BENCH_BRIDGE_JOBS ?? 20_000);
const SINGLES = 200;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Waits until the bridge's place in Redis is the store's last sequence number; returns when (ms). */
async function caughtUp(redis, store) {
  const target = await store.lastSeq();
  while (Number(await redis.get('sluice:bridge:seq')) < target) await sleep(2);
  return now();
}

export async function main() {
  const home = mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-bridge-'));
  const server = await startRedis();
  const url = `redis://127.0.0.1:${server.port}`;
  const store = new SqliteStore(path.join(home, 'sluice.db'));
  const redis = new Redis({ port: server.port, host: '127.0.0.1' });
  const sub = new Redis({ port: server.port, host: '127.0.0.1' });
  const env = { ...process.env, SLUICE_HOME: home, SLUICE_STORE: '', SLUICE_PRUNE_EVERY: '0' };
  let bridge;
  try {
    await store.submit(Array.from({ length: N }, (_, i) => ({ owner: `o${i % 10}`, group: `o${i % 10}/g${i % 100}`, environ: { job_type: 'ping', ping: i } })));
    const t0 = now();
    bridge = spawn(process.execPath, [BIN, 'bridge', url], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    bridge.stderr.resume();
    const snapshotMs = (await caughtUp(redis, store)) - t0;

    const t1 = now();
    await store.submit(Array.from({ length: N }, (_, i) => ({ owner: `o${i % 10}`, group: `o${i % 10}/g${i % 100}`, environ: { job_type: 'ping', ping: i } })));
    const burstMs = (await caughtUp(redis, store)) - t1;

    // One job at a time: from the submit call to the `add` on its group's channel.
    const waiting = new Map();
    sub.on('pmessage', (_p, _channel, text) => {
      for (const id of JSON.parse(text).add ?? []) waiting.get(id)?.(now());
    });
    await sub.psubscribe('*:pubsub');
    const latencies = [];
    for (let i = 0; i < SINGLES; i++) {
      const submitted = now();
      let resolve;
      const seen = new Promise((r) => (resolve = r));
      const [id] = await store.submit([{ owner: 'single', environ: { job_type: 'ping' } }]);
      waiting.set(id, resolve);
      if ((await redis.get(id)) !== null) resolve(now()); // announced before we listened for it
      latencies.push((await seen) - submitted);
      waiting.delete(id);
      await sleep(5);
    }
    const single = summarize(latencies);
    const nodes = N + 10 + 100;
    return [
      '## The moi bridge: mirroring into Redis',
      '',
      `\`sluice bridge\` (its own process) against redis-server ${server.version} on loopback, a SQLite store of ${fmt(N)} queued \`ping\` jobs in 100 groups of 10 owners.`,
      '',
      '| what | time | rate |',
      '|---|---|---|',
      `| a fresh mirror: start to \`sluice:bridge:seq\` caught up (${fmt(nodes)} nodes, each written and announced) | ${fmt(snapshotMs)} ms | ${fmt(nodes / (snapshotMs / 1000))} nodes/s |`,
      `| ${fmt(N)} jobs submitted at once while it runs, to caught up | ${fmt(burstMs)} ms | ${fmt(N / (burstMs / 1000))} jobs/s |`,
      '',
      `One job at a time (${SINGLES}, 5 ms apart): submit to the \`add\` a moi consumer receives, p50 ${fmt(single.p50, 1)} ms, p90 ${fmt(single.p90, 1)} ms, p99 ${fmt(single.p99, 1)} ms (the bridge writes a batch once no change has come for 2 ms; the store wakes it through inotify).`,
      '',
    ].join('\n');
  } finally {
    bridge?.kill('SIGTERM');
    if (bridge) await new Promise((r) => (bridge.exitCode !== null ? r() : bridge.once('exit', r)));
    redis.disconnect();
    sub.disconnect();
    await store.close();
    await server.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(await main());
}

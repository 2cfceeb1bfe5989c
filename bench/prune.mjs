// Pruning benchmark: a store holding N ended jobs (default 1,000,000) is pruned by `sluice prune`
// in its own process while a `sluice worker` serves a steady stream of jobs; the stream's
// enqueue-to-start latency during the pruning is compared with before it. `node bench/prune.mjs`
// prints the markdown section. Everything goes through the store's API and the CLI.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteStore } from '../dist/store/index.js';
import { fmt, now, summarize } from './lib/stats.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.join(here, '..', 'dist', 'cli', 'main.js');
const N = Number(process.env.BENCH_PRUNE_JOBS ?? 1_000_000);
const BATCH = 10_000;
const STREAM_EVERY_MS = 5;

/** N ended jobs, made through the store as a worker would make them (submit, claim, complete). */
async function fill(store) {
  const t0 = now();
  for (let done = 0; done < N; done += BATCH) {
    const n = Math.min(BATCH, N - done);
    await store.submit(Array.from({ length: n }, (_, i) => ({ owner: `o${(done + i) % 10}`, environ: { job_type: 'ping', ping: done + i } })));
  }
  const worker = await store.registerWorker({ host: 'bench', pid: process.pid, concurrency: 1000, ram_mb: 1 << 20, exclusive: false });
  for (;;) {
    const { queues } = await store.queueSnapshot();
    if (!queues.length) break;
    const picks = queues.map((q) => ({ owner: q.owner, class: q.class, exclusive: q.exclusive, count: 500 }));
    const claimed = await store.claim(worker, { picks, freeRamMb: 1 << 30, leaseMs: 600_000 });
    await store.complete(claimed.map((u) => ({ unit: u.unit, token: u.token, output: { ...u.environ, pong: u.environ.ping, result: 'SUCCESS' }, result: { pong: u.environ.ping } })));
  }
  await store.unregisterWorker(worker);
  return now() - t0;
}

function start(args, env) {
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise((resolve) => child.once('exit', (code) => resolve({ code, out, err })));
  return { child, exited, log: () => err };
}

/** Submits one stamp job every STREAM_EVERY_MS until `until()` is true; returns each job's enqueue-to-start latency. */
async function stream(store, until) {
  const pending = [];
  while (!until()) {
    const submitted = now();
    const [id] = await store.submit([{ owner: 'stream', environ: { job_type: 'stamp' }, keepMs: 3_600_000 }]);
    pending.push({ id, submitted });
    await new Promise((r) => setTimeout(r, STREAM_EVERY_MS));
  }
  const latencies = [];
  for (const { id, submitted } of pending) {
    let record;
    while ((record = await store.get(id)).status !== 'Success') await store.waitForChange(20);
    latencies.push(record.output.started - submitted);
  }
  return summarize(latencies);
}

export async function main() {
  const home = mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-prune-'));
  const env = { ...process.env, SLUICE_HOME: home, SLUICE_STORE: '', SLUICE_PRUNE_EVERY: '0', SLUICE_PLUGINS: path.join(here, 'lib', 'stamp-plugin.mjs') };
  const store = new SqliteStore(path.join(home, 'sluice.db'));
  try {
    const fillMs = await fill(store);
    const dbBytes = statSync(path.join(home, 'sluice.db')).size;
    const worker = start(['worker', '--concurrency', '4'], env);
    while (!worker.log().includes(': started')) await new Promise((r) => setTimeout(r, 20));
    const baseEnd = Date.now() + 5000;
    const before = await stream(store, () => Date.now() > baseEnd);
    let pruned = false;
    const t0 = now();
    const prune = start(['prune', '--older-than', '0', '--json'], env);
    void prune.exited.then(() => (pruned = true));
    const during = await stream(store, () => pruned);
    const { code, out, err } = await prune.exited;
    const pruneMs = now() - t0;
    if (code !== 0) throw new Error(`sluice prune failed: ${err}`);
    const report = JSON.parse(out);
    worker.child.kill('SIGTERM');
    await worker.exited;
    return [
      '## Pruning: a million ended jobs, with a worker busy meanwhile',
      '',
      `${fmt(N)} ended \`ping\` jobs (made through the store in ${fmt(fillMs / 1000, 0)} s; database ${fmt(dbBytes / 2 ** 20)} MiB) are removed by \`sluice prune --older-than 0\` in its own process, in small transactions (500 jobs each, 10 ms apart), while a \`sluice worker --concurrency 4\` serves a stream of one job every ${STREAM_EVERY_MS} ms submitted from a third process. Latency is the stream's enqueue-to-start time (submit call to the job's first line).`,
      '',
      '| phase | jobs in stream | latency p50 (ms) | p99 (ms) | max (ms) |',
      '|---|---|---|---|---|',
      `| before pruning (5 s) | ${fmt(before.n)} | ${fmt(before.p50, 2)} | ${fmt(before.p99, 2)} | ${fmt(before.max, 1)} |`,
      `| during pruning | ${fmt(during.n)} | ${fmt(during.p50, 2)} | ${fmt(during.p99, 2)} | ${fmt(during.max, 1)} |`,
      '',
      `Pruning removed ${fmt(report.jobs)} jobs, ${fmt(report.groups)} groups and ${fmt(report.events)} events in ${fmt(pruneMs / 1000, 1)} s (${fmt(report.jobs / (pruneMs / 1000))} jobs/s); the worker was never stopped, and the longest a stream job waited to start during it is the max above.`,
      '',
    ].join('\n');
  } finally {
    await store.close();
    rmSync(home, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(await main());
}

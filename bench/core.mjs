// Core benchmark: no-op job throughput (bulk enqueue, then processing by a worker in another
// process) and enqueue-to-start latency, Sluice on its embedded SQLite store next to BullMQ on a
// local redis-server, in the same run. `node bench/core.mjs` prints the markdown section.
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents } from 'bullmq';
import { SqliteStore } from '../dist/store/index.js';
import { startRedis } from './lib/servers.mjs';
import { fmt, now, summarize } from './lib/stats.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.join(here, '..', 'dist', 'cli', 'main.js');
const N = Number(process.env.BENCH_JOBS ?? 10_000);
const LATENCY_JOBS = Number(process.env.BENCH_LATENCY_JOBS ?? 500);
const CONCURRENCY = 50;
const ROUNDS = 2;

async function sluiceWorker(home) {
  const child = spawn(process.execPath, [BIN, 'worker', '--concurrency', String(CONCURRENCY)], {
    env: { ...process.env, SLUICE_HOME: home, SLUICE_STORE: '', SLUICE_PLUGINS: path.join(here, 'lib', 'stamp-plugin.mjs') },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  await new Promise((resolve, reject) => {
    let log = '';
    child.stderr.on('data', (d) => {
      log += d;
      if (log.includes(': started')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`sluice worker exited ${code}: ${log}`)));
  });
  return {
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
    },
  };
}

async function sluiceRound() {
  const home = mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-'));
  const store = new SqliteStore(path.join(home, 'sluice.db'));
  try {
    const jobs = Array.from({ length: N }, (_, i) => ({ owner: 'bench', environ: { job_type: 'ping', ping: i } }));
    const t0 = now();
    await store.submit(jobs);
    const enqueueMs = now() - t0;
    const worker = await sluiceWorker(home);
    while (((await store.jobStats()).byStatus.Success ?? 0) < N) await store.waitForChange(20);
    const span = await store.jobStats();
    const processMs = span.lastEnd - span.firstStart;
    // Latency: one job at a time, the worker idle in between.
    const latencies = [];
    for (let i = 0; i < LATENCY_JOBS; i++) {
      const submitted = now();
      const [id] = await store.submit([{ owner: 'bench', environ: { job_type: 'stamp' } }]);
      let record;
      while ((record = await store.get(id)).status !== 'Success') await store.waitForChange(5);
      latencies.push(record.output.started - submitted);
    }
    await worker.stop();
    return { enqueueMs, processMs, latency: summarize(latencies) };
  } finally {
    await store.close();
    rmSync(home, { recursive: true, force: true });
  }
}

async function bullmqRound(redis, round) {
  const connection = { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null };
  const name = `bench-${round}`;
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection });
  await events.waitUntilReady();
  const worker = fork(path.join(here, 'lib', 'bullmq-worker.mjs'), [String(redis.port), name, String(CONCURRENCY)], { stdio: 'inherit' });
  try {
    await new Promise((r) => worker.once('message', r));
    // The worker is ready; pause it so that the bulk enqueue is measured alone, as for Sluice.
    await queue.pause();
    const t0 = now();
    await queue.addBulk(Array.from({ length: N }, (_, i) => ({ name: 'noop', data: { i } })));
    const enqueueMs = now() - t0;
    await queue.resume();
    while ((await queue.getJobCounts('completed')).completed < N) await new Promise((r) => setTimeout(r, 20));
    const done = await queue.getJobs(['completed'], 0, N - 1);
    const first = Math.min(...done.map((j) => j.processedOn));
    const last = Math.max(...done.map((j) => j.finishedOn));
    const latencies = [];
    for (let i = 0; i < LATENCY_JOBS; i++) {
      const submitted = now();
      const job = await queue.add('stamp', {});
      const started = await job.waitUntilFinished(events);
      latencies.push(started - submitted);
    }
    return { enqueueMs, processMs: last - first, latency: summarize(latencies) };
  } finally {
    worker.send('stop');
    await new Promise((r) => worker.once('exit', r));
    await events.close();
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

export async function main() {
  const redis = await startRedis();
  const results = { sluice: [], bullmq: [] };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      results.sluice.push(await sluiceRound());
      results.bullmq.push(await bullmqRound(redis, round));
    }
  } finally {
    await redis.stop();
  }
  const bullmqVersion = (await import('bullmq/package.json', { with: { type: 'json' } })).default.version;
  const rows = [];
  for (const [label, runs] of [['Sluice (SQLite, worker in another process)', results.sluice], [`BullMQ ${bullmqVersion} (redis-server ${redis.version}, worker in another process)`, results.bullmq]]) {
    runs.forEach((r, i) => {
      rows.push(`| ${label} | ${i + 1} | ${fmt(N / (r.enqueueMs / 1000))} | ${fmt(N / (r.processMs / 1000))} | ${fmt(r.latency.p50, 2)} | ${fmt(r.latency.p99, 2)} |`);
    });
  }
  const best = (runs, f) => Math.max(...runs.map(f));
  const enqueueRatio = best(results.sluice, (r) => N / r.enqueueMs) / best(results.bullmq, (r) => N / r.enqueueMs);
  const processRatio = best(results.sluice, (r) => N / r.processMs) / best(results.bullmq, (r) => N / r.processMs);
  const p50 = (runs) => Math.min(...runs.map((r) => r.latency.p50));
  return [
    '## Core: no-op jobs, Sluice vs BullMQ',
    '',
    `${fmt(N)} no-op jobs submitted in one bulk call, then processed by one worker process with concurrency ${CONCURRENCY}; then ${LATENCY_JOBS} jobs one at a time for enqueue-to-start latency (submit call to the job's first line, high-resolution wall clock across processes). Processing rate = jobs / (first start to last end).`,
    '',
    '| system | round | bulk enqueue (jobs/s) | processing (jobs/s) | latency p50 (ms) | latency p99 (ms) |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    `Best-of-rounds ratios, Sluice / BullMQ: bulk enqueue ${fmt(enqueueRatio, 1)}× (goal 5×), processing ${fmt(processRatio, 1)}× (goal 2×); latency p50 ${fmt(p50(results.sluice), 2)} ms vs ${fmt(p50(results.bullmq), 2)} ms (goal: no worse).`,
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(await main());
}

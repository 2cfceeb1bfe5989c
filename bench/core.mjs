// Core benchmark: no-op job throughput (bulk enqueue, then processing) and enqueue-to-start
// latency, Sluice on its embedded SQLite store next to BullMQ on a local redis-server, in the same
// run, in two configurations:
// - the forked one: BullMQ's worker in a forked process, both timed from the first start to the
//   last end;
// - BullMQ's documented one: Queue and Worker in one process, 20,000 jobs added in bulk batches of
//   1,000, concurrency 50, timed from the worker's construction to the last completion (start-up
//   counted); Sluice timed the same way with its worker in its own process and in the submitting
//   process, and the lower of the two ratios is the figure.
// `node bench/core.mjs` prints the markdown section.
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents, Worker as BullWorker } from 'bullmq';
import { SqliteStore } from '../dist/store/index.js';
import { Worker } from '../dist/worker/index.js';
import { builtinRegistry } from '../dist/jobs/index.js';
import { jobs as stampJobs } from './lib/stamp-plugin.mjs';
import { startRedis } from './lib/servers.mjs';
import { fmt, now, summarize } from './lib/stats.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.join(here, '..', 'dist', 'cli', 'main.js');
const N = Number(process.env.BENCH_JOBS ?? 10_000);
const LATENCY_JOBS = Number(process.env.BENCH_LATENCY_JOBS ?? 500);
const CONCURRENCY = 50;
const ROUNDS = 2;
/** BullMQ's documented configuration */
const DOC_N = Number(process.env.BENCH_DOC_JOBS ?? 20_000);
const DOC_BATCH = 1000;
const DOC_LATENCY_JOBS = Number(process.env.BENCH_DOC_LATENCY_JOBS ?? 1000);

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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
    const ids = await store.submit(jobs);
    const enqueueMs = now() - t0;
    const worker = await sluiceWorker(home);
    await allDone(store, ids.at(-1), N, 20);
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


/** Sluice the way BullMQ's documentation runs BullMQ: bulk batches, then a worker started and timed to the last completion. */
async function sluiceDocRound(inProcess) {
  const home = mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-'));
  const store = new SqliteStore(path.join(home, 'sluice.db'));
  let stop = async () => {};
  try {
    const t0 = now();
    let last;
    for (let i = 0; i < DOC_N; i += DOC_BATCH) {
      last = (await store.submit(Array.from({ length: Math.min(DOC_BATCH, DOC_N - i) }, (_, k) => ({ owner: 'bench', environ: { job_type: 'ping', ping: i + k } })))).at(-1);
    }
    const enqueueMs = now() - t0;
    const t1 = now();
    if (inProcess) {
      const worker = new Worker({ store, registry: builtinRegistry().registerJob('stamp', stampJobs.stamp), concurrency: CONCURRENCY });
      await worker.start();
      stop = () => worker.stop(0);
    } else {
      stop = (await sluiceWorker(home)).stop;
    }
    // The end is the last job's recorded end; the wait polls slowly, so as not to take the worker's CPU.
    const stats = await allDone(store, last, DOC_N, 100);
    const processMs = stats.lastEnd - t1;
    const latencies = [];
    for (let i = 0; i < DOC_LATENCY_JOBS; i++) {
      const submitted = now();
      const [id] = await store.submit([{ owner: 'bench', environ: { job_type: 'stamp' } }]);
      let record;
      while ((record = await store.get(id)).status !== 'Success') await store.waitForChange(5);
      latencies.push(record.output.started - submitted);
    }
    return { enqueueMs, processMs, latency: summarize(latencies) };
  } finally {
    await stop();
    await store.close();
    rmSync(home, { recursive: true, force: true });
  }
}

/**
 * Waits until all n jobs succeeded and answers the store's job statistics. Jobs of one owner are
 * claimed in submission order, so the last one submitted is among the last to end: a look at that
 * one record every `pollMs` (a key lookup) until it has ended, and only then the statistics (a scan
 * of every job, ~8 ms at 20,000 jobs, which the worker in the same process paid for at every poll).
 */
async function allDone(store, lastId, n, pollMs) {
  for (;;) {
    const status = (await store.get(lastId))?.status;
    if (status === 'Success' || status === 'Failed' || status === 'Aborted') break;
    await sleep(pollMs);
  }
  let stats;
  while (((stats = await store.jobStats()).byStatus.Success ?? 0) < n) await sleep(pollMs);
  return stats;
}

/** BullMQ as its documentation runs it: Queue and Worker in one process, Redis beside it. */
async function bullmqDocRound(redis, round) {
  const connection = { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null };
  const name = `bench-doc-${round}`;
  const queue = new Queue(name, { connection });
  await queue.waitUntilReady();
  let worker;
  try {
    const t0 = now();
    for (let i = 0; i < DOC_N; i += DOC_BATCH) {
      await queue.addBulk(Array.from({ length: Math.min(DOC_BATCH, DOC_N - i) }, (_, k) => ({ name: 'noop', data: { i: i + k } })));
    }
    const enqueueMs = now() - t0;
    let completed = 0;
    let allDone;
    const finished = new Promise((resolve) => (allDone = resolve));
    const probes = new Map();
    const t1 = now();
    worker = new BullWorker(name, async (job) => (job.name === 'stamp' ? now() : undefined), { connection, concurrency: CONCURRENCY });
    worker.on('completed', (job, started) => {
      if (job.name === 'stamp') probes.get(job.data.n)?.(started);
      else if (++completed === DOC_N) allDone(now());
    });
    const processMs = (await finished) - t1;
    const latencies = [];
    for (let i = 0; i < DOC_LATENCY_JOBS; i++) {
      const started = new Promise((resolve) => probes.set(i, resolve));
      const submitted = now();
      await queue.add('stamp', { n: i });
      latencies.push((await started) - submitted);
    }
    return { enqueueMs, processMs, latency: summarize(latencies) };
  } finally {
    await worker?.close();
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

export async function main() {
  const redis = await startRedis();
  const results = { sluice: [], bullmq: [] };
  const doc = { own: [], inProcess: [], bullmq: [] };
  try {
    for (let round = 0; round < ROUNDS; round++) {
      results.sluice.push(await sluiceRound());
      results.bullmq.push(await bullmqRound(redis, round));
    }
    // Interleaved, so that each round's systems see the same machine.
    for (let round = 0; round < ROUNDS; round++) {
      doc.bullmq.push(await bullmqDocRound(redis, round));
      doc.own.push(await sluiceDocRound(false));
      doc.inProcess.push(await sluiceDocRound(true));
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

  const docRows = [];
  for (const [label, runs] of [
    ['Sluice (SQLite), `sluice worker` in its own process', doc.own],
    ['Sluice (SQLite), Worker in the submitting process', doc.inProcess],
    [`BullMQ ${bullmqVersion}, Queue and Worker in one process`, doc.bullmq],
  ]) {
    runs.forEach((r, i) => {
      docRows.push(`| ${label} | ${i + 1} | ${fmt(DOC_N / (r.enqueueMs / 1000))} | ${fmt(DOC_N / (r.processMs / 1000))} | ${fmt(r.latency.p50, 2)} | ${fmt(r.latency.p99, 2)} |`);
    });
  }
  // The least flattering: each round's Sluice against the same round's BullMQ, the lower configuration, the worse round.
  const worst = (f) => Math.min(...doc.bullmq.flatMap((b, i) => [f(doc.own[i], b), f(doc.inProcess[i], b)]));
  const docProcess = worst((s, b) => b.processMs / s.processMs);
  const docEnqueue = worst((s, b) => b.enqueueMs / s.enqueueMs);
  const docP50 = Math.max(...doc.own.concat(doc.inProcess).map((r) => r.latency.p50));
  const bullP50 = Math.min(...doc.bullmq.map((r) => r.latency.p50));
  const verdict = (ok) => (ok ? '**met**' : '**not met**');
  return [
    '## Core: no-op jobs, Sluice vs BullMQ',
    '',
    "### BullMQ's documented configuration (the figure for the goals)",
    '',
    `${fmt(DOC_N)} no-op jobs added in bulk batches of ${fmt(DOC_BATCH)}, then a worker with concurrency ${CONCURRENCY} is constructed and timed from its construction to the last completion (start-up counted): BullMQ's Queue and Worker in one process with redis-server beside it; Sluice with \`sluice worker\` spawned as its own process, and with a \`Worker\` in the submitting process. Then ${fmt(DOC_LATENCY_JOBS)} jobs one at a time for enqueue-to-start latency. ${ROUNDS} rounds, interleaved.`,
    '',
    '| system | round | bulk enqueue (jobs/s) | processing (jobs/s) | latency p50 (ms) | latency p99 (ms) |',
    '|---|---|---|---|---|---|',
    ...docRows,
    '',
    `Lower ratio of the two Sluice configurations, worse round, Sluice / BullMQ: processing ${fmt(docProcess, 2)}× (goal 2×: ${verdict(docProcess >= 2)}), bulk enqueue ${fmt(docEnqueue, 2)}× (goal 5×: ${verdict(docEnqueue >= 5)}); latency p50 at worst ${fmt(docP50, 2)} ms vs BullMQ's best ${fmt(bullP50, 2)} ms (goal no worse: ${verdict(docP50 <= bullP50)}).`,
    '',
    '### Worker in a forked process',
    '',
    `${fmt(N)} no-op jobs submitted in one bulk call, then processed by one worker process with concurrency ${CONCURRENCY}; then ${LATENCY_JOBS} jobs one at a time for enqueue-to-start latency (submit call to the job's first line, high-resolution wall clock across processes). Processing rate = jobs / (first start to last end).`,
    '',
    '| system | round | bulk enqueue (jobs/s) | processing (jobs/s) | latency p50 (ms) | latency p99 (ms) |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    `Best-of-rounds ratios, Sluice / BullMQ: bulk enqueue ${fmt(enqueueRatio, 1)}×, processing ${fmt(processRatio, 1)}×; latency p50 ${fmt(p50(results.sluice), 2)} ms vs ${fmt(p50(results.bullmq), 2)} ms.`,
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(await main());
}

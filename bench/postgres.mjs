// PostgreSQL benchmark: Sluice on PostgreSQL (one and four worker processes), graphile-worker
// (plain, and with its batching options) on the same server, and BullMQ on a local Redis, in one
// run. Each: N no-op jobs bulk-enqueued in batches of 1,000, processed by worker processes at
// concurrency 50 (timed the same way for all: from starting the worker processes to seeing every
// job completed, start-up counted), then enqueue-to-start latency over sequential jobs.
// `node bench/postgres.mjs` prints the markdown section.
import { fork, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Queue, QueueEvents } from 'bullmq';
import { makeWorkerUtils } from 'graphile-worker';
import { PostgresStore } from '../dist/store/index.js';
import { startPostgres, startRedis } from './lib/servers.mjs';
import { fmt, now, summarize } from './lib/stats.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.join(here, '..', 'dist', 'cli', 'main.js');
const N = Number(process.env.BENCH_PG_JOBS ?? 20_000);
const LATENCY_JOBS = Number(process.env.BENCH_PG_LATENCY_JOBS ?? 1000);
const BATCH = 1000;
const CONCURRENCY = 50;
const POLL_MS = 10;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function sluiceWorkers(url, n) {
  const env = { ...process.env, SLUICE_STORE: url, SLUICE_PLUGINS: path.join(here, 'lib', 'stamp-plugin.mjs'), SLUICE_PRUNE_EVERY: '0' };
  const children = Array.from({ length: n }, () => spawn(process.execPath, [BIN, 'worker', '--concurrency', String(CONCURRENCY)], { env, stdio: ['ignore', 'ignore', 'pipe'] }));
  await Promise.all(
    children.map(
      (child) =>
        new Promise((resolve, reject) => {
          let log = '';
          child.stderr.on('data', (d) => {
            log += d;
            if (log.includes(': started')) resolve();
          });
          child.once('exit', (code) => reject(new Error(`sluice worker exited ${code}: ${log}`)));
        }),
    ),
  );
  return async () => {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r() : c.once('exit', r)))));
  };
}

async function sluiceRound(server, workers, schema) {
  const url = `${server.url}?schema=${schema}`;
  const store = await PostgresStore.open(url);
  try {
    const t0 = now();
    let last;
    for (let i = 0; i < N; i += BATCH) last = (await store.submit(Array.from({ length: BATCH }, (_, k) => ({ owner: 'bench', environ: { job_type: 'ping', ping: i + k } })))).at(-1);
    const enqueueMs = now() - t0;
    const t1 = now();
    const stop = await sluiceWorkers(url, workers);
    // Jobs of one owner are claimed in submission order: a key lookup of the last one until it has
    // ended, then the statistics (a scan of every job: every 10 ms it took a good part of the
    // server's CPU away from the workers).
    while (!['Success', 'Failed', 'Aborted'].includes((await store.get(last))?.status)) await sleep(POLL_MS);
    while (((await store.jobStats()).byStatus.Success ?? 0) < N) await sleep(POLL_MS);
    const processMs = now() - t1;
    let latency;
    if (workers === 1) {
      const latencies = [];
      for (let i = 0; i < LATENCY_JOBS; i++) {
        const submitted = now();
        const [id] = await store.submit([{ owner: 'bench', environ: { job_type: 'stamp' } }]);
        let record;
        while ((record = await store.get(id)).status !== 'Success') await store.waitForChange(5);
        latencies.push(record.output.started - submitted);
      }
      latency = summarize(latencies);
    }
    await stop();
    return { enqueueMs, processMs, latency };
  } finally {
    await store.close();
  }
}

async function graphileRound(server, batching) {
  const connectionString = server.url;
  const utils = await makeWorkerUtils({ connectionString });
  await utils.migrate();
  const client = new pg.Client(connectionString);
  await client.connect();
  try {
    await client.query('TRUNCATE graphile_worker._private_jobs CASCADE').catch(() => {});
    const t0 = now();
    for (let i = 0; i < N; i += BATCH) await utils.addJobs(Array.from({ length: BATCH }, (_, k) => ({ identifier: 'noop', payload: { i: i + k } })));
    const enqueueMs = now() - t0;
    const t1 = now();
    const worker = fork(path.join(here, 'lib', 'graphile-worker.mjs'), [connectionString, String(CONCURRENCY), batching], { stdio: 'inherit' });
    const stamps = new Map();
    worker.on('message', (m) => {
      if (m && typeof m === 'object' && 'stamp' in m) stamps.get(m.stamp)?.(m.started);
    });
    await new Promise((r) => worker.once('message', r));
    const left = async () => Number((await client.query('SELECT count(*) FROM graphile_worker._private_jobs')).rows[0].count);
    while ((await left()) > 0) await sleep(POLL_MS);
    const processMs = now() - t1;
    let latency;
    if (batching === 'off') {
      const latencies = [];
      for (let i = 0; i < LATENCY_JOBS; i++) {
        const started = new Promise((resolve) => stamps.set(i, resolve));
        const submitted = now();
        await utils.addJob('stamp', { n: i });
        latencies.push((await started) - submitted);
      }
      latency = summarize(latencies);
    }
    worker.send('stop');
    await new Promise((r) => worker.once('exit', r));
    return { enqueueMs, processMs, latency };
  } finally {
    await client.end();
    await utils.release();
  }
}

async function bullmqRound(redis) {
  const connection = { host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: null };
  const name = 'bench-pg';
  const queue = new Queue(name, { connection });
  const events = new QueueEvents(name, { connection });
  await events.waitUntilReady();
  try {
    const t0 = now();
    for (let i = 0; i < N; i += BATCH) await queue.addBulk(Array.from({ length: BATCH }, (_, k) => ({ name: 'noop', data: { i: i + k } })));
    const enqueueMs = now() - t0;
    const t1 = now();
    const worker = fork(path.join(here, 'lib', 'bullmq-worker.mjs'), [String(redis.port), name, String(CONCURRENCY)], { stdio: 'inherit' });
    await new Promise((r) => worker.once('message', r));
    while ((await queue.getJobCounts('completed')).completed < N) await sleep(POLL_MS);
    const processMs = now() - t1;
    const latencies = [];
    for (let i = 0; i < LATENCY_JOBS; i++) {
      const submitted = now();
      const job = await queue.add('stamp', {});
      latencies.push((await job.waitUntilFinished(events)) - submitted);
    }
    worker.send('stop');
    await new Promise((r) => worker.once('exit', r));
    return { enqueueMs, processMs, latency: summarize(latencies) };
  } finally {
    await events.close();
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

export async function main() {
  const server = await startPostgres();
  const redis = await startRedis();
  const r = {};
  try {
    r.sluice = await sluiceRound(server, 1, 'bench1');
    r.sluice4 = await sluiceRound(server, 4, 'bench4');
    r.graphile = await graphileRound(server, 'off');
    r.graphileBatch = await graphileRound(server, 'on');
    r.bullmq = await bullmqRound(redis);
  } finally {
    await redis.stop();
    await server.stop();
  }
  const gw = (await import('graphile-worker/package.json', { with: { type: 'json' } })).default.version;
  const bq = (await import('bullmq/package.json', { with: { type: 'json' } })).default.version;
  const rate = (x, ms) => fmt(N / (ms / 1000));
  const row = (label, x) =>
    `| ${label} | ${rate(x, x.enqueueMs)} | ${rate(x, x.processMs)} | ${x.latency ? fmt(x.latency.p50, 2) : '–'} | ${x.latency ? fmt(x.latency.p99, 2) : '–'} |`;
  const ratio = (a, b) => fmt(b.processMs / a.processMs, 2);
  return [
    '## PostgreSQL: Sluice, graphile-worker and BullMQ',
    '',
    `PostgreSQL ${server.version} (stock settings, fsync on) and redis-server ${redis.version} on loopback, one run. ${fmt(N)} no-op jobs bulk-enqueued in batches of ${fmt(BATCH)}, then processed by worker processes at concurrency ${CONCURRENCY}, timed the same way for every system: from starting the worker processes to seeing every job completed (start-up counted). Latency: ${fmt(LATENCY_JOBS)} jobs one at a time, submit call to the job's first line.`,
    '',
    '| system | bulk enqueue (jobs/s) | processing (jobs/s) | latency p50 (ms) | latency p99 (ms) |',
    '|---|---|---|---|---|',
    row('Sluice on PostgreSQL, 1 worker process', r.sluice),
    row('Sluice on PostgreSQL, 4 worker processes', r.sluice4),
    row(`graphile-worker ${gw}`, r.graphile),
    row(`graphile-worker ${gw}, localQueue + completeJobBatchDelay 0`, r.graphileBatch),
    row(`BullMQ ${bq} on Redis`, r.bullmq),
    '',
    `Processing, Sluice (1 worker) against: BullMQ ${ratio(r.sluice, r.bullmq)}× (goal ≥ 1), graphile-worker ${ratio(r.sluice, r.graphile)}× (goal ≥ 5), graphile-worker batching ${ratio(r.sluice, r.graphileBatch)}× (goal > 1); four workers ${ratio(r.sluice4, r.sluice)}× one. Latency p50 ${fmt(r.sluice.latency.p50, 2)} ms against graphile-worker's ${fmt(r.graphile.latency.p50, 2)} ms (goal: no worse).`,
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(await main());
}

// Per-job work of the store, on both backends: statements (round trips on PostgreSQL), rows and
// bytes written per job, to bulk-enqueue no-op jobs and to process them (claim, start, record) the
// way a worker does. These are counts, not timings: the same code gives the same figures on a busy
// machine, so a change that makes them worse is caught here, against bench/work-baseline.json.
//
// `node bench/work.mjs` prints the section and exits 1 when a figure is worse than the baseline by
// more than its tolerance; `node bench/work.mjs --record` writes the baseline from this run.
// BENCH_WORK_DETAIL=1 also prints how many times each statement ran.
//
// How each is counted:
// - statements: every execution of a prepared statement by better-sqlite3 (BEGIN and COMMIT
//   included), every query() sent by node-postgres (each a round trip), counted in this process,
//   where the store and the worker's loop run;
// - rows: SQLite's total_changes() (rows inserted, updated or deleted), PostgreSQL's
//   n_tup_ins + n_tup_upd + n_tup_del over the schema's tables (pg_stat_user_tables);
// - bytes: SQLite's WAL growth (a reader pinned at the start keeps the WAL from being reset, so it
//   holds every frame written), PostgreSQL's WAL position delta (pg_current_wal_lsn), after a
//   CHECKPOINT so that each phase pays the same full-page images.
import { readFileSync, writeFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { PostgresStore, SqliteStore } from '../dist/store/index.js';
import { DEFAULT_POLICY } from '../dist/schedule/index.js';
import { PlannerView } from '../dist/worker/plan.js';
import { resultOf, run } from '../dist/environ/index.js';
import { builtinRegistry } from '../dist/jobs/index.js';
import { startPostgres } from './lib/servers.mjs';
import { fmt } from './lib/stats.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const BASELINE = path.join(here, 'work-baseline.json');
const N = 5000;
const BATCH = 1000;
const SLOTS = 50;
/** the planner's snapshot is read again every this many cycles (a worker: every 50 ms) */
const SNAPSHOT_EVERY = 10;
/** how much worse than the baseline a figure may be before the check fails */
const TOLERANCE = { statements: 0.02, rows: 0.02, bytes: 0.05 };

// --- counting statements, in this process
const counts = new Map();
let statements = 0;
const note = (text) => {
  // The change watcher's poll (sqlite/notifier.ts) reads a counter on a timer, not per job.
  if (text === 'PRAGMA data_version') return;
  statements++;
  if (process.env.BENCH_WORK_DETAIL) {
    const key = String(text).replace(/\s+/g, ' ').slice(0, 90);
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
};
{
  const probe = new Database(':memory:');
  const proto = Object.getPrototypeOf(probe.prepare('SELECT 1'));
  for (const method of ['run', 'get', 'all', 'iterate']) {
    const original = proto[method];
    proto[method] = function (...args) {
      note(this.source);
      return original.apply(this, args);
    };
  }
  probe.close();
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (config, ...rest) {
    note(typeof config === 'string' ? config : config?.text);
    return query.call(this, config, ...rest);
  };
}

const registry = builtinRegistry();
const jobsOf = (from, n) => Array.from({ length: n }, (_, k) => ({ owner: 'bench', environ: { job_type: 'ping', ping: from + k } }));

async function enqueue(store) {
  for (let i = 0; i < N; i += BATCH) await store.submit(jobsOf(i, BATCH));
}

/** A worker's loop without its timing: complete the last batch and claim the next in one transaction, 50 slots. */
async function processAll(store) {
  const worker = await store.registerWorker({ host: 'bench', pid: process.pid, concurrency: SLOTS, ram_mb: 1 << 20, exclusive: false });
  let view;
  let running = [];
  let done = 0;
  for (let cycle = 0; ; cycle++) {
    const t = Date.now();
    if (!view || cycle % SNAPSHOT_EVERY === 0) view = new PlannerView(await store.queueSnapshot(), t, DEFAULT_POLICY);
    const finished = [];
    for (const u of running) {
      const output = await run(u.environ, { registry });
      finished.push({ unit: u.unit, token: u.token, output, result: resultOf(u.environ, output), charge: 0.001, seconds: 0.001 });
    }
    done += finished.length;
    const picks = view.plan(SLOTS, t, { exclusiveCapable: false, idle: running.length === 0 });
    const request = picks.length ? { picks, freeRamMb: 1 << 20, leaseMs: 60_000 } : null;
    const answer = await store.completeAndClaim(worker, finished, request);
    if (request) view.noteClaimed(request, answer.claimed, Date.now());
    running = answer.claimed;
    if (!running.length && done >= N) break;
    if (!running.length) view = undefined;
  }
  await store.unregisterWorker(worker);
}

async function sqlite() {
  const home = mkdtempSync(path.join(os.tmpdir(), 'sluice-work-'));
  const file = path.join(home, 'sluice.db');
  const store = new SqliteStore(file);
  try {
    await store.lastSeq(); // opened and migrated
    const phase = async (fn) => {
      const pin = new Database(file);
      pin.pragma('wal_checkpoint(TRUNCATE)');
      pin.prepare('BEGIN').run();
      pin.prepare('SELECT count(*) FROM sqlite_schema').get();
      const total = async () => store.driver.rowsChanged();
      const [s0, c0, w0] = [statements, await total(), statSync(`${file}-wal`).size];
      await fn(store);
      const result = { statements: (statements - s0) / N, rows: ((await total()) - c0) / N, bytes: (statSync(`${file}-wal`).size - w0) / N };
      pin.prepare('COMMIT').run();
      pin.close();
      return result;
    };
    return { enqueue: await phase(enqueue), process: await phase(processAll) };
  } finally {
    await store.close();
    rmSync(home, { recursive: true, force: true });
  }
}

async function postgres(server) {
  const admin = new pg.Client(server.url);
  await admin.connect();
  const schema = 'work';
  try {
    const phase = async (fn) => {
      const store = await PostgresStore.open(`${server.url}?schema=${schema}`);
      await admin.query('CHECKPOINT');
      const rows = async () =>
        Number((await admin.query(`SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) AS n FROM pg_stat_user_tables WHERE schemaname = $1`, [schema])).rows[0].n);
      const lsn = async () => (await admin.query('SELECT pg_current_wal_lsn() AS l')).rows[0].l;
      const [r0, l0] = [await rows(), await lsn()];
      const s0 = statements;
      await fn(store);
      const sent = statements - s0;
      const l1 = await lsn();
      // Closed first: a backend reports its row counts when its transaction ends or it exits.
      await store.close();
      await admin.query('SELECT pg_stat_force_next_flush()');
      await new Promise((r) => setTimeout(r, 300));
      const bytes = Number((await admin.query('SELECT pg_wal_lsn_diff($1, $2) AS d', [l1, l0])).rows[0].d);
      return { statements: sent / N, rows: ((await rows()) - r0) / N, bytes: bytes / N };
    };
    return { enqueue: await phase(enqueue), process: await phase(processAll) };
  } finally {
    await admin.end();
  }
}

export async function measure() {
  const server = await startPostgres(undefined, { autovacuum: false });
  try {
    const detail = process.env.BENCH_WORK_DETAIL;
    const out = { sqlite: await sqlite() };
    if (detail) dump('SQLite');
    out.postgres = await postgres(server);
    if (detail) dump('PostgreSQL');
    return out;
  } finally {
    await server.stop();
  }
}

function dump(what) {
  process.stderr.write(`--- ${what}: executions per statement over ${N} jobs (enqueue and processing)\n`);
  for (const [text, n] of [...counts].sort((a, b) => b[1] - a[1])) process.stderr.write(`${String(n).padStart(7)}  ${text}\n`);
  counts.clear();
}

/** The figures worse than the baseline beyond their tolerance. */
export function regressions(now, base) {
  const worse = [];
  for (const store of Object.keys(base)) {
    for (const phase of Object.keys(base[store])) {
      for (const [what, tol] of Object.entries(TOLERANCE)) {
        const b = base[store][phase][what];
        const n = now[store]?.[phase]?.[what];
        if (typeof b === 'number' && typeof n === 'number' && n > b * (1 + tol) + 1e-9) worse.push(`${store} ${phase} ${what}: ${fmt(n, 2)} per job against the baseline's ${fmt(b, 2)}`);
      }
    }
  }
  return worse;
}

export async function main() {
  const now = await measure();
  if (process.argv.includes('--record')) writeFileSync(BASELINE, `${JSON.stringify(now, null, 2)}\n`);
  const base = JSON.parse(readFileSync(BASELINE, 'utf8'));
  const row = (label, store, phase) => {
    const n = now[store][phase];
    const b = base[store][phase];
    return `| ${label} | ${fmt(n.statements, 2)} (${fmt(b.statements, 2)}) | ${fmt(n.rows, 2)} (${fmt(b.rows, 2)}) | ${fmt(n.bytes)} (${fmt(b.bytes)}) |`;
  };
  const worse = regressions(now, base);
  const text = [
    '## Per-job work of the store',
    '',
    `${fmt(N)} no-op jobs bulk-enqueued in batches of ${fmt(BATCH)}, then processed by a worker's loop (complete the finished units and claim the next ones in one transaction, ${SLOTS} slots, the planner's snapshot read every ${SNAPSHOT_EVERY} cycles), in-process. Per job; in brackets the baseline in \`bench/work-baseline.json\`. Statements: SQLite statement executions (BEGIN and COMMIT included); on PostgreSQL, queries sent (each a round trip). Rows: rows inserted, updated or deleted. Bytes: WAL written (SQLite: frames of 4 KiB pages; PostgreSQL: WAL position delta after a CHECKPOINT).`,
    '',
    '| store, phase | statements | rows | bytes of WAL |',
    '|---|---|---|---|',
    row('SQLite, enqueue', 'sqlite', 'enqueue'),
    row('SQLite, processing', 'sqlite', 'process'),
    row('PostgreSQL, enqueue', 'postgres', 'enqueue'),
    row('PostgreSQL, processing', 'postgres', 'process'),
    '',
    worse.length ? `**Check failed**: worse than the baseline: ${worse.join('; ')}.` : `Check: no figure is worse than the baseline (tolerance: statements and rows ${TOLERANCE.statements * 100} %, bytes ${TOLERANCE.bytes * 100} %).`,
    '',
  ].join('\n');
  if (worse.length) process.exitCode = 1;
  return text;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(await main());
}

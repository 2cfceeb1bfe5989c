// The dashboard's listing with a million jobs: GET /api/v1/jobs (newest first, as the dashboard asks)
// through a real `sluice serve` on a store holding N jobs (default 1,000,000) of 10 owners in 50
// groups, with tags, four job types and a mix of statuses; every filter the Jobs view offers, a
// first page and a page deep in the list, timed over HTTP; on SQLite and on PostgreSQL
// (BENCH_DASHBOARD_STORES=sqlite,postgres). `node bench/dashboard.mjs` prints the markdown sections.
// Each store is filled through its API as workers fill it (submit, claim, complete; some units
// claimed and left running, a few failed) and kept in bench/.work/ for the next run (PostgreSQL's
// cluster too: it is started there on a free port).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { PostgresStore, SqliteStore } from '../dist/store/index.js';
import { startPostgres } from './lib/servers.mjs';
import { fmt, now, summarize } from './lib/stats.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const BIN = path.join(here, '..', 'dist', 'cli', 'main.js');
const N = Number(process.env.BENCH_DASHBOARD_JOBS ?? 1_000_000);
const BATCH = 10_000;
const RUNS = 15;
const STORES = (process.env.BENCH_DASHBOARD_STORES ?? 'sqlite,postgres').split(',').filter(Boolean);
const TYPES = ['ping', 'system', 'js', 'exec'];
const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'];

/** Job i: owner, group, tags, type and environ words follow i, so that each filter matches a known share. */
function jobOf(i) {
  const owner = `o${i % 10}`;
  return {
    owner,
    group: `${owner}/proj-${i % 50}`,
    name: `job ${i}`,
    tags: [`t${i % 20}`, ...(i % 100_000 === 7 ? ['rare'] : [])],
    environ: { job_type: TYPES[i % 4], ping: i, note: `${WORDS[i % 8]} ${WORDS[(i >> 3) % 8]}${i % 100_000 === 3 ? ' needle' : ''}` },
  };
}

async function fill(store) {
  const t0 = now();
  for (let done = 0; done < N; done += BATCH) {
    const n = Math.min(BATCH, N - done);
    await store.submit(Array.from({ length: n }, (_, k) => jobOf(done + k)));
  }
  // 90 % ended (one in 500 of them Failed), 1,000 running, the rest queued: a busy store's mix.
  const worker = await store.registerWorker({ host: 'bench', pid: process.pid, concurrency: 100_000, ram_mb: 1 << 30, exclusive: false });
  let ended = 0;
  while (ended < N * 0.9) {
    const { queues } = await store.queueSnapshot();
    const picks = queues.map((q) => ({ pool: q.pool, owner: q.owner, class: q.class, exclusive: q.exclusive, count: 1000 }));
    const claimed = await store.claim(worker, { picks, freeRamMb: 1 << 30, leaseMs: 86_400_000 });
    if (!claimed.length) break;
    await store.complete(
      claimed.map((u) =>
        u.environ.ping % 500 === 0
          ? { unit: u.unit, token: u.token, output: { ...u.environ, result: 'FAILURE', exception: 'bench' } }
          : { unit: u.unit, token: u.token, output: { ...u.environ, result: 'SUCCESS' }, result: { pong: u.environ.ping } },
      ),
    );
    ended += claimed.length;
  }
  const { queues } = await store.queueSnapshot();
  await store.claim(worker, { picks: queues.slice(0, 1).map((q) => ({ pool: q.pool, owner: q.owner, class: q.class, exclusive: q.exclusive, count: 1000 })), freeRamMb: 1 << 30, leaseMs: 86_400_000 });
  await store.close();
  return now() - t0;
}

function serve(env) {
  const child = spawn(process.execPath, [BIN, 'serve', '--port', '0', '--no-workers'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /Sluice is serving at (http:\/\/[^/\s]+)\/\?token=(\S+)\n/.exec(out);
      if (m) resolve({ child, url: m[1], token: m[2] });
    });
    child.on('exit', (code) => reject(new Error(`sluice serve exited (${code}): ${err}`)));
  });
}

/** GET /api/v1/jobs?QUERY, or another path of the API when `query` starts with a slash. */
async function get(server, query) {
  const url = query.startsWith('/') ? `${server.url}/api/v1${query}` : `${server.url}/api/v1/jobs?${query}`;
  const response = await fetch(url, { headers: { authorization: `Bearer ${server.token}` } });
  if (response.status !== 200) throw new Error(`${query}: ${response.status} ${await response.text()}`);
  return response.json();
}

async function time(server, query) {
  const ms = [];
  let body;
  for (let i = 0; i < RUNS; i++) {
    const t = now();
    body = await get(server, query);
    ms.push(now() - t);
  }
  return { ...summarize(ms), rows: (body.jobs ?? body.owners).length };
}

/** The SQLite store, filled on the first run: its server's environment and how it was made. */
async function sqlite() {
  const work = path.join(here, '.work', `dashboard-${N}`);
  const file = path.join(work, 'sluice.db');
  let note = 'reused from an earlier run';
  if (!existsSync(file)) {
    rmSync(`${work}.tmp`, { recursive: true, force: true });
    mkdirSync(`${work}.tmp`, { recursive: true });
    const ms = await fill(new SqliteStore(path.join(`${work}.tmp`, 'sluice.db')));
    renameSync(`${work}.tmp`, work);
    note = `filled in ${(ms / 1000).toFixed(0)} s`;
  }
  return { title: 'SQLite', env: { ...process.env, SLUICE_HOME: work, SLUICE_STORE: '' }, note, stop: async () => {} };
}

/** The PostgreSQL store: a cluster kept in bench/.work/, filled (and analyzed) on the first run. */
async function postgres() {
  const work = path.join(here, '.work', `dashboard-pg-${N}`);
  const server = await startPostgres(work, { keep: true });
  const filled = path.join(work, 'filled');
  let note = 'reused from an earlier run';
  if (!existsSync(filled)) {
    const client = new pg.Client(server.url);
    await client.connect();
    await client.query('DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public');
    const ms = await fill(await PostgresStore.open(server.url));
    // The planner's statistics, as autovacuum would gather them in a while.
    await client.query('ANALYZE');
    await client.end();
    writeFileSync(filled, `${new Date().toISOString()}\n`);
    note = `filled in ${(ms / 1000).toFixed(0)} s`;
  }
  const home = path.join(work, 'home');
  mkdirSync(home, { recursive: true });
  return { title: `PostgreSQL ${server.version}`, env: { ...process.env, SLUICE_HOME: home, SLUICE_STORE: server.url }, note, stop: () => server.stop() };
}

async function measure(target) {
  const server = await serve(target.env);
  try {
    // A cursor half-way down the list: the page a user reaches after many "older" clicks.
    const middle = await get(server, `limit=1000&order=newest&q=${encodeURIComponent('job 500000')}`);
    const cursorAt = middle.jobs.find((j) => j.name === 'job 500000') ?? middle.jobs[0];
    const firstPage = await get(server, 'order=newest&limit=100');
    const group = await (await fetch(`${server.url}/api/v1/groups?path=o3/proj-13`, { headers: { authorization: `Bearer ${server.token}` } })).json();
    const cursor = Buffer.from(JSON.stringify([Date.parse(cursorAt.date_created), cursorAt.id])).toString('base64url');
    const cases = [
      ['all jobs, first page', 'order=newest&limit=100'],
      ['all jobs, a page half-way down (cursor)', `order=newest&limit=100&cursor=${cursor}`],
      ['next page of the first (cursor)', `order=newest&limit=100&cursor=${firstPage.next}`],
      ['owner', 'order=newest&limit=100&owner=o3'],
      ['status Queued', 'order=newest&limit=100&status=Queued'],
      ['status Failed (0.2 %)', 'order=newest&limit=100&status=Failed'],
      ['status Running (0.1 %)', 'order=newest&limit=100&status=Running'],
      ['job type', 'order=newest&limit=100&type=system'],
      ['tag (5 %)', 'order=newest&limit=100&tag=t7'],
      ['tag (10 jobs)', 'order=newest&limit=100&tag=rare'],
      ['group (children, 2 %)', `order=newest&limit=100&group=${group.id}`],
      ['owner and status', 'order=newest&limit=100&owner=o0&status=Failed'],
      ['search a common word', 'order=newest&limit=100&q=charlie'],
      ['search a word of 10 environs', 'order=newest&limit=100&q=needle'],
      // The tree's first call: each owner with its root group and its number of jobs (counted).
      ['owners (the tree)', '/owners'],
    ];
    const rows = [];
    for (const [what, query] of cases) {
      const r = await time(server, query);
      const shown = query.startsWith('/') ? `GET /api/v1${query}` : query.replace(/cursor=[^&]+/, 'cursor=…').replace(/group=[^&]+/, 'group=ID');
      rows.push(`| ${what} | \`${shown}\` | ${r.rows} | ${fmt(r.p50)} | ${fmt(r.p90)} |`);
      process.stderr.write(`dashboard (${target.title}): ${what}: p50 ${fmt(r.p50)} ms\n`);
    }
    return [
      `## Dashboard listing (${N.toLocaleString('en')} jobs, ${target.title})`,
      '',
      `GET /api/v1/jobs over loopback against \`sluice serve --no-workers\`, ${RUNS} runs each, ms (store ${target.note}).`,
      '',
      '| listing | query | rows | p50 | p90 |',
      '|---|---|---:|---:|---:|',
      ...rows,
      '',
    ].join('\n');
  } finally {
    server.child.kill('SIGTERM');
    await new Promise((r) => (server.child.exitCode !== null ? r() : server.child.once('exit', r)));
  }
}

const sections = [];
for (const name of STORES) {
  const target = name === 'postgres' ? await postgres() : await sqlite();
  try {
    sections.push(await measure(target));
  } finally {
    await target.stop();
  }
}
process.stdout.write(sections.join('\n'));

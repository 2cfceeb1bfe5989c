// `sluice serve` over loopback (docs/api.md): HTTP submit throughput (one job per request, one
// at a time and 16 at once; bulk), submit-to-start latency through the API, and fan-out: W SSE
// watchers on /api/v1/events while jobs finish at R per second, every watcher checked to get every
// event, delivery delay from the event's commit (`at`) to its arrival at each watcher; the
// server's RSS. Each part has a fresh SLUICE_HOME (SQLite) and a real server process started from
// the built CLI. `node bench/server.mjs` prints the markdown section (needs `npm run build`).
// Sizes: BENCH_SERVER_FANOUT, fan-out cases as WATCHERSxJOBS_PER_S, comma-separated (default
// 1000x1000, the issue's goal); BENCH_SERVER_SECONDS of submitting per case (10).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fmt, now, summarize } from './lib/stats.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'dist', 'cli', 'main.js');
const CASES = (process.env.BENCH_SERVER_FANOUT ?? '1000x1000').split(',').map((c) => {
  const [watchers, rate] = c.split('x').map(Number);
  if (!(watchers > 0 && rate > 0)) throw new Error(`BENCH_SERVER_FANOUT: a case is WATCHERSxJOBS_PER_S, got "${c}"`);
  return { watchers, rate };
});
const SECONDS = Number(process.env.BENCH_SERVER_SECONDS ?? 10);
const { SqliteStore } = await import(pathToFileURL(path.join(ROOT, 'dist', 'store', 'index.js')).href);

const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/** A JSON request over a keep-alive connection: status and parsed body. */
function call(base, token, method, route, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request(`${base}${route}`, {
      method,
      agent,
      headers: { authorization: `Bearer ${token}`, ...(data ? { 'content-type': 'application/json', 'content-length': data.length } : {}) },
    });
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        if (res.statusCode >= 300) return reject(new Error(`${method} ${route}: ${res.statusCode} ${text.slice(0, 200)}`));
        resolve(text ? JSON.parse(text) : undefined);
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

/** `sluice serve --port 0 ARGS` in a fresh home; resolves once it prints its URL. */
async function serve(args, extraEnv = {}, nodeArgs = []) {
  const home = mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-serve-'));
  const env = { ...process.env, SLUICE_HOME: home, SLUICE_STORE: '', SLUICE_USER: '', ...extraEnv };
  const child = spawn(process.execPath, [...nodeArgs, BIN, 'serve', '--port', '0', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stderr.on('data', (d) => (log += d));
  const [, url, token] = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /Sluice is serving at (http:\/\/[^/\s]+)\/\?token=(\S+)\n/.exec(out);
      if (m) resolve(m);
    });
    child.on('exit', (code) => reject(new Error(`sluice serve exited (${code}): ${log}`)));
  });
  return {
    url,
    token,
    env,
    home,
    rssMb: () => rssMb(child.pid),
    cpu: () => cpuSeconds(child.pid),
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(home, { recursive: true, force: true });
    },
  };
}

/** CPU seconds a process has used (user + system), from /proc. */
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

function rssMb(pid) {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
  } catch {
    return NaN;
  }
}

/** Delays in 0.1 ms buckets up to 120 s (millions of deliveries: no array of them all). */
function histogram() {
  const counts = new Uint32Array(1_200_001);
  let n = 0;
  let max = 0;
  return {
    push(ms) {
      const v = Math.max(0, ms);
      counts[Math.min(counts.length - 1, Math.round(v * 10))]++;
      n++;
      if (v > max) max = v;
    },
    get length() {
      return n;
    },
    summary() {
      const at = (p) => {
        const want = Math.ceil((p / 100) * n);
        let seen = 0;
        for (let i = 0; i < counts.length; i++) if ((seen += counts[i]) >= want) return i / 10;
        return NaN;
      };
      return { p50: at(50), p90: at(90), p99: at(99), max, n };
    },
  };
}

const ping = (i) => ({ environ: { job_type: 'ping', ping: i } });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- submit throughput (no workers: only the API and the store) ----
async function submitThroughput() {
  const s = await serve(['--no-workers']);
  try {
    for (let i = 0; i < 200; i++) await call(s.url, s.token, 'POST', '/api/v1/jobs', ping(i));
    const rows = [];
    {
      const n = 2000;
      const lat = [];
      const t = now();
      for (let i = 0; i < n; i++) {
        const t0 = now();
        await call(s.url, s.token, 'POST', '/api/v1/jobs', ping(i));
        lat.push(now() - t0);
      }
      rows.push({ what: 'one job per request, one request at a time', jobs: n, rate: n / ((now() - t) / 1000), lat: summarize(lat) });
    }
    {
      const lanes = 16;
      const per = 250;
      const lat = [];
      const t = now();
      await Promise.all(
        Array.from({ length: lanes }, async () => {
          for (let i = 0; i < per; i++) {
            const t0 = now();
            await call(s.url, s.token, 'POST', '/api/v1/jobs', ping(i));
            lat.push(now() - t0);
          }
        }),
      );
      rows.push({ what: `one job per request, ${lanes} requests at once`, jobs: lanes * per, rate: (lanes * per) / ((now() - t) / 1000), lat: summarize(lat) });
    }
    for (const size of [100, 1000]) {
      const requests = Math.max(5, 20_000 / size);
      const lat = [];
      const t = now();
      for (let r = 0; r < requests; r++) {
        const t0 = now();
        await call(s.url, s.token, 'POST', '/api/v1/jobs', { jobs: Array.from({ length: size }, (_, i) => ping(i)) });
        lat.push(now() - t0);
      }
      rows.push({ what: `bulk: ${fmt(size)} jobs per request, one request at a time`, jobs: requests * size, rate: (requests * size) / ((now() - t) / 1000), lat: summarize(lat) });
    }
    return { rows, rss: s.rssMb() };
  } finally {
    await s.stop();
  }
}

// ---- submit-to-start latency: one job at a time, the embedded worker idle before each ----
async function submitToStart() {
  const s = await serve(['--workers', '2']);
  try {
    const toStart = [];
    const roundTrip = [];
    for (let i = 0; i < 330; i++) {
      const t0 = now();
      const { id } = await call(s.url, s.token, 'POST', '/api/v1/jobs', ping(i));
      const done = await call(s.url, s.token, 'GET', `/api/v1/jobs/${id}/wait?timeout=30`);
      const t1 = now();
      if (i < 30) continue; // warm-up
      toStart.push(Date.parse(done.date_start) - t0);
      roundTrip.push(t1 - t0);
      await sleep(20);
    }
    return { toStart: summarize(toStart), roundTrip: summarize(roundTrip) };
  } finally {
    await s.stop();
  }
}

/**
 * One SSE watcher on a raw socket. It counts the changes after its sync (frames with an `id:`)
 * and, for each, the delay from the event's `at` to the arrival of the chunk that carried it. It
 * reads only what it needs (no JSON.parse): the bench process must not be the bottleneck it
 * measures.
 */
function watcher(base, token, delays) {
  const w = { changes: 0, synced: false, lastSeq: -1, error: null, req: null };
  const AT = Buffer.from('"at":"');
  const ID = Buffer.from('\nid: ');
  w.ready = new Promise((resolve, reject) => {
    w.req = http.get(`${base}/api/v1/events`, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`events: ${res.statusCode}`));
      let carry = Buffer.alloc(0);
      res.on('data', (chunk) => {
        const arrived = now();
        const buf = carry.length ? Buffer.concat([carry, chunk]) : chunk;
        // Whole frames only: up to the last blank line (its second LF is kept: the next frame's `\nid: ` starts there).
        const end = buf.lastIndexOf('\n\n');
        if (end < 0) {
          carry = buf;
          return;
        }
        carry = buf.subarray(end + 1);
        let pos = 0;
        for (;;) {
          const i = buf.indexOf(ID, pos);
          if (i < 0 || i > end) break;
          const nl = buf.indexOf(10, i + 5);
          const seq = Number(buf.toString('latin1', i + 5, nl));
          if (!w.synced) {
            // the first id is the sync's
            w.synced = true;
            w.lastSeq = seq;
            resolve();
          } else {
            if (seq <= w.lastSeq) w.error = `seq ${seq} after ${w.lastSeq}`;
            w.lastSeq = seq;
            w.changes++;
            const a = buf.indexOf(AT, nl);
            if (a >= 0) delays.push(arrived - Date.parse(buf.toString('latin1', a + 6, a + 30)));
          }
          pos = nl;
        }
      });
      res.on('error', (err) => (w.error = err.message));
    });
    w.req.on('error', reject);
  });
  return w;
}

// ---- fan-out: W watchers while jobs finish at RATE per second, run by a worker in its own process ----
async function fanOut({ watchers: WATCHERS, rate: RATE }) {
  const s = await serve(['--no-workers'], { SLUICE_MAX_STREAMS: String(WATCHERS + 10), SLUICE_STREAM_HEARTBEAT: '5s' }, process.env.BENCH_SERVER_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_SERVER_PROF}`] : []);
  const worker = spawn(process.execPath, [BIN, 'worker', '--concurrency', '32'], { env: s.env, stdio: ['ignore', 'ignore', 'pipe'] });
  try {
    await new Promise((resolve, reject) => {
      let log = '';
      worker.stderr.on('data', (d) => {
        log += d;
        if (log.includes(': started')) resolve();
      });
      worker.on('exit', (code) => reject(new Error(`worker exited (${code}): ${log}`)));
    });
    const idle = s.rssMb();
    const delays = histogram();
    const watchers = [];
    for (let i = 0; i < WATCHERS; i++) {
      watchers.push(watcher(s.url, s.token, delays));
      if (i % 50 === 49) await Promise.all(watchers.slice(-50).map((w) => w.ready));
    }
    await Promise.all(watchers.map((w) => w.ready));
    const connectedRss = s.rssMb();
    // Submit RATE jobs a second in ten batches a second, for SECONDS.
    const batch = Math.max(1, Math.round(RATE / 10));
    const batches = Math.round(SECONDS * 10);
    let peakRss = connectedRss;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, s.rssMb())), 250);
    const cpu0 = { server: s.cpu(), worker: cpuSeconds(worker.pid), bench: process.cpuUsage() };
    const t = now();
    for (let b = 0; b < batches; b++) {
      const due = t + b * 100;
      if (now() < due) await sleep(due - now());
      await call(s.url, s.token, 'POST', '/api/v1/jobs', { jobs: Array.from({ length: batch }, (_, i) => ping(i)) });
    }
    const submitSeconds = (now() - t) / 1000;
    // Every job ends; then every watcher has every event the store has.
    const store = new SqliteStore(path.join(s.home, 'sluice.db'));
    let last;
    for (const deadline = now() + 300_000; now() < deadline; ) {
      const queued = await call(s.url, s.token, 'GET', '/api/v1/jobs?status=Queued&limit=1');
      const running = await call(s.url, s.token, 'GET', '/api/v1/jobs?status=Running&limit=1');
      if (!queued.jobs.length && !running.jobs.length) break;
      await sleep(100);
    }
    const ended = now();
    last = await store.lastSeq();
    const caughtUp = now() + 120_000;
    while (watchers.some((w) => w.lastSeq < last) && now() < caughtUp) await sleep(50);
    const finishSeconds = (now() - t) / 1000;
    const drainMs = now() - ended;
    clearInterval(sampler);
    const used = process.cpuUsage(cpu0.bench);
    const cpu = { server: s.cpu() - cpu0.server, worker: cpuSeconds(worker.pid) - cpu0.worker, bench: (used.user + used.system) / 1e6 };
    const expected = last - watchers[0].lastSeq + watchers[0].changes;
    const short = watchers.filter((w) => w.lastSeq !== last || w.changes !== expected || w.error);
    await store.close();
    for (const w of watchers) w.req.destroy();
    return {
      watchers: WATCHERS,
      rate: RATE,
      cpu,
      jobs: batch * batches,
      submitSeconds,
      finishSeconds,
      drainMs,
      events: expected,
      deliveries: delays.length,
      short: short.length,
      shortExample: short[0] ? { lastSeq: short[0].lastSeq, changes: short[0].changes, error: short[0].error, last, expected } : null,
      delay: delays.summary(),
      idle,
      connectedRss,
      peakRss,
    };
  } finally {
    worker.kill('SIGTERM');
    await new Promise((r) => (worker.exitCode !== null ? r() : worker.once('exit', r)));
    await s.stop();
  }
}

const only = process.env.BENCH_SERVER_ONLY; // 'fanout' while tuning it
process.stderr.write('server bench: submit throughput...\n');
const submit = only === 'fanout' ? { rows: [], rss: NaN } : await submitThroughput();
process.stderr.write('server bench: submit-to-start latency...\n');
const start = only === 'fanout' ? { toStart: summarize([]), roundTrip: summarize([]) } : await submitToStart();
const fans = [];
for (const c of CASES) {
  process.stderr.write(`server bench: fan-out, ${c.watchers} watchers at ${c.rate} jobs/s for ${SECONDS} s...\n`);
  fans.push(await fanOut(c));
}
agent.destroy();

const f1 = (n) => fmt(n, 1);
const f2 = (n) => fmt(n, 2);
const load = os.loadavg()[0];
process.stdout.write(
  [
    '## Server: the HTTP API and its streams over loopback',
    '',
    `A real \`sluice serve\` (SQLite, a fresh SLUICE_HOME per part) and the bench's own keep-alive HTTP client in one other process, on this 2-core machine (load average ${f1(load)} at the end: the machine is shared). Command: \`${['BENCH_SERVER_FANOUT', 'BENCH_SERVER_SECONDS'].filter((k) => process.env[k]).map((k) => `${k}=${process.env[k]}`).join(' ')}${process.env.BENCH_SERVER_FANOUT || process.env.BENCH_SERVER_SECONDS ? ' ' : ''}node bench/server.mjs\`.`,
    '',
    'Submitting `ping` jobs with `POST /api/v1/jobs` to a server with `--no-workers` (nothing runs them):',
    '',
    '| how | jobs | jobs/s | request p50 (ms) | request p99 (ms) |',
    '|---|---|---|---|---|',
    ...submit.rows.map((r) => `| ${r.what} | ${fmt(r.jobs)} | ${fmt(r.rate)} | ${f2(r.lat.p50)} | ${f2(r.lat.p99)} |`),
    '',
    `Submit-to-start through the API (\`--workers 2\`, the embedded worker idle before each job; one job at a time, ${start.toStart.n} jobs): POST sent to the record's \`date_start\` p50 ${f1(start.toStart.p50)} ms, p90 ${f1(start.toStart.p90)} ms, p99 ${f1(start.toStart.p99)} ms (ms resolution); POST sent to the ended record back from \`/wait\` p50 ${f1(start.roundTrip.p50)} ms, p99 ${f1(start.roundTrip.p99)} ms. Server RSS after the submit runs: ${fmt(submit.rss)} MiB.`,
    '',
    `Fan-out: W SSE watchers (one admin token, no filter: each gets every event) on \`/api/v1/events\`; \`ping\` jobs submitted in bulk (ten requests a second) at R jobs/s for ${SECONDS} s, run by a \`sluice worker --concurrency 32\` in its own process; three events per job (add, Running, Success). Delay: from the event's commit (\`at\`, ms) to the arrival at each watcher of the chunk that carried it. "Done" is from the first submit until all jobs ended and every watcher had every event. CPU: seconds used in that time by the server, the worker and the bench process (the watchers and the submitter).`,
    '',
    '| W | R (jobs/s) | submitting took (s) | done (s) | events | deliveries | every watcher every event, in order | delay p50 (ms) | p90 | p99 | max | p99 < 250 ms | CPU s: server / worker / bench | server RSS (MiB): idle / connected / peak |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...fans.map((f) => `| ${fmt(f.watchers)} | ${fmt(f.rate)} | ${f1(f.submitSeconds)} | ${f1(f.finishSeconds)} | ${fmt(f.events)} | ${fmt(f.deliveries)} | ${f.short ? `no: ${f.short} short (${JSON.stringify(f.shortExample)})` : 'yes'} | ${fmt(f.delay.p50)} | ${fmt(f.delay.p90)} | ${fmt(f.delay.p99)} | ${fmt(f.delay.max)} | ${f.delay.p99 < 250 ? 'met' : 'missed'} | ${f1(f.cpu.server)} / ${f1(f.cpu.worker)} / ${f1(f.cpu.bench)} | ${fmt(f.idle)} / ${fmt(f.connectedRss)} / ${fmt(f.peakRss)} |`),
    '',
  ].join('\n'),
);

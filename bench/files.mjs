// File store benchmark: PUT and GET throughput for 1 KiB and 10 MiB files through our client against
// `sluice files serve` in another process (fsync on, as deployed), the same transfers with gzip, the
// local disk doing the same work as a reference, and the latency of a cache hit (no request).
// `node bench/files.mjs` prints the markdown section; bench/run.mjs calls main().
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, copyFileSync, fsyncSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FilesClient, FileTracker } from '../dist/files/index.js';
import { fmt, summarize } from './lib/stats.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const KiB = 1024;
const MiB = 1024 * KiB;
const SMALL_N = Number(process.env.BENCH_FILES_SMALL ?? 2000);
const LARGE_N = Number(process.env.BENCH_FILES_LARGE ?? 20);
const HITS = Number(process.env.BENCH_FILES_HITS ?? 5000);

/** `sluice files serve` as deployed, in its own process (the built server module). */
async function startServer(root, fsync) {
  const script = `
    const { startFileServer } = await import(${JSON.stringify(path.join(here, '..', 'dist', 'files', 'server.js'))});
    const server = await startFileServer({ root: process.argv[1], port: 0, fsync: ${fsync} });
    process.stdout.write(server.url + '\\n');
    process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, root], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.trim());
    });
    child.once('exit', (code) => reject(new Error(`file server exited ${code}`)));
  });
  return {
    url,
    stop: () => new Promise((resolve) => {
      child.once('exit', resolve);
      child.kill('SIGTERM');
    }),
  };
}

/** Distinct contents (so dedupe never short-cuts a write): a random block with a counter in front. */
function contents(size, n, text = false) {
  const block = text ? Buffer.from(Array.from({ length: Math.ceil(size / 16) }, (_, i) => `${String(i).padStart(10)} row\n`).join('')).subarray(0, size) : randomBytes(size);
  return Array.from({ length: n }, (_, i) => {
    const b = Buffer.from(block);
    b.write(String(i).padStart(12, '0'), 0);
    return b;
  });
}

async function timed(n, fn) {
  const times = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    times.push(performance.now() - t);
  }
  return { totalMs: performance.now() - t0, lat: summarize(times) };
}

function row(what, n, size, r) {
  const seconds = r.totalMs / 1000;
  return `| ${what} | ${fmt(n)} × ${size >= MiB ? `${size / MiB} MiB` : `${size / KiB} KiB`} | ${fmt(n / seconds)} | ${fmt((n * size) / MiB / seconds, 1)} | ${fmt(r.lat.p50, 2)} | ${fmt(r.lat.p99, 2)} |`;
}

export async function main() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-files-'));
  const rows = [];
  const notes = [];
  try {
    const small = contents(KiB, SMALL_N);
    const large = contents(10 * MiB, LARGE_N);
    const largeFiles = large.map((b, i) => {
      const f = path.join(dir, `large-${i}`);
      writeFileSync(f, b);
      return f;
    });
    const out = path.join(dir, 'out');
    mkdirSync(out);

    for (const fsync of [true, false]) {
      const server = await startServer(path.join(dir, `root-${fsync}`), fsync);
      const client = new FilesClient({ url: server.url, gzip: false });
      try {
        const label = fsync ? '' : ' (server --no-fsync)';
        rows.push(row(`PUT${label}`, SMALL_N, KiB, await timed(SMALL_N, (i) => client.upload(small[i], `/small/${i}`))));
        if (fsync) rows.push(row('GET', SMALL_N, KiB, await timed(SMALL_N, (i) => client.download(`/small/${i}`, path.join(out, `small-${i}`)))));
        rows.push(row(`PUT${label}`, LARGE_N, 10 * MiB, await timed(LARGE_N, (i) => client.upload(largeFiles[i], `/large/${i}`))));
        if (fsync) rows.push(row('GET', LARGE_N, 10 * MiB, await timed(LARGE_N, (i) => client.download(`/large/${i}`, path.join(out, `large-${i}`)))));
        if (fsync) {
          // gzip on the wire, as a client of a remote server does (text compresses ~4x; level 1).
          const text = contents(10 * MiB, 5, true);
          const gz = new FilesClient({ url: server.url, gzip: true });
          rows.push(row('PUT, gzip, text', 5, 10 * MiB, await timed(5, (i) => gz.upload(text[i], `/text/${i}`))));
          rows.push(row('GET, gzip, text', 5, 10 * MiB, await timed(5, (i) => gz.download(`/text/${i}`, path.join(out, `text-${i}`)))));
          gz.close();
        }
      } finally {
        client.close();
        await server.stop();
      }
    }

    // The disk doing the same work without HTTP: write + fsync (what a PUT costs the server at least),
    // and a copy (what a GET into a file costs at least).
    const disk = (label, n, size, fn) => timed(n, fn).then((r) => rows.push(row(label, n, size, r)));
    await disk('disk reference: write + fsync', LARGE_N, 10 * MiB, async (i) => {
      const fd = openSync(path.join(out, `ref-${i}`), 'w');
      writeSync(fd, large[i]);
      fsyncSync(fd);
      closeSync(fd);
    });
    await disk('disk reference: copy file', LARGE_N, 10 * MiB, async (i) => copyFileSync(largeFiles[i], path.join(out, `copy-${i}`)));

    // Cache hits: a versioned name already in the cache, delivered to a job's folder with no request.
    const server = await startServer(path.join(dir, 'root-cache'), true);
    const tracker = new FileTracker({ url: server.url, cacheDir: path.join(dir, 'cache') });
    const hitRows = [];
    try {
      for (const [label, size, src] of [['1 KiB', KiB, small[0]], ['10 MiB', 10 * MiB, large[0]]]) {
        const f = path.join(dir, `hit-src-${size}`);
        writeFileSync(f, src);
        const name = await tracker.put(f, `/hit/${size}`);
        const before = tracker.client.requests;
        // Each get writes a fresh file, as into a fresh job folder (overwriting costs a truncate on top).
        const n = size >= MiB ? 30 : HITS;
        const jobDir = (kind, i) => path.join(out, `job-${kind}-${size}-${i}`, 'in');
        const r = await timed(n, (i) => tracker.get(name, jobDir('v', i)));
        if (tracker.client.requests !== before) throw new Error('a cache hit sent a request');
        hitRows.push(`| versioned name, ${label} | ${fmt(n)} | ${fmt(r.lat.p50 * 1000)} | ${fmt(r.lat.p90 * 1000)} | ${fmt(r.lat.p99 * 1000)} | 0 |`);
        const m = size >= MiB ? 30 : 1000;
        const unversioned = await timed(m, (i) => tracker.get(`/hit/${size}`, jobDir('u', i)));
        hitRows.push(`| unversioned name (HEAD, then the cache), ${label} | ${fmt(m)} | ${fmt(unversioned.lat.p50 * 1000)} | ${fmt(unversioned.lat.p90 * 1000)} | ${fmt(unversioned.lat.p99 * 1000)} | 1 |`);
        rmSync(out, { recursive: true, force: true });
        mkdirSync(out);
      }
    } finally {
      tracker.close();
      await server.stop();
    }
    notes.push(`Small files: ${fmt(SMALL_N)} sequential requests, one at a time; large: ${LARGE_N} distinct 10 MiB files (random bytes) read from the page cache.`);

    return [
      '## File store: transfers and cache hits',
      '',
      `Our client against \`sluice files serve\` in another process on 127.0.0.1 (plain bodies on loopback, blobs fsynced before commit unless noted), one request at a time. ${notes.join(' ')} The disk rows do the same bytes with plain file calls, as the yardstick for "near disk speed".`,
      '',
      '| operation | files | files/s | MiB/s | p50 (ms) | p99 (ms) |',
      '|---|---|---|---|---|---|',
      ...rows,
      '',
      'Cache hits: `FileTracker.get` of a name whose content is in the local cache, copied into a job folder (one indexed SQLite lookup, a recency update, a file copy).',
      '',
      '| cache hit | gets | p50 (µs) | p90 (µs) | p99 (µs) | requests |',
      '|---|---|---|---|---|---|',
      ...hitRows,
      '',
    ].join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(await main());
}

// Claim-path benchmark: how fast units are claimed (and completed) through the fair-share planner
// with 1, 100, 1,000 and 10,000 active owners, and with 1,000,000 queued units. It drives the store
// and the planner the way a worker does (a snapshot read again after 50 ms, or after ten times as
// long as it took to read; 50 slots; complete + claim in one transaction), in-process, so the figure
// is the claim path itself.
// `node bench/claim.mjs` prints the markdown section.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SqliteStore } from '../dist/store/index.js';
import { DEFAULT_POLICY } from '../dist/schedule/index.js';
import { PlannerView, viewExpired } from '../dist/worker/plan.js';
import { fmt, now } from './lib/stats.mjs';

const SLOTS = 50;
const CLAIMS = Number(process.env.BENCH_CLAIMS ?? 20_000);

async function fill(store, owners, units) {
  const batch = 50_000;
  for (let done = 0; done < units; done += batch) {
    const n = Math.min(batch, units - done);
    await store.submit(Array.from({ length: n }, (_, i) => ({ owner: `owner-${(done + i) % owners}`, environ: { job_type: 'ping' } })));
  }
}

export async function measure(owners, units) {
  const home = mkdtempSync(path.join(os.tmpdir(), 'sluice-claim-'));
  const store = new SqliteStore(path.join(home, 'sluice.db'));
  const policy = DEFAULT_POLICY;
  try {
    const t0 = now();
    await fill(store, owners, units);
    const fillMs = now() - t0;
    const worker = await store.registerWorker({ host: 'bench', pid: process.pid, concurrency: SLOTS, ram_mb: 1 << 20, exclusive: false });
    let view;
    let viewAt = 0;
    let viewCost = 0;
    let running = [];
    let claimed = 0;
    let planMs = 0;
    const start = now();
    const cpu0 = process.cpuUsage();
    while (claimed < CLAIMS) {
      const t = Date.now();
      if (!view || viewExpired(viewAt, viewCost, t)) {
        view = new PlannerView(await store.queueSnapshot(), t, policy);
        viewAt = t;
        viewCost = Date.now() - t;
      }
      const p0 = now();
      const picks = view.plan(SLOTS, t, { exclusiveCapable: false, idle: false });
      planMs += now() - p0;
      const finished = running.map((u) => ({ unit: u.unit, token: u.token, output: { ...u.environ, result: 'SUCCESS' }, result: null, charge: 1 }));
      const request = { picks, freeRamMb: 1 << 20, leaseMs: 60_000 };
      const answer = await store.completeAndClaim(worker, finished, request);
      running = answer.claimed;
      claimed += running.length;
      view.noteClaimed(request, running, Date.now());
      if (!running.length) view = undefined;
    }
    const ms = now() - start;
    const cpu = process.cpuUsage(cpu0);
    return { owners, units, fillMs, perSecond: claimed / (ms / 1000), cpuUsPerClaim: (cpu.user + cpu.system) / claimed, planUsPerClaim: (planMs * 1000) / claimed };
  } finally {
    await store.close();
    rmSync(home, { recursive: true, force: true });
  }
}

export async function main() {
  const cases = [
    [1, 100_000],
    [100, 100_000],
    [1_000, 100_000],
    [10_000, 100_000],
    [1_000, 1_000_000],
  ];
  const rows = [];
  for (const [owners, units] of cases) rows.push(await measure(owners, units));
  const base = rows[0].perSecond;
  return [
    '## Claim path: fair share with many owners',
    '',
    `Units claimed and completed per second through the fair-share planner and the SQLite store, in-process, ${SLOTS} slots per cycle (a worker's complete-and-claim transaction), ${fmt(CLAIMS)} claims per case; the queue is filled first (bulk submit). CPU: this process's (the store's WAL checkpointer thread included) per claim, which a shared machine disturbs less than the rate.`,
    '',
    '| active owners | queued units | fill (units/s) | claims/s | vs 1 owner | CPU µs per claim | vs 1 owner | planner µs per claim |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${fmt(r.owners)} | ${fmt(r.units)} | ${fmt(r.units / (r.fillMs / 1000))} | ${fmt(r.perSecond)} | ${fmt((r.perSecond / base) * 100)} % | ${fmt(r.cpuUsPerClaim, 1)} | ${fmt((r.cpuUsPerClaim / rows[0].cpuUsPerClaim) * 100)} % | ${fmt(r.planUsPerClaim, 2)} |`),
    '',
    `Fairness cost at 1,000 owners: ${fmt((1 - rows[2].perSecond / base) * 100)} % of the single-owner throughput (goal: under 20 %), ${fmt((rows[2].cpuUsPerClaim / rows[0].cpuUsPerClaim - 1) * 100)} % more CPU per claim; at 10,000 owners ${fmt((1 - rows[3].perSecond / base) * 100)} % (CPU ${fmt((rows[3].cpuUsPerClaim / rows[0].cpuUsPerClaim - 1) * 100)} % more).`,
    `1,000,000 queued units (1,000 owners) against 100,000: ${fmt((rows[4].perSecond / rows[2].perSecond) * 100)} % of the claim rate, ${fmt((rows[4].cpuUsPerClaim / rows[2].cpuUsPerClaim) * 100)} % of the CPU per claim (goal: within 20 %).`,
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(await main());
}

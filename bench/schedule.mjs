// Schedule micro-benchmark: how long `planClaims` takes to plan a batch of claims over the queues of
// many owners (a snapshot as the worker's claim path sees it), and what the policy simulation shows
// about fairness. Pure CPU, no servers. Build first (`npx tsc -p tsconfig.build.json`), then
// `node bench/schedule.mjs` prints the markdown section.
import { fileURLToPath } from 'node:url';
import { ClaimPlanner, DEFAULT_POLICY, ownerFactors, planClaims, PRIORITY_CLASSES, simulate } from '../dist/schedule/index.js';
import { fmt, summarize } from './lib/stats.mjs';

const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 0, 1);
const QUEUED_TOTAL = 1_000_000;

/** A small seeded PRNG (mulberry32), so every run plans over the same snapshot. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A snapshot: `owners` active owners, each with a queue of every class, a million units queued in all. */
export function snapshot(owners, seed = 1) {
  const rnd = prng(seed);
  const ownerStates = [];
  const queues = [];
  const perQueue = Math.max(1, Math.round(QUEUED_TOTAL / (owners * PRIORITY_CLASSES.length)));
  for (let i = 0; i < owners; i++) {
    const owner = `user-${String(i).padStart(5, '0')}`;
    ownerStates.push({
      owner,
      share: 1 + Math.floor(rnd() * 4),
      usage: { value: rnd() * 50_000, at: NOW - rnd() * 6 * HOUR },
      runningSeconds: rnd() < 0.3 ? rnd() * 600 : 0,
    });
    for (const cls of PRIORITY_CLASSES) {
      queues.push({ owner, class: cls, queued: 1 + Math.floor(rnd() * 2 * perQueue), since: NOW - rnd() * 2 * HOUR });
    }
  }
  return { queues, owners: ownerStates };
}

function time(fn, minMs = 300, minRuns = 200) {
  for (let i = 0; i < 50; i++) fn(); // warm up
  const samples = [];
  const start = performance.now();
  while (samples.length < minRuns || performance.now() - start < minMs) {
    const t0 = performance.now();
    fn();
    samples.push((performance.now() - t0) * 1000);
  }
  return summarize(samples);
}

function planningRows() {
  const rows = [];
  for (const owners of [1, 100, 1000, 10_000]) {
    const snap = snapshot(owners);
    for (const n of [1, 50]) {
      const picks = planClaims(snap.queues, snap.owners, n, NOW, DEFAULT_POLICY);
      if (picks.length !== n) throw new Error(`planClaims returned ${picks.length} picks, expected ${n}`);
      const t = time(() => planClaims(snap.queues, snap.owners, n, NOW, DEFAULT_POLICY));
      rows.push(`| ${fmt(owners)} | ${fmt(snap.queues.length)} | ${n} | ${fmt(t.p50, 1)} | ${fmt(t.p99, 1)} | ${fmt(t.n)} |`);
    }
    // What a worker pays per claim cycle: the planner prepared once per snapshot, then asked.
    const planner = new ClaimPlanner(snap.queues, snap.owners, NOW, DEFAULT_POLICY);
    let call = 0;
    const asked = time(() => planner.plan(50, NOW + ++call));
    rows.push(`| ${fmt(owners)} | ${fmt(snap.queues.length)} | 50, prepared planner | ${fmt(asked.p50, 1)} | ${fmt(asked.p99, 1)} | ${fmt(asked.n)} |`);
    const f = time(() => ownerFactors(snap.owners, NOW, DEFAULT_POLICY));
    rows.push(`| ${fmt(owners)} | (ownerFactors alone) | – | ${fmt(f.p50, 1)} | ${fmt(f.p99, 1)} | ${fmt(f.n)} |`);
  }
  return rows;
}

/** Worst deviation from target over every window of `w` consecutive finished units, while all owners had work. */
export function windowDeviation(result, shares, unitsEach, w = 400) {
  const owners = Object.keys(shares);
  const total = owners.reduce((s, o) => s + shares[o], 0);
  const startedCount = Object.fromEntries(owners.map((o) => [o, 0]));
  let stop = Infinity;
  for (const u of result.started) {
    if (++startedCount[u.owner] === unitsEach) {
      stop = u.startedAt;
      break;
    }
  }
  const fin = result.finished.filter((u) => u.startedAt < stop);
  const count = Object.fromEntries(owners.map((o) => [o, 0]));
  let rel = 0;
  let abs = 0;
  let windows = 0;
  for (let i = 0; i < fin.length; i++) {
    count[fin[i].owner]++;
    if (i >= w) count[fin[i - w].owner]--;
    if (i < w - 1) continue;
    windows++;
    for (const o of owners) {
      const target = shares[o] / total;
      rel = Math.max(rel, Math.abs(count[o] / w / target - 1));
      abs = Math.max(abs, Math.abs(count[o] / w - target));
    }
  }
  return { rel, abs, windows };
}

function simulationRows() {
  const shares = { a: 1, b: 1, c: 2 };
  const rows = [];
  for (const durationMs of [10_000, 60_000, 600_000, HOUR]) {
    const jobs = Object.keys(shares).map((owner) => ({ owner, at: 0, units: 4000, durationMs }));
    const t0 = performance.now();
    const result = simulate({ slots: 4, jobs, shares, staggerMs: durationMs / 4 });
    const ms = performance.now() - t0;
    const d = windowDeviation(result, shares, 4000);
    rows.push(`| ${fmt(durationMs / 1000)} s | ${fmt(d.windows)} | ${fmt(d.rel * 100, 1)} % | ${fmt(d.abs * 100, 2)} | ${fmt(ms)} ms |`);
  }
  return rows;
}

function starvationRows() {
  const d = 60_000;
  const rows = [];
  const cases = [
    ['the streaming owner itself', 'b', 0],
    ['another owner, no usage', 'a', 0],
    ['another owner who ran all 4 slots for the 2 h before', 'a', 2],
    ['another owner who ran all 4 slots for the 10 h before', 'a', 10],
  ];
  for (const [label, niceOwner, historyHours] of cases) {
    const t0 = historyHours * HOUR;
    const jobs = historyHours ? [{ owner: 'a', at: 0, units: historyHours * 60 * 4, durationMs: d }] : [];
    jobs.push({ owner: 'b', at: t0, units: 10, durationMs: d });
    for (let t = t0; t < t0 + 40 * HOUR; t += 10_000) jobs.push({ owner: 'b', at: t, durationMs: d });
    jobs.push({ owner: niceOwner, class: 'nice', at: t0, durationMs: d });
    const r = simulate({ slots: 4, jobs, until: t0 + 40 * HOUR });
    const u = r.started.find((x) => x.class === 'nice');
    rows.push(`| ${label} | ${u ? fmt((u.startedAt - t0) / HOUR, 2) + ' h' : 'not within 40 h'} |`);
  }
  return rows;
}

export async function main() {
  const p = DEFAULT_POLICY;
  return [
    '## Schedule: planning claims, and the policy in simulation',
    '',
    `\`planClaims\` over a snapshot of N active owners, each with a nice, a normal and an urgent queue (${fmt(QUEUED_TOTAL)} units queued in all), shares 1–4, random decayed usage, some running; n = picks per call. Microseconds per call, one core, Node ${process.versions.node}. "Prepared planner": a \`ClaimPlanner\` prepared once over the snapshot and asked again and again (a worker prepares one per snapshot read and asks it at every claim cycle), the time of one call.`,
    '',
    '| owners | queues | n | p50 (µs) | p99 (µs) | calls |',
    '|---|---|---|---|---|---|',
    ...planningRows(),
    '',
    `Simulation at the default policy (half-life ${p.halfLifeMs / HOUR} h, age scale ${p.ageMs / HOUR} h, estimate ${p.estimateSeconds} s): three owners with shares 1:1:2 each submit 4,000 equal units at once to 4 slots (coming online a quarter unit apart); worst deviation from the target share over every window of 400 consecutive finished units, while all three still had work queued.`,
    '',
    '| unit duration | windows | worst relative deviation | worst absolute (points) | simulated in |',
    '|---|---|---|---|---|',
    ...simulationRows(),
    '',
    'A nice unit queued behind a stream of normal units of owner b (one every 10 s, 60 s each, 4 slots, so the normal backlog never empties): how long it waits.',
    '',
    '| nice unit owned by | waits |',
    '|---|---|',
    ...starvationRows(),
    '',
  ].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(await main());
}

// What the job types that run processes cost per job (docs/design.md): a `js` job of an owner whose
// child is reused, the first job of a new owner (a fresh Node child), a job after one that left a
// timer behind (its child is not reused); a `system` job `true` (a fork of the reaper and a shell).
// `node bench/jobs.mjs` prints the markdown section. Needs a build (npm run build).
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fmt, summarize } from './lib/stats.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = (p) => import(pathToFileURL(path.join(ROOT, 'dist', p)).href);
const { run } = await dist('environ/index.js');
const { builtinRegistry, jsPool } = await dist('jobs/index.js');
const registry = builtinRegistry({ nodeModules: [], pluginModules: [] });

let seq = 0;
async function job(owner, cmd, jobType = 'js') {
  const t = performance.now();
  const out = await run({ job_type: jobType, cmd }, { registry, identity: { job: `bench-${++seq}`, unit: 0, owner } });
  if (out.result !== 'SUCCESS') throw new Error(out.exception);
  return performance.now() - t;
}
async function series(n, fn) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await fn(i));
  return summarize(out);
}

await series(50, () => job('warm', 'return 1'));
const reused = await series(2000, () => job('warm', 'return 1'));
const fresh = await series(40, (i) => job(`new-${i}`, 'return 1'));
const leftover = await series(40, () => job('timers', 'setTimeout(() => {}, 60_000); return 1'));
jsPool.close();
await series(20, () => job('sys', 'true', 'system'));
const system = await series(300, () => job('sys', 'true', 'system'));

const row = (what, s) => `| ${what} | ${fmt(s.p50, 2)} | ${fmt(s.p90, 2)} | ${fmt(s.p99, 2)} | ${s.n} |`;
process.stdout.write(
  [
    '## js and system jobs',
    '',
    'One job at a time through `run()` (the environ runner, then the pool and its child, or the reaper and `/bin/sh`), in ms: `js` jobs `return 1`, `system` jobs `true`.',
    '',
    '| case | p50 | p90 | p99 | jobs |',
    '|---|---|---|---|---|',
    row('js, same owner, child reused (its global scope put back after each job)', reused),
    row('js, first job of a new owner (a fresh Node child)', fresh),
    row('js, same owner, the last job left a timer (child not reused)', leftover),
    row('system `true` under sluice-reap', system),
    '',
  ].join('\n'),
);

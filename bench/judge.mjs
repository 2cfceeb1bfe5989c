// Judge throughput (docs/sandbox.md, "Judge throughput"): sandboxed a+b test runs per second through
// the queue on this machine: 1,000 `exec` environs (a+b, checked against its hint) submitted to a
// SQLite store through the public API, run by two `sluice worker` processes (concurrency 1 each:
// one per core), timed from the first unit's start to the last one's end as the store records them;
// beside the same 1,000 runs done by a shell loop of bare spawns (one loop, and two loops at once).
// `node bench/judge.mjs` prints the markdown section. Needs a build (npm run build) and gcc.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fmt, now } from './lib/stats.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const RUNS = Number(process.env.BENCH_JUDGE_RUNS ?? 1000);
const WORKERS = 2;
const { SqliteStore } = await import(pathToFileURL(path.join(ROOT, 'dist/store/index.js')).href);

const work = mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-judge-'));
const exe = path.join(work, 'aplusb');
writeFileSync(`${exe}.c`, '#include <stdio.h>\nint main(void){long a,b;if(scanf("%ld %ld",&a,&b)!=2)return 1;printf("%ld\\n",a+b);return 0;}\n');
execFileSync('gcc', ['-O2', '-static', '-o', exe, `${exe}.c`]);
const input = path.join(work, 'ab.in');
const hint = path.join(work, 'ab.hint');
writeFileSync(input, '40 2\n');
writeFileSync(hint, '42\n');

/** `loops` shell loops at once, each running its share of RUNS bare a+b's; returns runs per second. */
function shellLoops(loops) {
  const script = `for i in $(seq ${Math.ceil(RUNS / loops)}); do ${exe} < ${input} > /dev/null; done`;
  const t = now();
  return new Promise((resolve, reject) => {
    let left = loops;
    for (let i = 0; i < loops; i++) {
      const child = spawn('sh', ['-c', script], { stdio: 'ignore' });
      child.on('error', reject);
      child.on('exit', (code) => {
        if (code !== 0) reject(new Error(`shell loop exited ${code}`));
        else if (--left === 0) resolve(RUNS / ((now() - t) / 1000));
      });
    }
  });
}

async function throughQueue() {
  const home = path.join(work, 'home');
  mkdirSync(home);
  const db = path.join(home, 'sluice.db');
  const store = new SqliteStore(db);
  const environ = { job_type: 'exec', exe_file: exe, in_file: input, check_output: true, hint_file: hint, use_filetracker: false, exec_time_limit: 1000, exec_mem_limit: 65536 };
  const ids = await store.submit(Array.from({ length: RUNS }, () => ({ owner: 'bench', environ })));
  const env = { ...process.env, SLUICE_HOME: home, SLUICE_STORE: db };
  const workers = Array.from({ length: WORKERS }, () => spawn(process.execPath, [path.join(ROOT, 'dist/cli/main.js'), 'worker', '--concurrency', '1'], { env, stdio: ['ignore', 'ignore', 'inherit'] }));
  let stats;
  for (;;) {
    await new Promise((r) => setTimeout(r, 200));
    stats = await store.jobStats();
    const ended = (stats.byStatus.Success ?? 0) + (stats.byStatus.Failed ?? 0) + (stats.byStatus.Aborted ?? 0);
    if (ended >= RUNS) break;
  }
  for (const w of workers) w.kill('SIGTERM');
  await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null ? r() : w.on('exit', r)))));
  const failed = stats.byStatus.Failed ?? 0;
  const sample = await Promise.all([ids[0], ids[RUNS >> 1], ids.at(-1)].map((id) => store.get(id)));
  const verdicts = new Set(sample.map((j) => j?.output?.result_code));
  await store.close();
  if (failed) throw new Error(`${failed} of ${RUNS} jobs failed`);
  if (verdicts.size !== 1 || !verdicts.has('OK')) throw new Error(`unexpected verdicts: ${[...verdicts].join(', ')}`);
  return RUNS / ((stats.lastEnd - stats.firstStart) / 1000);
}

const load0 = os.loadavg()[0];
await shellLoops(1); // warm the page cache and the binary
const one = await shellLoops(1);
const two = await shellLoops(2);
const queue = await throughQueue();
const load1 = os.loadavg()[0];
rmSync(work, { recursive: true, force: true });

process.stdout.write(
  [
    '## Judge throughput',
    '',
    `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}; load average ${load0.toFixed(2)} at the start, ${load1.toFixed(2)} at the end. Command: \`node bench/judge.mjs\` (after \`npm run build\`).`,
    '',
    `${fmt(RUNS)} a+b runs (static C). Through the queue: each an \`exec\` job (sandboxed, output checked against the hint) submitted to a SQLite store with \`SqliteStore.submit\`, run by ${WORKERS} \`sluice worker --concurrency 1\` processes, timed from the first unit's start to the last one's end (\`jobStats()\`).`,
    '',
    '| how | runs per second |',
    '|---|---:|',
    `| shell loop of bare spawns (\`for i in …; do ./aplusb < in > /dev/null; done\`) | ${fmt(one, 0)} |`,
    `| two such loops at once (one per core) | ${fmt(two, 0)} |`,
    `| **sandboxed \`exec\` jobs through the queue, ${WORKERS} workers** | **${fmt(queue, 0)}** |`,
    '',
    `Through the queue: ${fmt((queue / two) * 100, 0)} % of two bare loops' rate; ${fmt(1000 / (queue / WORKERS), 1)} ms per job per worker.`,
    '',
  ].join('\n'),
);

// The sandbox's benchmark (docs/sandbox.md): per-run overhead of a sandboxed a+b next to a bare
// spawn and unsafe-exec, the spread of CPU-time measurement, and where an endless loop is stopped.
// `node bench/sandbox.mjs` prints the markdown; bench/run.mjs imports main() for bench/RESULTS.md.
// Needs a build (npm run build) and gcc; uses bench/.work/ for its files.
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WORK = path.join(ROOT, 'bench/.work/sandbox');
const dist = (p) => import(pathToFileURL(path.join(ROOT, 'dist', p)).href);

const APLUSB = '#include <stdio.h>\nint main(void){long a,b;if(scanf("%ld %ld",&a,&b)!=2)return 1;printf("%ld\\n",a+b);return 0;}\n';
// A fixed amount of work (no clock involved): 4.3·10⁸ LCG steps and a 64 MiB fill and walk, about 0.5 s here.
const FIXED = `#include <stdio.h>
#include <stdlib.h>
int main(void){ unsigned long n = 64UL << 20, x = 1; unsigned char *m = malloc(n);
 for (unsigned long i = 0; i < n; i++) m[i] = (unsigned char)i;
 for (long r = 0; r < 430000000L; r++) x = x * 6364136223846793005UL + 1442695040888963407UL;
 for (unsigned long i = 0; i < n; i += 4096) x += m[i];
 printf("%lu\\n", x); return 0; }\n`;
const LOOP = 'int main(void){volatile unsigned long x=0;for(;;)x++;}\n';

function compile(name, source) {
  const src = path.join(WORK, `${name}.c`);
  const exe = path.join(WORK, name);
  writeFileSync(src, source);
  execFileSync('gcc', ['-O2', '-static', '-o', exe, src]);
  return exe;
}

const pct = (values, p) => {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ms = (v) => v.toFixed(2);

async function timed(n, warmup, fn) {
  for (let i = 0; i < warmup; i++) await fn(i);
  const out = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    out.push(performance.now() - t);
  }
  return out;
}

function bareSpawn(exe, input, output) {
  return new Promise((resolve, reject) => {
    const i = openSync(input, 'r');
    const o = openSync(output, 'w');
    const child = spawn(exe, [], { stdio: [i, o, 'ignore'] });
    child.on('error', reject);
    child.on('exit', (code) => {
      closeSync(i);
      closeSync(o);
      if (code === 0) resolve();
      else reject(new Error(`exit ${code}`));
    });
  });
}

export async function main({ runs = 200, spreadRuns = 20, loopRuns = 10 } = {}) {
  const { capabilities, runProgram, RunDir, sandboxRunDir, helperServer } = await dist('sandbox/index.js');
  const { helperArgs } = await dist('sandbox/args.js');
  const { runHelperOnce } = await dist('sandbox/helper.js');
  const { run } = await dist('environ/index.js');
  const { builtinRegistry } = await dist('jobs/index.js');
  mkdirSync(WORK, { recursive: true });
  const caps = await capabilities();
  if (!caps.executors.exec.ok) throw new Error(`exec is not available here: ${caps.executors.exec.detail}`);
  const aplusb = compile('aplusb', APLUSB);
  const fixed = compile('fixed', FIXED);
  const loop = compile('loop', LOOP);
  const input = path.join(WORK, 'ab.in');
  writeFileSync(input, '40 2\n');
  const hint = path.join(WORK, 'ab.hint');
  writeFileSync(hint, '42\n');
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'sluice-bench-'));
  const load0 = os.loadavg()[0];
  const limits = { timeMs: 1000, realTimeMs: 4000, memKb: 64 * 1024, outputBytes: 1 << 20, processes: 16, diskBytes: 256 << 20 };
  const dirs = [];

  /** A run folder with the program and its input, as the exec job prepares it (a sandboxed one on its own disk). */
  async function prepared(exe, isolation) {
    const sandboxed = isolation === 'sandbox';
    const dir = sandboxed ? await sandboxRunDir(tmp, 'bench', limits) : await RunDir.create(tmp, 'bench');
    dirs.push(dir);
    copyFileSync(exe, dir.boxFile('exe'));
    chmodSync(dir.boxFile('exe'), 0o755);
    copyFileSync(input, dir.file('in'));
    return {
      isolation,
      box: dir.box,
      disk: dir.disk,
      program: isolation === 'sandbox' ? '/box/exe' : dir.boxFile('exe'),
      stdin: dir.file('in'),
      stdout: dir.file('out'),
      limits,
    };
  }
  async function check(spec) {
    const r = await runProgram(spec);
    if (r.verdict.result_code !== 'OK') throw new Error(`${spec.isolation}: ${JSON.stringify(r.verdict)}`);
    return r;
  }

  const rows = [];
  const add = (name, times, note = '') => rows.push({ name, median: pct(times, 50), p90: pct(times, 90), note });
  const bareOut = path.join(tmp, 'bare.out');
  add('bare `spawn` from Node (stdin/stdout files)', await timed(runs, 10, () => bareSpawn(aplusb, input, bareOut)), 'the floor');
  const unsafeSpec = await prepared(aplusb, 'none');
  add('`unsafe-exec` run (served helper, rlimits + cgroups)', await timed(runs, 10, () => check(unsafeSpec)));
  const sandboxSpec = await prepared(aplusb, 'sandbox');
  const sandboxTimes = await timed(runs, 10, () => check(sandboxSpec));
  add('**`exec` run (served helper + namespaces + seccomp + cgroups)**', sandboxTimes, 'goal ≤ 3.5 ms median, p90 ≤ 4.5');
  const paused = async (spec) => {
    await new Promise((resolve) => setTimeout(resolve, 100));
    const t = performance.now();
    await check(spec);
    return performance.now() - t;
  };
  const pausedRuns = async (spec) => {
    const out = [];
    for (let i = 0; i < Math.min(runs, 50); i++) out.push(await paused(spec));
    return out;
  };
  add('`unsafe-exec` run, 100 ms pause before each (time of the run only)', await pausedRuns(unsafeSpec), 'how a worker sees it when idle between units');
  add('`exec` run, 100 ms pause before each (time of the run only)', await pausedRuns(sandboxSpec), '');
  const onceArgs = helperArgs(sandboxSpec, caps.config);
  add('`exec` run, helper started per run (no server)', await timed(Math.min(runs, 100), 5, () => runHelperOnce(onceArgs, { watchdogMs: 10_000 })), 'for comparison');
  const job = (job_type) => async () => {
    const out = await run(
      { job_type, exe_file: aplusb, in_file: input, out_file: path.join(tmp, `${job_type}.out`), check_output: true, hint_file: hint, use_filetracker: false },
      { registry: builtinRegistry() },
    );
    if (out.result_code !== 'OK') throw new Error(`${job_type}: ${out.result_code} ${out.result_string} ${out.exception ?? ''}`);
  };
  add('whole `unsafe-exec` job via `run(environ)` (files in, check, upload)', await timed(Math.min(runs, 100), 5, job('unsafe-exec')));
  add('whole `exec` job via `run(environ)` (files in, check, upload)', await timed(Math.min(runs, 100), 5, job('exec')));

  // CPU-time spread of a fixed workload.
  const fixedSpec = await prepared(fixed, 'sandbox');
  fixedSpec.limits = { ...limits, timeMs: 5000, realTimeMs: 10_000, memKb: 128 * 1024 };
  const cpu = [];
  const wall = [];
  await check(fixedSpec);
  for (let i = 0; i < spreadRuns; i++) {
    const r = await check(fixedSpec);
    cpu.push(r.report.cpu_ms);
    wall.push(r.report.wall_ms);
  }
  const mean = cpu.reduce((a, b) => a + b, 0) / cpu.length;
  const stdev = Math.sqrt(cpu.reduce((a, b) => a + (b - mean) ** 2, 0) / (cpu.length - 1));

  // Where an endless loop under 1000 ms is stopped.
  const loopSpec = await prepared(loop, 'sandbox');
  loopSpec.limits = { ...limits, timeMs: 1000, realTimeMs: 5000 };
  const kills = [];
  for (let i = 0; i < loopRuns; i++) {
    const r = await runProgram(loopSpec);
    if (r.verdict.result_code !== 'TLE') throw new Error(`loop: ${JSON.stringify(r.verdict)}`);
    kills.push({ cpu: r.report.cpu_ms, wall: r.report.wall_ms });
  }
  const load1 = os.loadavg()[0];
  for (const dir of dirs) await dir.dispose();
  helperServer.close();
  rmSync(tmp, { recursive: true, force: true });

  const sandboxMedian = pct(sandboxTimes, 50);
  const sandboxP90 = pct(sandboxTimes, 90);
  const killCpu = kills.map((k) => k.cpu);
  const lines = [
    '## Sandbox (exec)',
    '',
    `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'CPU'}, Linux ${os.release()}, Node ${process.version}; sandbox tier ${caps.tier} (${caps.cgroups.detail}); load average ${load0.toFixed(2)} at the start, ${load1.toFixed(2)} at the end. Command: \`node bench/sandbox.mjs\` (after \`npm run build\`).`,
    '',
    `### Per-run overhead: a+b (static), ${runs} sequential runs after warm-up`,
    '',
    '| how | median ms | p90 ms | note |',
    '|---|---:|---:|---|',
    ...rows.map((r) => `| ${r.name} | ${ms(r.median)} | ${ms(r.p90)} | ${r.note} |`),
    '',
    `Sandboxed run overhead over a bare spawn: **${ms(sandboxMedian - rows[0].median)} ms** (median); goal: the sandboxed run at most 3.5 ms median and 4.5 ms p90 (isolate: 3.2-3.5 ms): **${sandboxMedian <= 3.5 && sandboxP90 <= 4.5 ? 'met' : 'not met'}** (${ms(sandboxMedian)} / ${ms(sandboxP90)} ms). The goal is for the run (\`runProgram\`: the helper's round trip, the sandbox, the program); a whole job adds taking and releasing the run's disk and the files in and out.`,
    '',
    `### CPU-time spread: a fixed workload (~0.5 s), ${spreadRuns} sandboxed runs`,
    '',
    '| CPU ms median | min | max | stdev | stdev / mean | wall ms median |',
    '|---:|---:|---:|---:|---:|---:|',
    `| ${ms(pct(cpu, 50))} | ${ms(Math.min(...cpu))} | ${ms(Math.max(...cpu))} | ${ms(stdev)} | ${((stdev / mean) * 100).toFixed(2)} % | ${ms(pct(wall, 50))} |`,
    '',
    `Goal: spread at most 2 %: **${stdev / mean <= 0.02 ? 'met' : 'not met'}**.`,
    '',
    `### Endless loop under a 1000 ms CPU limit, ${loopRuns} runs`,
    '',
    '| stopped at CPU ms: min | median | max | wall ms median |',
    '|---:|---:|---:|---:|',
    `| ${ms(Math.min(...killCpu))} | ${ms(pct(killCpu, 50))} | ${ms(Math.max(...killCpu))} | ${ms(pct(kills.map((k) => k.wall), 50))} |`,
    '',
    `Goal: stopped between 1000 and 1100 ms of CPU: **${Math.min(...killCpu) >= 1000 && Math.max(...killCpu) <= 1100 ? 'met' : 'not met'}**.`,
    '',
  ];
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const text = await main();
  process.stdout.write(`${text}\n`);
}

// `npm run bench`: every benchmark of the project, side by side with its peers, written to
// bench/RESULTS.md with the machine it ran on. Each part runs alone in a fresh Node process
// (`node bench/<part>.mjs` prints its section): a part that leaves a large heap behind must not slow
// the next (spawning a child from a big process costs more), nor its garbage collection.
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const parts = ['core', 'postgres', 'claim', 'schedule', 'sandbox', 'judge', 'files', 'jobs', 'prune', 'bridge', 'server'];
const sections = [];
for (const part of parts) {
  const file = path.join(here, `${part}.mjs`);
  if (!existsSync(file)) continue;
  process.stderr.write(`bench: ${part}...\n`);
  const started = Date.now();
  const child = spawnSync(process.execPath, [file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
  if (child.status === 0) {
    sections.push(child.stdout);
  } else {
    sections.push(`## ${part}\n\nFAILED (exit ${child.status ?? child.signal}); see the output above.\n`);
    process.exitCode = 1;
  }
  process.stderr.write(`bench: ${part} took ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const header = [
  '# Benchmark results',
  '',
  `Written by \`npm run bench\` on ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${os.type()} ${os.release()}.`,
  'Each figure is from the run that wrote this file; the machine is shared and noisy, so runs differ by 10-20 %.',
  '',
].join('\n');
writeFileSync(path.join(here, 'RESULTS.md'), `${header}\n${sections.join('\n')}`);
process.stderr.write('bench: wrote bench/RESULTS.md\n');

// Compiles the C helpers in src/native/ with the system C compiler (see docs/sandbox.md).
// Missing compiler: a clear message, and the build goes on (sandboxed jobs then report SE).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';

const src = 'src/native';
const out = 'dist/native';
const sources = existsSync(src) ? readdirSync(src).filter((f) => f.endsWith('.c')) : [];
if (sources.length) {
  const cc = process.env.CC || 'cc';
  try {
    execFileSync(cc, ['--version'], { stdio: 'ignore' });
  } catch {
    console.warn(`sluice: no C compiler ("${cc}") found; install gcc (apt-get install gcc) to build the sandbox helper`);
    process.exit(0);
  }
  mkdirSync(out, { recursive: true });
  for (const file of sources) {
    const target = path.join(out, path.basename(file, '.c'));
    execFileSync(cc, ['-O2', '-Wall', '-Wextra', '-o', target, path.join(src, file)], { stdio: 'inherit' });
  }
}

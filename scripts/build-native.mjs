// Compiles the C helpers in src/native/ with the system C compiler (see docs/sandbox.md): sluice-run
// (the sandbox), sluice-reap (system and js jobs), sluice-seccomp. Missing compiler: a clear message,
// and the build goes on (sandboxed jobs then report SE, system jobs fail naming the missing file).
// sluice-seccomp.c needs libseccomp-dev; it is built and run once to write dist/native/seccomp.bpf
// (the sandbox's syscall deny-list). Without libseccomp-dev the build says so and goes on: exec
// then runs without the seccomp layer, and `sluice doctor` shows it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';

const src = 'src/native';
const out = 'dist/native';
const sources = existsSync(src) ? readdirSync(src).filter((f) => f.endsWith('.c')) : [];

// sluice-init is pid 1 inside every sandbox: static, and without libc where it has its own start-up
// code (a libc start-up costs ~0.6 ms per run on a VM: docs/sandbox.md); elsewhere a static libc build.
const ownStart = process.arch === 'x64' || process.arch === 'arm64';
const initFlags = ownStart
  ? ['-static', '-nostdlib', '-ffreestanding', '-fno-tree-loop-distribute-patterns', '-fno-stack-protector', '-fno-asynchronous-unwind-tables']
  : ['-static', '-DSLUICE_INIT_LIBC'];

/** Extra flags (before the source), link flags and what to do with the result, per source file. */
const special = {
  'sluice-init.c': { flags: initFlags, required: true },
  'sluice-seccomp.c': {
    libs: ['-lseccomp'],
    missing: 'libseccomp-dev is not installed, so the sandbox has no seccomp filter (apt-get install libseccomp-dev, then npm run build)',
    then: (exe) => execFileSync(exe, [path.join(out, 'seccomp.bpf')], { stdio: 'inherit' }),
  },
};

if (sources.length) {
  const cc = process.env.CC || 'cc';
  try {
    execFileSync(cc, ['--version'], { stdio: 'ignore' });
  } catch {
    console.warn(
      `sluice: no C compiler ("${cc}") found; install gcc (apt-get install gcc) and run npm run build: without it the sandbox helper ` +
        '(sluice-run, for exec jobs) and the reaper (sluice-reap, for system and js jobs) are not built; exec and system jobs then fail saying so',
    );
    process.exit(0);
  }
  mkdirSync(out, { recursive: true });
  for (const file of sources) {
    const target = path.join(out, path.basename(file, '.c'));
    // Built beside the target and renamed over it: a running helper (a worker's server) keeps its old file.
    const partial = `${target}.${process.pid}.tmp`;
    const extra = special[file];
    const args = ['-O2', '-Wall', '-Wextra', ...(extra?.flags ?? []), '-o', partial, path.join(src, file), ...(extra?.libs ?? [])];
    if (!extra || extra.required) {
      execFileSync(cc, args, { stdio: 'inherit' });
      renameSync(partial, target);
      continue;
    }
    try {
      execFileSync(cc, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      renameSync(partial, target);
      extra.then(target);
    } catch {
      rmSync(partial, { force: true });
      rmSync(path.join(out, 'seccomp.bpf'), { force: true });
      console.warn(`sluice: ${extra.missing}`);
    }
  }
}

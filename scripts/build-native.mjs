// Compiles the C helpers in src/native/ with the system C compiler (see docs/sandbox.md): a folder is
// one program made of its .c files (sluice-run/: the sandbox), a .c file alone is one program
// (sluice-reap: system and js jobs; sluice-seccomp). Missing compiler: a clear message,
// and the build goes on (sandboxed jobs then report SE, system jobs fail naming the missing file).
// sluice-seccomp.c needs libseccomp-dev; it is built and run once to write dist/native/seccomp.bpf
// (the sandbox's syscall deny-list). Without libseccomp-dev the build says so and goes on: exec
// then runs without the seccomp layer, and `sluice doctor` shows it.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';

const src = 'src/native';
const out = 'dist/native';
/** Each program: its name and its source files. */
const programs = (existsSync(src) ? readdirSync(src) : []).flatMap((name) => {
  const full = path.join(src, name);
  if (statSync(full).isDirectory()) {
    const files = readdirSync(full).filter((f) => f.endsWith('.c')).map((f) => path.join(full, f));
    return files.length ? [{ name, files }] : [];
  }
  return name.endsWith('.c') ? [{ name: path.basename(name, '.c'), files: [full] }] : [];
});

/** Link flags and what to do with the result, for the programs that are optional. */
const special = {
  'sluice-seccomp': {
    libs: ['-lseccomp'],
    missing: 'libseccomp-dev is not installed, so the sandbox has no seccomp filter (apt-get install libseccomp-dev, then npm run build)',
    then: (exe) => execFileSync(exe, [path.join(out, 'seccomp.bpf')], { stdio: 'inherit' }),
  },
};

if (programs.length) {
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
  for (const { name, files } of programs) {
    const target = path.join(out, name);
    // Built beside the target and renamed over it: a running helper (a worker's server) keeps its old file.
    const partial = `${target}.${process.pid}.tmp`;
    const extra = special[name];
    const args = ['-O2', '-Wall', '-Wextra', '-o', partial, ...files, ...(extra?.libs ?? [])];
    if (!extra) {
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

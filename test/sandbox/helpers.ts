import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { run, type Environ } from '../../src/environ/index.js';
import { builtinRegistry } from '../../src/jobs/index.js';
import { HELPER_PATH } from '../../src/sandbox/helper.js';
import { storedZip } from '../../src/sandbox/zip.js';
import { requireProgram } from '../helpers/require.js';

const exec = promisify(execFile);
const PROGRAMS = path.join(path.dirname(fileURLToPath(import.meta.url)), 'programs');
const CACHE = path.join(os.tmpdir(), 'sluice-test-programs');

/** Every sandbox test needs gcc (fixtures) and the built helper. */
export function requireSandboxTools(): void {
  requireProgram('gcc', 'gcc');
  if (!existsSync(HELPER_PATH)) throw new Error(`the sandbox helper is not built (${HELPER_PATH}): run npm run build first`);
}

const compiled = new Map<string, Promise<string>>();

/**
 * Compiles test/sandbox/programs/NAME.c with gcc (defines as -D) into a cache keyed by the source,
 * defines and flags, so test files share the binaries; returns the binary's path.
 */
export function program(name: string, defines: Record<string, string | number> = {}, flags: string[] = []): Promise<string> {
  const source = path.join(PROGRAMS, `${name}.c`);
  const args = [...Object.entries(defines).map(([k, v]) => `-D${k}=${typeof v === 'string' ? JSON.stringify(v) : v}`), ...flags];
  const key = createHash('sha256').update(readFileSync(source)).update(JSON.stringify(args)).digest('hex').slice(0, 16);
  let pending = compiled.get(key);
  if (!pending) {
    pending = (async () => {
      const target = path.join(CACHE, key, name);
      if (existsSync(target)) return target;
      mkdirSync(path.dirname(target), { recursive: true });
      const partial = `${target}.${process.pid}.tmp`;
      await exec('gcc', ['-O2', '-pthread', '-o', partial, source, ...args]);
      renameSync(partial, target);
      return target;
    })();
    compiled.set(key, pending);
  }
  return pending;
}

/** A fresh scratch folder for a test file's inputs and outputs. */
export function scratch(): string {
  return mkdtempSync(path.join(os.tmpdir(), 'sluice-sandbox-test-'));
}

/** Writes `text` to a new file in `dir` and returns its absolute path. */
export function file(dir: string, name: string, content: string | Buffer): string {
  const target = path.join(dir, name);
  writeFileSync(target, content);
  return target;
}

/** Runs one environ through the runner with the built-in jobs (absolute paths, use_filetracker off). */
export function runJob(environ: Environ, signal?: AbortSignal): Promise<Environ> {
  return run({ use_filetracker: false, ...environ }, { registry: builtinRegistry(), signal, tmpdir: process.env.SLUICE_TMPDIR });
}

/**
 * Runs `exe` under `jobType` on `stdin` (files made in `dir`); returns the environ, which must be a
 * SUCCESS, with the program's output in `stdout`.
 */
export async function runWithOutput(dir: string, jobType: string, exe: string, stdin: string, extra: Environ = {}): Promise<Environ & { stdout: string }> {
  const name = () => Math.random().toString(36).slice(2);
  const outFile = path.join(dir, `out-${name()}`);
  const out = await runJob({ job_type: jobType, exe_file: exe, in_file: file(dir, `in-${name()}`, stdin), out_file: outFile, ...extra });
  if (out.result !== 'SUCCESS') throw new Error(`job failed: ${out.exception}`);
  return { ...out, stdout: existsSync(outFile) ? readFileSync(outFile, 'utf8') : '' };
}

/** A zip archive holding the given members, stored uncompressed. */
export function zip(members: Record<string, string>): Buffer {
  return storedZip(Object.entries(members).map(([name, text]) => [name, Buffer.from(text)]));
}

/** Pids of live processes whose name (comm) is `name`. */
export function processesNamed(name: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      const state = /^State:\s+(\S)/m.exec(readFileSync(`/proc/${entry}/status`, 'utf8'))?.[1];
      if (comm === name && state !== 'Z') out.push(Number(entry));
    } catch {
      // gone
    }
  }
  return out;
}

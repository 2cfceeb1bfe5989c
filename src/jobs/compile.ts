import { lstat, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Environ, JobContext } from '../environ/index.js';
import { UsageError } from '../environ/index.js';
import {
  cutUtf8,
  DEFAULT_DISK_BYTES,
  findCompiler,
  limitsFrom,
  OUTPUT_ONLY,
  outputText,
  readBoxFile,
  RunDir,
  runProgram,
  sandboxRunDir,
  Staging,
  storedZip,
  type Compiler,
  type Limits,
} from '../sandbox/index.js';

/** sioworkers' compile defaults (notes §3.4): 30 s, 512 MiB, 5 KiB of compiler output kept. */
const COMPILE_DEFAULTS: Limits = { timeMs: 30_000, realTimeMs: 0, memKb: 512 * 1024, outputBytes: 5 * 1024, processes: 64, diskBytes: DEFAULT_DISK_BYTES };
const DEFAULT_RESULT_SIZE = 10 * 1024 * 1024;
/** Room for the compiler's temporary files and its messages beyond the result size (RLIMIT_FSIZE is per file). */
const FILE_SLACK = 16 * 1024 * 1024;

/** A value given as a string, a list, or an object by language code (`{c: ..., cpp: ...}`). */
function perLanguage(value: unknown, language: string, key: string): string[] {
  if (value === undefined || value === null || value === '') return [];
  if (typeof value === 'string') return [value];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value;
  if (typeof value === 'object' && !Array.isArray(value)) return perLanguage((value as Record<string, unknown>)[language], language, key);
  throw new UsageError(`environ "${key}" must be a string, a list of strings, or an object by language`);
}

function compileArgs(value: unknown, language: string): string[] {
  return perLanguage(value, language, 'extra_compilation_args').flatMap((a) => a.split(/\s+/).filter(Boolean));
}

/** The compile could not be tried here (an unknown compiler, a toolchain not installed, no sandbox): SE, saying why. */
function systemError(environ: Environ, reason: string): Environ {
  return Object.assign(environ, { result_code: 'SE', result_string: reason, compiler_output: reason });
}

/**
 * `compile` (sioworkers' compile job): compiles `source_file` inside the sandbox with the compiler
 * named by `compiler` (or chosen by the extension), and stores the result as `out_file`.
 * `result_code` is OK or CE, with `compiler_output` (truncated, valid UTF-8); SE when the compile
 * could not be tried here (an unknown compiler, a language whose toolchain is not installed, naming
 * its Debian package, or a sandbox that cannot run).
 */
export async function compile(environ: Environ, ctx: JobContext): Promise<Environ> {
  const source = environ.source_file;
  if (typeof source !== 'string' || !source) throw new UsageError('compile needs "source_file"');
  if (typeof environ.out_file !== 'string' || !environ.out_file) throw new UsageError('compile needs "out_file"');
  let found: Compiler | typeof OUTPUT_ONLY;
  try {
    found = findCompiler(typeof environ.compiler === 'string' && environ.compiler ? environ.compiler : undefined, source);
  } catch (err) {
    if (err instanceof UsageError) return systemError(environ, err.message);
    throw err;
  }
  if (found === OUTPUT_ONLY) {
    Object.assign(environ, {
      result_code: 'OK',
      compiler_output: 'Compilation omitted (output provided).',
      exec_info: { mode: 'output-only' },
      out_file: source,
    });
    return environ;
  }
  const limits = limitsFrom(environ, 'compilation_', COMPILE_DEFAULTS);
  const run = await sandboxRunDir(ctx.tmpdir, 'compile', limits);
  try {
    return await compileIn(run, environ, ctx, found, limits);
  } finally {
    await run.dispose();
  }
}

/** One compile in its run folder: stage the sources, run the compiler, keep the result. */
async function compileIn(run: RunDir, environ: Environ, ctx: JobContext, compiler: Compiler, limits: Limits): Promise<Environ> {
  const staging = new Staging(ctx, environ);
  const fetched = await staging.fetch('source_file', run.file('source'));
  const sourceName = compiler.sourceName(await readFile(fetched), environ);
  await writeFile(run.boxFile(sourceName), await readFile(fetched), { mode: 0o644 });
  for (const name of perLanguage(environ.additional_includes, compiler.language, 'additional_includes')) {
    await staging.fetchName(name, run.boxFile(path.basename(name)));
  }
  const more: string[] = [];
  for (const name of perLanguage(environ.additional_sources, compiler.language, 'additional_sources')) {
    more.push(path.basename(name));
    await staging.fetchName(name, run.boxFile(path.basename(name)));
  }
  const extra = environ.extra_files ?? {};
  if (typeof extra !== 'object' || Array.isArray(extra)) throw new UsageError('extra_files must be an object {name: file}');
  for (const [name, file] of Object.entries(extra as Record<string, unknown>)) {
    if (typeof file !== 'string') throw new UsageError(`extra_files.${name} must name a file`);
    await staging.fetchName(file, run.boxFile(name));
  }

  const keepOutput = limits.outputBytes;
  const resultLimit = Number(environ.compilation_result_size_limit) > 0 ? Number(environ.compilation_result_size_limit) : DEFAULT_RESULT_SIZE;
  const command = compiler.command({ source: sourceName, output: 'a.out', extraArgs: compileArgs(environ.extra_compilation_args, compiler.language), additionalSources: more, memKb: limits.memKb });
  if (!command.ok) return systemError(environ, command.missing);
  const [program, ...args] = command.argv;
  const { verdict } = await runProgram(
    {
      isolation: 'sandbox',
      box: run.box,
      disk: run.disk,
      program: program!,
      args,
      binds: command.binds,
      proc: command.proc,
      stdout: run.file('output'),
      stderr: 'stdout',
      // The compiler's messages are cut when read, not by killing it: only the file size is limited.
      limits: { ...limits, outputBytes: 0 },
      fileSizeBytes: resultLimit + FILE_SLACK,
    },
    ctx.signal,
  );
  if (verdict.result_code === 'SE') return systemError(environ, `the compiler could not run: ${verdict.result_string}`);

  const messages = (await readBoxFile(run.file('output'), keepOutput + 4))?.data ?? Buffer.alloc(0);
  let compilerOutput = outputText(messages, keepOutput);
  const fail = (reason?: string) => {
    // The reason is part of the kept output: the compiler's messages are cut to make room for it.
    if (reason) compilerOutput = `${cutUtf8(compilerOutput, Math.max(0, keepOutput - Buffer.byteLength(reason) - 1))}\n${reason}`.replace(/^\n/, '');
    Object.assign(environ, { result_code: 'CE', compiler_output: compilerOutput });
    return environ;
  };
  const produced = command.result === 'a.out' ? await lstat(run.boxFile('a.out')).catch(() => undefined) : undefined;
  if (produced && produced.size > resultLimit) return fail('Compiled file size limit exceeded.');
  if (verdict.result_code === 'TLE') return fail(`Compilation time limit exceeded (${verdict.result_string}).`);
  if (verdict.result_code === 'MLE') return fail('Compilation memory limit exceeded.');
  if (verdict.result_string === 'disk limit exceeded') return fail('Compilation disk limit exceeded.');
  if (verdict.result_code !== 'OK') return fail();
  const binary = command.result === 'a.out' ? (await readBoxFile(run.boxFile('a.out'), resultLimit + 1))?.data : await jarOfClasses(run, resultLimit + 1);
  if (!binary) return fail(command.result === 'a.out' ? 'The compiler produced no a.out.' : 'The compiler produced no class files.');
  if (binary.length > resultLimit) return fail('Compiled file size limit exceeded.');
  const result = run.file('a.out');
  await writeFile(result, binary, { mode: 0o755 });
  Object.assign(environ, {
    result_code: 'OK',
    compiler_output: compilerOutput,
    exec_info: command.execInfo,
    // As sioworkers: a compiled program always goes to the file store, so that any worker can run it.
    out_file: await staging.store('out_file', result, true),
  });
  return environ;
}

/** javac's class files, read safely from the box, as a jar (a stored zip; the JVM needs no manifest with -cp). */
async function jarOfClasses(run: RunDir, maxBytes: number): Promise<Buffer | undefined> {
  const names = (await readdir(run.box)).filter((n) => n.endsWith('.class')).sort();
  const members: Array<[string, Buffer]> = [];
  let total = 0;
  for (const name of names) {
    const file = await readBoxFile(run.boxFile(name), maxBytes);
    if (!file) continue;
    total += file.size;
    if (total > maxBytes) return Buffer.alloc(maxBytes);
    members.push([name, file.data]);
  }
  return members.length ? storedZip(members) : undefined;
}

import { accessSync, constants } from 'node:fs';
import { UsageError } from '../environ/index.js';

/** A compiler the `compile` job knows. Every path in `command` is as seen inside the sandbox (/box is the work folder). */
export interface Compiler {
  name: string;
  /** Other names that select it (`default-c`, `system-gcc`...). */
  aliases: string[];
  /** The language code used by per-language environ values (`additional_sources: {c: [...]}`). */
  language: 'c' | 'cpp' | 'pas';
  /** The source is saved as `a.<extension>`. */
  extension: string;
  /** The host program that must exist (under /usr, which the sandbox sees). */
  tool: string;
  /** Debian package to install when the tool is missing. */
  debianPackage: string;
  /** The command line: the program first. */
  command(source: string, output: string, extraArgs: string[], additionalSources: string[]): string[];
}

export const COMPILERS: Compiler[] = [
  {
    name: 'gcc-c',
    aliases: ['default-c', 'system-gcc', 'system-c', 'gcc', 'c'],
    language: 'c',
    extension: 'c',
    tool: '/usr/bin/gcc',
    debianPackage: 'gcc',
    command: (src, out, extra, more) => ['/usr/bin/gcc', src, '-o', out, '-std=gnu17', '-O2', '-static', '-s', ...extra, ...more, '-lm'],
  },
  {
    name: 'g++-cpp',
    aliases: ['default-cpp', 'default-cc', 'default-cxx', 'system-g++', 'system-cpp', 'system-cc', 'g++', 'cpp', 'cc', 'cxx'],
    language: 'cpp',
    extension: 'cpp',
    tool: '/usr/bin/g++',
    debianPackage: 'g++',
    command: (src, out, extra, more) => ['/usr/bin/g++', src, '-o', out, '-std=c++20', '-O2', '-static', '-s', ...extra, ...more, '-lm'],
  },
  {
    name: 'fpc-pas',
    aliases: ['default-pas', 'system-fpc', 'system-pas', 'fpc', 'pas'],
    language: 'pas',
    extension: 'pas',
    tool: '/usr/bin/fpc',
    debianPackage: 'fp-compiler',
    command: (src, out, extra) => ['/usr/bin/fpc', '-O2', '-XS', '-Xt', `-o${out}`, ...extra, src],
  },
];

/** `output-only`: nothing to compile (the "source" is the answer). */
export const OUTPUT_ONLY = 'output-only';

const EXTENSIONS: Record<string, string> = { c: 'c', cpp: 'cpp', cc: 'cpp', cxx: 'cpp', 'c++': 'cpp', pas: 'pas', p: 'pas' };

/** Every name the compile job accepts. */
export function compilerNames(): string[] {
  return [...COMPILERS.flatMap((c) => [c.name, ...c.aliases]), OUTPUT_ONLY].sort();
}

/**
 * The compiler for `name` (or, without a name, `default-<extension of the source>`). The part of a
 * name after its first `.` is ignored, as in sioworkers (`gcc.4_8_2` → `gcc`). Unknown names and
 * missing tools are errors (the job fails; they are not the contestant's compilation errors).
 */
export function findCompiler(name: string | undefined, sourceFile: string): Compiler | typeof OUTPUT_ONLY {
  let wanted = name;
  if (!wanted) {
    const ext = /\.([^./]+)$/.exec(sourceFile)?.[1] ?? '';
    const lang = EXTENSIONS[ext] ?? EXTENSIONS[ext.toLowerCase()];
    if (!lang) throw new UsageError(`cannot tell the language of "${sourceFile}" from its extension; set "compiler" (known: ${compilerNames().join(', ')})`);
    wanted = `default-${lang}`;
  }
  const base = wanted.split('.')[0]!.toLowerCase();
  if (base === OUTPUT_ONLY) return OUTPUT_ONLY;
  const compiler = COMPILERS.find((c) => c.name === base || c.aliases.includes(base));
  if (!compiler) throw new UsageError(`unknown compiler "${wanted}"; known compilers: ${compilerNames().join(', ')}`);
  try {
    accessSync(compiler.tool, constants.X_OK);
  } catch {
    throw new UsageError(`compiler "${wanted}" needs ${compiler.tool}, which is not installed on this machine (apt-get install ${compiler.debianPackage})`);
  }
  return compiler;
}

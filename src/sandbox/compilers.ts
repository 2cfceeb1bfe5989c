import { UsageError } from '../environ/index.js';
import { findFpc, findJdk, findPython, toolPath, type Binds, type Found } from './toolchains.js';

/** How the result of a compile is run (sioworkers' exec_info). */
export type ExecInfo = { mode: 'executable' } | { mode: 'java'; main_class: string; preferred_filename: string } | { mode: 'output-only' };

/** What a compile runs, as the sandbox sees it. */
export interface CompileCommand {
  /** The command line: the program first (a real path under /usr). */
  argv: string[];
  binds: Binds;
  /** The JVM needs a /proc (its launcher finds libjli through /proc/self/exe). */
  proc: boolean;
  /** What the compiler leaves in the box: a.out, or class files to pack into a jar (Java). */
  result: 'a.out' | 'classes';
  execInfo: ExecInfo;
}

export interface CompileInput {
  /** The source's name in the box (sourceName() chose it). */
  source: string;
  output: string;
  extraArgs: string[];
  additionalSources: string[];
  memKb: number;
}

/** A compiler the `compile` job knows. */
export interface Compiler {
  name: string;
  /** Other names that select it (`default-c`, `system-gcc`...). */
  aliases: string[];
  /** The language code used by per-language environ values (`additional_sources: {c: [...]}`). */
  language: 'c' | 'cpp' | 'pas' | 'java' | 'py';
  /** What people call it (doctor's list). */
  title: string;
  /** The Debian package that brings it. */
  debianPackage: string;
  /** The source's name in the box: a.<extension>, or for Java <its public class>.java. */
  sourceName(source: Buffer, environ: Record<string, unknown>): string;
  /** Finds the tools on this machine, and the command; `missing` names the package to install. */
  command(input: CompileInput): Found<CompileCommand>;
  /** The tools' versions, for `sluice doctor` (undefined when missing). */
  probe(): Found<{ path: string }>;
}

const executable = (argv: string[], binds: Binds = []): CompileCommand => ({ argv, binds, proc: false, result: 'a.out', execInfo: { mode: 'executable' } });

function gnu(tool: '/usr/bin/gcc' | '/usr/bin/g++', std: string, pkg: string): Pick<Compiler, 'command' | 'probe' | 'debianPackage'> {
  return {
    debianPackage: pkg,
    probe: () => toolPath(tool, pkg),
    command: ({ source, output, extraArgs, additionalSources }) => {
      const found = toolPath(tool, pkg);
      if (!found.ok) return found;
      return { ok: true, ...executable([found.path, source, '-o', output, `-std=${std}`, '-O2', '-static', '-s', ...extraArgs, ...additionalSources, '-lm']) };
    },
  };
}

/** Java: the public class names the file (javac insists), else the problem's short name, else Main. */
function javaClass(source: Buffer, environ: Record<string, unknown>): string {
  const declared = /(?:^|[\s;}])public\s+(?:(?:final|abstract|strictfp)\s+)*class\s+([A-Za-z_$][\w$]*)/.exec(source.toString('utf8'))?.[1];
  if (declared) return declared;
  const short = typeof environ.problem_short_name === 'string' ? environ.problem_short_name : '';
  return /^[A-Za-z_$][\w$]*$/.test(short) ? short : 'Main';
}

/** Byte-compiles (a syntax error is CE), then makes a zipapp with a shebang: an `executable` any exec runs. */
const PYTHON_BUILD = `import py_compile, sys, zipfile
src, out = sys.argv[1], sys.argv[2]
try:
    py_compile.compile(src, doraise=True)
except py_compile.PyCompileError as e:
    sys.stderr.write(e.msg)
    sys.exit(1)
with open(out, 'wb') as f:
    f.write(b'#!/usr/bin/python3\\n')
    with zipfile.ZipFile(f, 'w') as z:
        z.write(src, '__main__.py')
`;

export const COMPILERS: Compiler[] = [
  {
    name: 'gcc-c',
    aliases: ['default-c', 'system-gcc', 'system-c', 'gcc', 'c'],
    language: 'c',
    title: 'C (gcc)',
    sourceName: () => 'a.c',
    ...gnu('/usr/bin/gcc', 'gnu17', 'gcc'),
  },
  {
    name: 'g++-cpp',
    aliases: ['default-cpp', 'default-cc', 'default-cxx', 'system-g++', 'system-cpp', 'system-cc', 'g++', 'cpp', 'cc', 'cxx'],
    language: 'cpp',
    title: 'C++ (g++)',
    sourceName: () => 'a.cpp',
    ...gnu('/usr/bin/g++', 'c++20', 'g++'),
  },
  {
    name: 'fpc-pas',
    aliases: ['default-pas', 'system-fpc', 'system-pas', 'fpc', 'pas', 'pascal'],
    language: 'pas',
    title: 'Pascal (fpc)',
    debianPackage: 'fp-compiler',
    sourceName: () => 'a.pas',
    probe: () => {
      const fpc = findFpc();
      return fpc.ok ? { ok: true, path: fpc.compiler } : fpc;
    },
    command: ({ source, output, extraArgs }) => {
      const fpc = findFpc();
      if (!fpc.ok) return fpc;
      return { ok: true, ...executable([fpc.compiler, '-O2', '-XS', '-Xt', `-o${output}`, ...extraArgs, source], fpc.binds) };
    },
  },
  {
    name: 'javac-java',
    aliases: ['default-java', 'system-java', 'java', 'javac'],
    language: 'java',
    title: 'Java (javac, java)',
    debianPackage: 'default-jdk-headless',
    sourceName: (source, environ) => `${javaClass(source, environ)}.java`,
    probe: () => {
      const jdk = findJdk(true);
      return jdk.ok ? { ok: true, path: jdk.javac } : jdk;
    },
    command: ({ source, extraArgs, additionalSources, memKb }) => {
      const jdk = findJdk(true);
      if (!jdk.ok) return jdk;
      const mainClass = source.replace(/\.java$/, '');
      // javac is a JVM: its heap inside the compile's memory limit, leaving room for the JVM itself.
      const heapMb = Math.max(64, Math.floor(memKb / 1024) - 128);
      const argv = [jdk.javac, `-J-Xmx${heapMb}m`, '-J-XX:+UseSerialGC', '-J-XX:-UsePerfData', '-J-Xss32m', '-encoding', 'UTF-8', ...extraArgs, source, ...additionalSources];
      return { ok: true, argv, binds: jdk.binds, proc: true, result: 'classes', execInfo: { mode: 'java', main_class: mainClass, preferred_filename: `${mainClass}.jar` } };
    },
  },
  {
    name: 'python3-py',
    aliases: ['default-py', 'system-python', 'system-python3', 'python', 'python3', 'py'],
    language: 'py',
    title: 'Python 3',
    debianPackage: 'python3',
    sourceName: () => 'a.py',
    probe: () => {
      const py = findPython();
      return py.ok ? { ok: true, path: py.python } : py;
    },
    command: ({ source, output }) => {
      const py = findPython();
      if (!py.ok) return py;
      return { ok: true, ...executable([py.python, '-c', PYTHON_BUILD, source, output]) };
    },
  },
];

/** `output-only`: nothing to compile (the "source" is the answer). */
export const OUTPUT_ONLY = 'output-only';

const EXTENSIONS: Record<string, string> = { c: 'c', cpp: 'cpp', cc: 'cpp', cxx: 'cpp', 'c++': 'cpp', pas: 'pas', p: 'pas', java: 'java', py: 'py' };

/** Every name the compile job accepts. */
export function compilerNames(): string[] {
  return [...COMPILERS.flatMap((c) => [c.name, ...c.aliases]), OUTPUT_ONLY].sort();
}

/**
 * The compiler for `name` (or, without a name, `default-<extension of the source>`). The part of a
 * name after its first `.` is ignored, as in sioworkers (`gcc.4_8_2` → `gcc`). An unknown name is
 * a UsageError (the compile job answers SE with it); whether its tools are installed is the
 * compiler's command() to say.
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
  return compiler;
}

/** Each language and whether its toolchain is installed here (`sluice doctor`). */
export function languages(): Array<{ language: Compiler['language']; title: string; ok: boolean; detail: string; compiler: string }> {
  return COMPILERS.map((c) => {
    const found = c.probe();
    return { language: c.language, title: c.title, compiler: c.name, ok: found.ok, detail: found.ok ? found.path : found.missing };
  });
}

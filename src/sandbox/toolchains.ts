import { accessSync, constants, existsSync, lstatSync, readdirSync, readlinkSync, realpathSync } from 'node:fs';
import path from 'node:path';

/**
 * Where the compilers and runtimes are, as the sandbox must see them. The sandbox shows the host's
 * /usr and nothing of /etc, while Debian reaches many tools through /etc/alternatives
 * (/usr/bin/java → /etc/alternatives/java → /usr/lib/jvm/…/bin/java): a tool is run by its real
 * path, which must lie under /usr, and the few files a toolchain reads from /etc are bound
 * read-only (Java's /etc/java-NN-openjdk, fpc's configuration).
 */

/** A tool found, or why not (naming the Debian package). */
export type Found<T> = ({ ok: true } & T) | { ok: false; missing: string };

/** Read-only binds a toolchain needs: [host path, path in the sandbox]. */
export type Binds = Array<[string, string]>;

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The real path of a tool (symlinks resolved on the host), or why it cannot run in the sandbox. */
export function toolPath(file: string, debianPackage: string): Found<{ path: string }> {
  let real: string;
  try {
    real = realpathSync(file);
  } catch {
    return { ok: false, missing: `${file} is not installed on this machine (apt-get install ${debianPackage})` };
  }
  if (!executable(real)) return { ok: false, missing: `${file} (${real}) is not executable (apt-get install --reinstall ${debianPackage})` };
  if (!real.startsWith('/usr/')) return { ok: false, missing: `${file} is ${real}, outside /usr, which the sandbox does not show` };
  return { ok: true, path: real };
}

/**
 * The folders outside /usr that symlinks under `dir` (depth-limited) lead into, nested ones left
 * out: the JDK's /etc/java-NN-openjdk and /etc/ssl/certs/java, not the whole of /etc/ssl.
 */
function foldersOutsideUsr(dir: string, depth = 3): string[] {
  const found = new Set<string>();
  const walk = (at: string, left: number) => {
    let names: string[];
    try {
      names = readdirSync(at);
    } catch {
      return;
    }
    for (const name of names) {
      const file = path.join(at, name);
      const st = lstatSync(file);
      if (st.isSymbolicLink()) {
        const parent = path.dirname(path.resolve(at, readlinkSync(file)));
        if (!parent.startsWith('/usr/') && existsSync(parent)) found.add(parent);
      } else if (st.isDirectory() && left > 0) walk(file, left - 1);
    }
  };
  walk(dir, depth);
  const all = [...found].sort();
  return all.filter((d) => !all.some((other) => other !== d && d.startsWith(`${other}/`)));
}

export interface Jdk {
  java: string;
  javac: string;
  /** The JDK's configuration outside /usr (jvm.cfg, java.security...), bound read-only. */
  binds: Binds;
}

/** Debian's default JDK (javac and java from the same installation); `bin` is where their links are. */
export function findJdk(needCompiler: boolean, bin = '/usr/bin'): Found<Jdk> {
  const javac = toolPath(`${bin}/javac`, 'default-jdk-headless');
  if (!javac.ok && needCompiler) return { ok: false, missing: `Java is not installed on this machine: ${javac.missing}` };
  const java = toolPath(`${bin}/java`, 'default-jre-headless');
  if (!java.ok) return { ok: false, missing: `Java is not installed on this machine: ${java.missing}` };
  const home = path.dirname(path.dirname(java.path));
  const binds: Binds = foldersOutsideUsr(home).map((dir) => [dir, dir]);
  return { ok: true, java: java.path, javac: javac.ok ? javac.path : '', binds };
}

export interface Fpc {
  /** The compiler proper (ppcx64...): the `fpc` driver finds it through /etc/alternatives. */
  compiler: string;
  binds: Binds;
}

const FPC_COMPILERS: Record<string, string> = { x64: 'ppcx64', arm64: 'ppca64', ia32: 'ppc386', arm: 'ppcarm' };

/** Free Pascal: its compiler for this architecture and /etc/fpc.cfg (the units' search path). */
export function findFpc(bin = '/usr/bin'): Found<Fpc> {
  const compiler = toolPath(`${bin}/${FPC_COMPILERS[process.arch] ?? 'ppcx64'}`, 'fp-compiler');
  if (!compiler.ok) return { ok: false, missing: `Free Pascal is not installed on this machine: ${compiler.missing}` };
  let cfg: string;
  try {
    cfg = realpathSync('/etc/fpc.cfg');
  } catch {
    return { ok: false, missing: 'Free Pascal has no /etc/fpc.cfg (apt-get install --reinstall fp-compiler)' };
  }
  return { ok: true, compiler: compiler.path, binds: [[cfg, '/etc/fpc.cfg']] };
}

/** Python 3 (Debian's python3). */
export function findPython(bin = '/usr/bin'): Found<{ python: string }> {
  const python = toolPath(`${bin}/python3`, 'python3');
  return python.ok ? { ok: true, python: python.path } : { ok: false, missing: `Python 3 is not installed on this machine: ${python.missing}` };
}

import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { FilterFn, JobFn } from './types.js';
import { UsageError } from './errors.js';

/**
 * Where job types and filters are found by name: built-ins registered in code, plus plugins.
 *
 * A plugin is an installed npm package whose package.json says
 *   "sluice": { "jobs": { "NAME": "./file.js#export" }, "filters": { ... } }
 * (sioworkers' entry points), or a module named in SLUICE_PLUGINS (comma-separated paths or
 * package names) that exports `jobs` and/or `filters` objects. Plugin modules are imported only
 * when one of their names is first used, so start-up reads package.json files and nothing more.
 */
type Kind = 'jobs' | 'filters';
type Loader<T> = () => Promise<T>;

export interface RegistryOptions {
  /** node_modules folders to scan; default: every node_modules on the way up from cwd and from Sluice itself. */
  nodeModules?: string[];
  /** Modules to load as plugins; default: SLUICE_PLUGINS. */
  pluginModules?: string[];
  /** Where relative SLUICE_PLUGINS paths are resolved from; default: cwd. */
  cwd?: string;
}

export class Registry {
  private readonly jobs = new Map<string, Loader<JobFn>>();
  private readonly filters = new Map<string, Loader<FilterFn>>();
  private scanned = false;

  constructor(private readonly options: RegistryOptions = {}) {}

  registerJob(name: string, fn: JobFn): this {
    this.jobs.set(name, async () => fn);
    return this;
  }

  registerFilter(name: string, fn: FilterFn): this {
    this.filters.set(name, async () => fn);
    return this;
  }

  /** The job named `name`; throws a message listing the known job types when there is none. */
  async job(name: string): Promise<JobFn> {
    return this.lookup('jobs', name, 'job type');
  }

  async filter(name: string): Promise<FilterFn> {
    return this.lookup('filters', name, 'filter');
  }

  /** Names of all known jobs and filters (scans plugins). */
  async names(): Promise<{ jobs: string[]; filters: string[] }> {
    await this.scan();
    return { jobs: [...this.jobs.keys()].sort(), filters: [...this.filters.keys()].sort() };
  }

  private async lookup<T>(kind: Kind, name: string, what: string): Promise<T> {
    const map = (kind === 'jobs' ? this.jobs : this.filters) as Map<string, Loader<T>>;
    let loader = map.get(name);
    if (!loader) {
      await this.scan();
      loader = map.get(name);
    }
    if (!loader) {
      const known = [...map.keys()].sort();
      throw new UsageError(`unknown ${what} "${name}"; known ${what}s: ${known.length ? known.join(', ') : '(none)'}`);
    }
    return loader();
  }

  /** Reads plugin declarations once. */
  private async scan(): Promise<void> {
    if (this.scanned) return;
    this.scanned = true;
    for (const dir of this.options.nodeModules ?? defaultNodeModules()) {
      for (const pkgDir of packagesIn(dir)) this.addPackage(pkgDir);
    }
    const cwd = this.options.cwd ?? process.cwd();
    const modules = this.options.pluginModules ?? splitList(process.env.SLUICE_PLUGINS);
    for (const spec of modules) await this.addModule(spec, cwd);
  }

  private addPackage(pkgDir: string): void {
    let manifest: { name?: string; sluice?: Partial<Record<Kind, Record<string, string>>> };
    try {
      manifest = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
    } catch {
      return;
    }
    const decl = manifest.sluice;
    if (!decl || typeof decl !== 'object') return;
    for (const kind of ['jobs', 'filters'] as const) {
      for (const [name, target] of Object.entries(decl[kind] ?? {})) {
        const map = kind === 'jobs' ? this.jobs : this.filters;
        // Built-ins and earlier declarations win, as the first loadable entry point does in sioworkers.
        if (map.has(name)) continue;
        map.set(name, lazyExport(pkgDir, String(target), `${manifest.name ?? pkgDir} (${kind}.${name})`) as Loader<never>);
      }
    }
  }

  private async addModule(spec: string, cwd: string): Promise<void> {
    const url = spec.startsWith('.') || path.isAbsolute(spec) ? pathToFileURL(path.resolve(cwd, spec)).href : spec;
    let mod: { jobs?: Record<string, JobFn>; filters?: Record<string, FilterFn> };
    try {
      mod = await import(url);
    } catch (err) {
      throw new UsageError(`SLUICE_PLUGINS: cannot load "${spec}": ${(err as Error).message}`);
    }
    for (const [name, fn] of Object.entries(mod.jobs ?? {})) if (!this.jobs.has(name)) this.registerJob(name, fn);
    for (const [name, fn] of Object.entries(mod.filters ?? {})) if (!this.filters.has(name)) this.registerFilter(name, fn);
  }
}

/** "./file.js#export" inside a package: imported on first use. */
function lazyExport(pkgDir: string, target: string, label: string): Loader<unknown> {
  const [file, exportName = 'default'] = target.split('#') as [string, string?];
  let cached: Promise<unknown> | undefined;
  return () =>
    (cached ??= import(pathToFileURL(path.resolve(pkgDir, file)).href).then((mod) => {
      const fn = (mod as Record<string, unknown>)[exportName];
      if (typeof fn !== 'function') throw new Error(`plugin ${label}: "${target}" does not export a function "${exportName}"`);
      return fn;
    }));
}

function packagesIn(nodeModules: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(nodeModules);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const entry of entries) {
    if (entry.startsWith('.')) continue;
    const full = path.join(nodeModules, entry);
    if (entry.startsWith('@')) {
      for (const sub of safeReaddir(full)) out.push(path.join(full, sub));
    } else {
      out.push(full);
    }
  }
  return out;
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** node_modules folders from cwd upwards, then from this file upwards (Sluice installed as a dependency). */
function defaultNodeModules(): string[] {
  const seen = new Set<string>();
  for (const start of [process.cwd(), path.dirname(new URL(import.meta.url).pathname)]) {
    let dir = start;
    while (true) {
      const nm = path.join(dir, 'node_modules');
      if (existsSync(nm)) seen.add(nm);
      const parent = path.dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return [...seen];
}

function splitList(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

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
 * package names) that exports `jobs` and/or `filters` objects. Nothing is read until a name that
 * is not built in is first looked up; then package.json files are read and SLUICE_PLUGINS modules
 * imported, once. A package's job module is imported only when one of its names first runs.
 */
type Kind = 'jobs' | 'filters';
type Loader<T> = () => Promise<T>;

export interface RegistryOptions {
  /** node_modules folders to scan; default: every node_modules on the way up from cwd and from Sluice itself. */
  nodeModules?: string[];
  /** Modules to load as plugins (the configuration's SLUICE_PLUGINS); default none. */
  pluginModules?: string[];
  /** Where relative SLUICE_PLUGINS paths are resolved from; default: cwd. */
  cwd?: string;
}

export class Registry {
  private readonly jobs = new Map<string, Loader<JobFn>>();
  private readonly filters = new Map<string, Loader<FilterFn>>();
  /** The one plugin scan: every look-up that needs it awaits the same promise, so none sees a half-filled registry. */
  private scanning: Promise<void> | undefined;
  /** Why plugin modules could not be loaded; an unknown name reports them, since the name may be in one of them. */
  private readonly loadErrors: string[] = [];

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

  /**
   * Names of all known jobs and filters, plugins included. Cheap after the first call (the scan
   * reads package.json files once and imports only SLUICE_PLUGINS modules); concurrent first calls
   * share the one scan, so the answer is complete for every caller.
   */
  async names(): Promise<{ jobs: string[]; filters: string[] }> {
    await this.scan();
    return { jobs: [...this.jobs.keys()].sort(), filters: [...this.filters.keys()].sort() };
  }

  /** Whether `name` is a known job type, plugins included (no plugin module is imported for it). */
  async hasJob(name: string): Promise<boolean> {
    if (this.jobs.has(name)) return true;
    await this.scan();
    return this.jobs.has(name);
  }

  /** Throws the same one-line error a run would give when `name` is not a known job type (for refusing it early). */
  async assertJob(name: string): Promise<void> {
    if (!(await this.hasJob(name))) throw this.unknown(this.jobs, name, 'job type');
  }

  private async lookup<T>(kind: Kind, name: string, what: string): Promise<T> {
    const map = (kind === 'jobs' ? this.jobs : this.filters) as Map<string, Loader<T>>;
    let loader = map.get(name);
    if (!loader) {
      await this.scan();
      loader = map.get(name);
    }
    if (!loader) throw this.unknown(map, name, what);
    return loader();
  }

  private unknown(map: Map<string, unknown>, name: string, what: string): UsageError {
    const known = [...map.keys()].sort();
    const failed = this.loadErrors.length ? `; ${this.loadErrors.join('; ')}` : '';
    return new UsageError(`unknown ${what} "${name}"; known ${what}s: ${known.length ? known.join(', ') : '(none)'}${failed}`);
  }

  /** Reads plugin declarations once; callers arriving while it runs wait for it. */
  private scan(): Promise<void> {
    return (this.scanning ??= this.scanOnce());
  }

  private async scanOnce(): Promise<void> {
    for (const dir of this.options.nodeModules ?? defaultNodeModules()) {
      for (const pkgDir of packagesIn(dir)) this.addPackage(pkgDir);
    }
    const cwd = this.options.cwd ?? process.cwd();
    const modules = this.options.pluginModules ?? [];
    // In order, so that the first module naming a job wins, as with package declarations.
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
      this.loadErrors.push(`SLUICE_PLUGINS: cannot load "${spec}": ${(err as Error).message}`);
      return;
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

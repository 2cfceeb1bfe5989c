import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Environ, JobContext } from '../environ/index.js';
import { UsageError } from '../environ/index.js';
import { isZip, onlyMember } from './unzip.js';

/**
 * The one place where sandboxed jobs reach the files their environ names: everything goes through
 * `ctx.files` (local paths, or the file store), into fresh run folders before any program runs.
 */
export class Staging {
  constructor(private readonly ctx: JobContext, private readonly environ: Environ) {}

  /** Copies the file named by `environ[key]` to `dest` (an absolute path inside ctx.tmpdir). */
  async fetch(key: string, dest: string, mode = 0o644): Promise<string> {
    const target = await this.ctx.files.download(this.environ, key, this.relative(dest));
    await chmod(target, mode);
    return target;
  }

  /** Copies a file given by its name (an entry of `extra_files`, `additional_sources`...). */
  async fetchName(name: string, dest: string, mode = 0o644): Promise<string> {
    if (typeof name !== 'string' || name === '') throw new UsageError(`expected a file name, got ${JSON.stringify(name)}`);
    const key = '\u0000sluice_file';
    const target = await this.ctx.files.download({ ...this.environ, [key]: name }, key, this.relative(dest));
    await chmod(target, mode);
    return target;
  }

  /** Like fetch; a zip with exactly one member is replaced by that member (sioworkers' in_file). */
  async fetchUnzipped(key: string, dest: string): Promise<string> {
    const target = await this.fetch(key, dest, 0o600);
    const data = await readFile(target);
    if (isZip(data)) await writeFile(target, onlyMember(data, `environ "${key}"`));
    return target;
  }

  /**
   * Stores `source` (an absolute path inside ctx.tmpdir) under the name in `environ[key]`; returns
   * the stored name. `toRemote` false keeps it in this worker's cache only (exec's `upload_out`).
   */
  async store(key: string, source: string, toRemote = this.environ.upload_out === true): Promise<string> {
    return this.ctx.files.upload(this.environ, key, this.relative(source), { toRemote });
  }

  /** Stores `source` under the name `name` itself (ingen's collected files); returns the stored name. */
  async storeAs(name: string, source: string, toRemote = true): Promise<string> {
    const key = '\u0000sluice_file';
    return this.ctx.files.upload({ ...this.environ, [key]: name }, key, this.relative(source), { toRemote });
  }

  private relative(file: string): string {
    const rel = path.relative(this.ctx.tmpdir, file);
    if (rel.startsWith('..') || path.isAbsolute(rel)) throw new Error(`internal: ${file} is outside the job's folder`);
    return rel;
  }
}

import { copyFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Environ, FileAccess } from './types.js';
import { UsageError } from './errors.js';

/**
 * File access with `use_filetracker: false`: every name in the environ is a local path, relative to
 * the folder the command was started in (`base`). Files are copied into and out of the job's folder.
 * The file store (files/) provides the other implementation behind the same interface.
 */
export class LocalFiles implements FileAccess {
  constructor(private readonly workdir: () => string, private readonly base = process.cwd()) {}

  async download(environ: Environ, key: string, dest: string): Promise<string> {
    const name = environ[key];
    if (typeof name !== 'string' || name === '') throw new UsageError(`environ key "${key}" must name a file`);
    const target = path.resolve(this.workdir(), dest);
    await mkdir(path.dirname(target), { recursive: true });
    await copyFile(path.resolve(this.base, name), target);
    return target;
  }

  async upload(environ: Environ, key: string, source: string): Promise<string> {
    const name = environ[key];
    if (typeof name !== 'string' || name === '') throw new UsageError(`environ key "${key}" must name a file`);
    const target = path.resolve(this.base, name);
    await mkdir(path.dirname(target), { recursive: true });
    await copyFile(path.resolve(this.workdir(), source), target);
    return name;
  }
}

import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { NATIVE_HELPER } from '../native/index.js';
import { builtFile } from './paths.js';

/** Job folders whose removal failed: retried before each later removal in this process. */
const leftovers = new Set<string>();

/**
 * A run's private working folder. It is made on first use (a ping never pays for a mkdir) and
 * removed by `dispose`, which the runner calls whatever way the job ended.
 */
export class Workdir {
  private dir: string | undefined;

  /** `parent`: where the folder is made (the configuration's SLUICE_TMPDIR); default the system's temp folder. */
  constructor(private readonly parent?: string) {}

  get path(): string {
    this.dir ??= mkdtempSync(path.join(this.parent ?? os.tmpdir(), 'sluice-'));
    return this.dir;
  }

  /**
   * Removes the folder without blocking the event loop (other units of the worker go on meanwhile).
   * It never throws: a job's result must not be lost to its cleanup. A folder that cannot be removed
   * is logged on stderr and removed later.
   */
  async dispose(): Promise<void> {
    const dir = this.dir;
    this.dir = undefined;
    for (const old of [...leftovers]) if (!(await removeTree(old))) leftovers.delete(old);
    if (!dir) return;
    const why = await removeTree(dir);
    if (!why) return;
    leftovers.add(dir);
    process.stderr.write(`sluice: cannot remove the job folder ${dir} (${why}); it is tried again after the next job\n`);
  }
}

/**
 * Removes a folder a program may have filled: Node's recursive rm first (fast, never follows a
 * symlink); for what it cannot do (a tree deeper than PATH_MAX, folders without permissions), the
 * helper's --remove, which works one folder at a time through descriptors. Returns why not, or
 * undefined when the folder is gone.
 */
async function removeTree(dir: string): Promise<string | undefined> {
  try {
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    return undefined;
  } catch (err) {
    const first = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return new Promise((resolve) => {
      execFile(builtFile(NATIVE_HELPER), ['--remove', dir], (error, _stdout, stderr) => {
        resolve(error ? `${first}; then ${stderr.trim().replace(/^sluice-run: /, '') || error.message}` : undefined);
      });
    });
  }
}

import { mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * A run's private working folder. It is made on first use (a ping never pays for a mkdir) and
 * removed by `dispose`, which the runner calls whatever way the job ended.
 */
export class Workdir {
  private dir: string | undefined;

  constructor(private readonly parent?: string) {}

  get path(): string {
    this.dir ??= mkdtempSync(path.join(this.parent ?? (process.env.SLUICE_TMPDIR || os.tmpdir()), 'sluice-'));
    return this.dir;
  }

  /** Removes the folder without blocking the event loop (other units of the worker go on meanwhile). */
  async dispose(): Promise<void> {
    const dir = this.dir;
    this.dir = undefined;
    if (dir) await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  }
}

/**
 * Temporary files of the store and the cache are named `<host>.<pid>.<uuid>`, so that a process can
 * tell at start which ones were left by a process of this host that died (a crash mid-upload or
 * mid-download) and remove them, without touching the live uploads of its neighbours.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const HOST = os.hostname().replace(/[^A-Za-z0-9_-]/g, '_');
/** Temporary files older than this are removed even if their process cannot be checked (another host). */
const STALE_MS = 24 * 3600 * 1000;

/** A fresh temporary file name in `dir`. */
export function tmpName(dir: string): string {
  return path.join(dir, `${HOST}.${process.pid}.${randomUUID()}`);
}

/** Removes the temporary files in `dir` whose process (on this host) is gone, and any older than a day. */
export function removeStaleTmp(dir: string): number {
  let removed = 0;
  const now = Date.now();
  for (const name of readdirSync(dir)) {
    const file = path.join(dir, name);
    const [host, pid] = name.split('.');
    let stale = host === HOST && pid !== String(process.pid) && !processAlive(Number(pid));
    if (!stale) {
      try {
        stale = now - statSync(file).mtimeMs > STALE_MS;
      } catch {
        continue;
      }
    }
    if (stale) {
      rmSync(file, { force: true, recursive: true });
      removed++;
    }
  }
  return removed;
}

function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder holding Sluice's package.json, found from this file whether it runs from dist/ or src/. */
export const PACKAGE_ROOT = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('sluice: cannot find its own package.json');
    dir = parent;
  }
  return dir;
})();

/**
 * A built file (compiled JS or a native helper) by its path inside dist/. Code that forks a child or
 * runs a helper uses this, so that tests running the TypeScript sources use the same built files.
 */
export function builtFile(relative: string): string {
  return path.join(PACKAGE_ROOT, 'dist', relative);
}

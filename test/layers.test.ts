import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/** ARCHITECTURE.md's layers, bottom first: a layer may import only the layers before it (and itself); src/index.ts, the package's entry, is above them all. */
const LAYERS = ['native', 'environ', 'sandbox', 'jobs', 'files', 'schedule', 'store', 'worker', 'service', 'pool', 'bridge', 'server', 'cli', 'web', 'index.ts'];
const SRC = path.join(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), '..', 'src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return sources(full);
    return name.endsWith('.ts') ? [full] : [];
  });
}

describe('layering', () => {
  it('no module imports a layer above its own', () => {
    const upward: string[] = [];
    for (const file of sources(SRC)) {
      const layer = path.relative(SRC, file).split(path.sep)[0]!;
      const rank = LAYERS.indexOf(layer);
      expect(rank, `${file} is in no known layer`).toBeGreaterThanOrEqual(0);
      for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
        const target = path.relative(SRC, path.resolve(path.dirname(file), m[1]!)).split(path.sep)[0]!;
        const targetRank = LAYERS.indexOf(target);
        if (targetRank > rank) upward.push(`${path.relative(SRC, file)} imports ${m[1]} (${target} is above ${layer})`);
      }
    }
    expect(upward).toEqual([]);
  });
});

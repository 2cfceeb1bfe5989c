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
    return /\.tsx?$/.test(name) ? [full] : [];
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

  it('the browser code (web/) imports nothing of the other layers but types', () => {
    const reaching: string[] = [];
    for (const file of sources(path.join(SRC, 'web'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/^\s*(import|export)\s+(type\s+)?[^'"]*?from\s*'(\.{1,2}\/[^']+)'|import\s*\(\s*'(\.{1,2}\/[^']+)'/gm)) {
        const target = m[3] ?? m[4]!;
        const layer = path.relative(SRC, path.resolve(path.dirname(file), target)).split(path.sep)[0]!;
        if (layer !== 'web' && !m[2]) reaching.push(`${path.relative(SRC, file)} imports ${target} (${layer}) for more than its types`);
      }
    }
    expect(sources(path.join(SRC, 'web')).length).toBeGreaterThan(0);
    expect(reaching).toEqual([]);
  });
});

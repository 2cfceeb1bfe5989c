// Bundles the dashboard (src/web/, docs/dashboard.md) with esbuild into dist/web/: index.html, app.js
// (preact and uPlot inside) and app.css. No CDN: everything the browser loads comes from the package.
// Prints the sizes (minified, and gzipped as a server would send them).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

const out = 'dist/web';
mkdirSync(out, { recursive: true });
await build({
  entryPoints: { app: 'src/web/main.tsx' },
  outdir: out,
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022', 'chrome110', 'firefox115', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
});
copyFileSync('src/web/index.html', path.join(out, 'index.html'));
const sizes = ['app.js', 'app.css'].map((f) => {
  const bytes = readFileSync(path.join(out, f));
  return { file: f, bytes: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length };
});
writeFileSync(path.join(out, 'sizes.json'), `${JSON.stringify(sizes)}\n`);
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(`dashboard: ${sizes.map((s) => `${s.file} ${kib(s.bytes)} (${kib(s.gzip)} gzipped)`).join(', ')}`);

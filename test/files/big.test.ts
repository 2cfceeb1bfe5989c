// A 200 MiB file round trip through our client and a server in a child process, with bounded memory
// on both sides: the server's peak RSS (VmHWM) and this process's RSS growth stay far below 200 MiB.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { once } from 'node:events';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { FilesClient, sha256File } from '../../src/files/index.js';
import { childServer, tempDir, type ChildServer } from './helpers.js';

const MiB = 1024 * 1024;
const SIZE = 200 * MiB;
let dir: ReturnType<typeof tempDir>;
let server: ChildServer;

beforeAll(async () => {
  dir = tempDir();
  server = await childServer(path.join(dir.dir, 'root'));
});
afterAll(async () => {
  await server.kill();
  dir.cleanup();
});

/** Writes SIZE bytes that do not repeat (each MiB block starts with its own number), returns their SHA-256. */
async function makeBigFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  const out = createWriteStream(file);
  const block = randomBytes(MiB);
  for (let i = 0; i < SIZE / MiB; i++) {
    const chunk = Buffer.from(block);
    chunk.writeUInt32BE(i, 0);
    hash.update(chunk);
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return hash.digest('hex');
}

it('200 MiB up and down with bounded memory', async () => {
  const source = path.join(dir.dir, 'big.bin');
  const sha = await makeBigFile(source);
  const serverBase = server.peakRss();
  const client = new FilesClient({ url: server.url, gzip: false });
  let peak = process.memoryUsage().rss;
  const start = peak;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  try {
    const put = await client.upload(source, '/big/file');
    expect(put).toMatchObject({ size: SIZE, sha256: sha, applied: true });
    const dest = path.join(dir.dir, 'back.bin');
    const got = await client.download('/big/file', dest);
    expect(got.size).toBe(SIZE);
    expect(await sha256File(dest)).toBe(sha);
  } finally {
    clearInterval(sampler);
    client.close();
  }
  const serverPeak = server.peakRss();
  // Node itself needs ~50-70 MiB; a server that buffered the file would need over 200 MiB more.
  expect(serverPeak, `server peak RSS ${Math.round(serverPeak / MiB)} MiB (at start ${Math.round(serverBase / MiB)} MiB)`).toBeLessThan(150 * MiB);
  expect(peak - start, `client RSS growth ${Math.round((peak - start) / MiB)} MiB`).toBeLessThan(100 * MiB);
}, 60_000);

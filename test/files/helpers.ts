import http from 'node:http';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startFileServer, type FileServer, type FileServerOptions } from '../../src/files/index.js';

/** A temporary folder, removed by the returned function. */
export function tempDir(prefix = 'sluice-files-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A file server on 127.0.0.1 with a free port, rooted in a fresh folder. */
export async function testServer(options: Partial<FileServerOptions> = {}): Promise<FileServer & { root: string; cleanup: () => Promise<void> }> {
  const { dir, cleanup } = tempDir();
  const root = path.join(dir, 'root');
  const server = await startFileServer({ root, port: 0, fsync: false, ...options });
  return Object.assign(server, {
    root,
    async cleanup() {
      await server.close();
      cleanup();
    },
  });
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

/**
 * A plain HTTP request, sent exactly as written (the path is not normalised, unlike fetch/URL), so
 * the tests speak the documented protocol and nothing of our own client.
 */
export function raw(base: string, method: string, rawPath: string, options: { headers?: http.OutgoingHttpHeaders; body?: Buffer | string } = {}): Promise<RawResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method, path: rawPath, headers: options.headers ?? {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Every blob file under a store root. */
export function blobsIn(root: string): string[] {
  const dir = path.join(root, 'blobs');
  return readdirSync(dir).flatMap((p) => readdirSync(path.join(dir, p)));
}

/** Every file under a folder, recursively (relative paths). */
export function treeOf(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath ?? e.path, e.name)))
    .sort();
}

/** The version an HTTP date header denotes. */
export function versionOf(res: RawResponse): number {
  return Math.floor(Date.parse(String(res.headers['last-modified'])) / 1000);
}

/** A file server in a child process (the built dist/files/server.js), so that it can be SIGKILLed and measured. */
export interface ChildServer {
  url: string;
  pid: number;
  child: import('node:child_process').ChildProcess;
  /** Peak resident memory of the child so far, in bytes (VmHWM). */
  peakRss(): number;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function childServer(root: string, options: { fsync?: boolean } = {}): Promise<ChildServer> {
  const { spawn } = await import('node:child_process');
  const { builtFile } = await import('../../src/environ/index.js');
  const script = `
    const { startFileServer } = await import(${JSON.stringify(builtFile('files/server.js'))});
    const server = await startFileServer({ root: process.argv[1], port: 0, fsync: ${options.fsync ?? true} });
    process.stdout.write(server.url + '\\n');
    process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, root], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.trim());
    });
    child.once('exit', (code) => reject(new Error(`file server exited (${code}) before listening: ${err}`)));
  });
  return {
    url,
    pid: child.pid!,
    child,
    peakRss() {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      return Number(m?.[1] ?? 0) * 1024;
    },
    kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      return new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill(signal);
      });
    },
  };
}

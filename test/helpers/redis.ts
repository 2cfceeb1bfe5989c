import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { exited, until } from './cli.js';
import { freePort } from './ports.js';
import { requireProgram } from './require.js';

export interface RedisServer {
  port: number;
  url: string;
  /** a client for the test (a moi consumer's view) */
  client(): Redis;
  /** stops the server (SIGTERM to its pid; with persistence it writes its data first) */
  stop(): Promise<void>;
  /** starts it again on the same port; `fresh`: with its data folder emptied, as after a restart without persistence */
  start(options?: { fresh?: boolean }): Promise<void>;
  /** stops it and removes its folder and the test's clients */
  close(): Promise<void>;
}

/**
 * A real redis-server on a free loopback port, in the foreground as a child of the test (stopped
 * by its pid), with its data in a temporary folder. `persist`: an append-only file, so that a
 * restart keeps the data.
 */
export async function startRedis(options: { persist?: boolean } = {}): Promise<RedisServer> {
  const binary = requireProgram('redis-server', 'redis-server');
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'sluice-redis-'));
  const clients: Redis[] = [];
  let child: ChildProcess | undefined;
  const persistence = options.persist ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    client() {
      const c = new Redis({ port, host: '127.0.0.1', retryStrategy: () => 50, maxRetriesPerRequest: null });
      c.on('error', () => {});
      clients.push(c);
      return c;
    },
    async stop() {
      if (!child) return;
      child.kill('SIGTERM');
      await exited(child);
      child = undefined;
    },
    async start({ fresh = false } = {}) {
      if (fresh) {
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir);
      }
      child = spawn(binary, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', dir], { stdio: 'ignore' });
      const probe = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
      probe.on('error', () => {});
      await until(async () => {
        try {
          if (probe.status !== 'ready') await probe.connect();
          return (await probe.ping()) === 'PONG' ? true : undefined;
        } catch {
          probe.disconnect();
          return undefined;
        }
      }, 10_000, 'redis-server to answer');
      probe.disconnect();
    },
    async close() {
      for (const c of clients) c.disconnect();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

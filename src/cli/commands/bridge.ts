import type { Command } from 'commander';
import { EXIT, SluiceError, UsageError } from '../../environ/index.js';
import { runBridge } from '../../bridge/index.js';
import { cliConfig, serverOptions, withSluice, type RemoteFlags } from '../service.js';

export function register(program: Command): void {
  serverOptions(program.command('bridge <redis-url>'))
    .description("mirror Sluice's jobs into Redis live, in moi's layout (info JSON under each id, <group>:children, <id>:pubsub), until SIGINT/SIGTERM")
    .action(async (text: string, opts: RemoteFlags) => {
      const url = redisUrl(text);
      const where = `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
      const log = (line: string) => process.stderr.write(`${new Date().toISOString()} bridge: ${line}\n`);
      const stop = new AbortController();
      const onSignal = (signal: string) => {
        if (stop.signal.aborted) {
          log(`second ${signal}, exiting now`);
          process.exit(130);
        }
        log(`${signal}: stopping`);
        stop.abort();
      };
      process.on('SIGINT', () => onSignal('SIGINT'));
      process.on('SIGTERM', () => onSignal('SIGTERM'));
      // A write while disconnected must fail at once, not be queued: after an outage the bridge first
      // reads its place again, since a Redis that restarted without persistence holds nothing.
      // Loaded here, not at start-up: every command of the CLI would pay ~35 ms for it.
      const { Redis } = await import('ioredis');
      const redis = new Redis(url.toString(), { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: (times) => Math.min(times * 100, 1000) });
      // Reported by the bridge, once per outage, not by ioredis per retry; the last one says why a connect failed.
      let lastError: Error | undefined;
      redis.on('error', (err: Error) => (lastError = err));
      try {
        await redis.connect();
      } catch (err) {
        redis.disconnect();
        throw new SluiceError(`cannot reach redis at ${where}: ${(lastError ?? (err as Error)).message}`, EXIT.INTERNAL);
      }
      const store = cliConfig().store;
      const source = opts.url ?? cliConfig().url ?? (store.kind === 'sqlite' ? store.file : redactUrl(store.url));
      await withSluice(opts, async (service) => {
        log(`pid ${process.pid} (stop with kill -TERM ${process.pid}), ${opts.url ?? cliConfig().url ? 'server' : 'store'} ${source}`);
        await runBridge({ service, redis, where, log, signal: stop.signal });
      });
      await redis.quit().catch(() => redis.disconnect());
      log('stopped');
    });
}

/** redis://HOST:PORT (and rediss://, user:password@, /DB) as moi's config named it; anything else is a usage error. */
function redisUrl(text: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'redis:' && url.protocol !== 'rediss:') || !url.hostname || !/^\/?(\d+)?$/.test(url.pathname) || url.search || url.hash) {
    throw new UsageError(`the bridge needs a Redis URL like redis://127.0.0.1:6379 (rediss:// for TLS, /N for a database number), got "${text}"`);
  }
  return url;
}

function redactUrl(text: string): string {
  return text.replace(/\/\/([^:/@]*):[^@/]*@/, '//$1:***@');
}

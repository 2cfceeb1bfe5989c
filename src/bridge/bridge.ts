import type { Redis } from 'ioredis';
import type { Service } from '../service/index.js';
import { batches } from './batches.js';
import { mirrorChanges, mirroredThrough, mirrorSnapshot } from './mirror.js';

export interface BridgeOptions {
  service: Service;
  /** connected, with `enableOfflineQueue: false` (a write while disconnected must fail, not wait: see below) */
  redis: Redis;
  /** where Redis is, for log lines (no password) */
  where: string;
  log: (line: string) => void;
  signal: AbortSignal;
}

/** After a failure, wait this long, doubling up to RETRY_MAX_MS, before trying again. */
const RETRY_MS = 100;
const RETRY_MAX_MS = 5000;

/**
 * Mirrors Sluice's tree into Redis in moi's layout until `signal` fires. Its place (the last
 * sequence number mirrored) is kept in Redis itself, written with each batch, and read again
 * after every failure: a restarted bridge resumes exactly where it stopped, and a Redis that came
 * back empty (no persistence) is given the current state again instead of changes on top of
 * nothing. Redis going away or the store failing never ends it: it says so in one line, tries
 * again with backoff, and says when it carries on.
 */
export async function runBridge(options: BridgeOptions): Promise<void> {
  const { service, redis, where, log, signal } = options;
  let failures = 0;
  let trouble: 'redis' | 'store' | undefined;
  const name = (what: 'redis' | 'store') => (what === 'redis' ? `redis at ${where}` : 'the store');
  /** One line when the trouble ends, as one said when it began. */
  const fine = (what: 'redis' | 'store', place: string) => {
    if (trouble !== what) return;
    log(`${name(what)} answers again after ${failures} failed attempt(s); ${place}`);
    failures = 0;
    trouble = undefined;
  };
  let started = false;
  while (!signal.aborted) {
    const attempt = new AbortController();
    const stop = () => attempt.abort();
    signal.addEventListener('abort', stop, { once: true });
    // A dropped connection ends this attempt even when nothing is being written: the Redis that
    // comes back may be a fresh one, so the place is read again before anything else is written.
    let lost = false;
    const onClose = () => {
      lost = true;
      attempt.abort();
    };
    redis.once('close', onClose);
    let stage: 'redis' | 'store' = 'redis';
    try {
      const since = await mirroredThrough(redis);
      const place = since === null ? 'no place kept in Redis: mirroring the current state first' : `resuming after seq ${since}`;
      if (!started) log(`mirroring into ${where}; ${place}`);
      started = true;
      fine('redis', place);
      stage = 'store';
      const stream = service.stream({ type: 'any' }, { ...(since === null ? {} : { since }), signal: attempt.signal, resyncOnPrune: true });
      for await (const batch of batches(stream)) {
        stage = 'redis';
        if (batch.kind === 'snapshot') {
          const n = await mirrorSnapshot(redis, batch.infos, batch.seq);
          log(`mirrored the current state through seq ${batch.seq}: ${batch.infos.length} node(s), ${n.added} new, ${n.updated} changed, ${n.removed} removed`);
        } else {
          await mirrorChanges(redis, batch.infos, batch.seq);
        }
        fine('store', `mirrored through seq ${batch.seq}`);
        stage = 'store';
      }
      if (lost) {
        stage = 'redis';
        throw new Error('connection closed');
      }
    } catch (err) {
      if (signal.aborted) break;
      if (trouble !== stage) {
        log(`${name(stage)} failed (${(err as Error).message}); trying again every ${RETRY_MAX_MS / 1000}s or sooner`);
        trouble = stage;
        failures = 0;
      }
      failures++;
      await pause(Math.min(RETRY_MAX_MS, RETRY_MS * 2 ** (failures - 1)), signal, redis);
    } finally {
      attempt.abort();
      signal.removeEventListener('abort', stop);
      redis.off('close', onClose);
    }
  }
}

/** Waits `ms`, or less when Redis (re)connects or the bridge is stopped. */
function pause(ms: number, signal: AbortSignal, redis: Redis): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      redis.off('ready', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    redis.once('ready', done);
  });
}

import type { Store } from '../store/index.js';

/** How long after it starts a long-lived process first prunes (sooner when it prunes more often than that). */
const FIRST_PRUNE_MS = 60_000;

/**
 * Prunes in the background of a worker or a server: ended jobs past their retention and old events
 * go, in small transactions (store.prune), so the claim path is never held up for long. Any number
 * of processes may do this on one store; a pruning that finds nothing writes nothing.
 */
export function startPruning(store: Store, log: (line: string) => void, everyMs: number): { stop: () => void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  if (!(everyMs > 0)) return { stop: () => {} };
  const run = async () => {
    try {
      const report = await store.prune();
      if (report.jobs || report.events) log(`pruned ${report.jobs} ended job(s), ${report.groups} empty group(s) and ${report.events} event(s)`);
    } catch (err) {
      log(`pruning failed: ${(err as Error).message}`);
    }
    if (!stopped) schedule(everyMs);
  };
  const schedule = (ms: number) => {
    // A little jitter, so that workers started together do not prune together.
    timer = setTimeout(() => void run(), ms * (0.9 + Math.random() * 0.2));
    timer.unref();
  };
  schedule(Math.min(FIRST_PRUNE_MS, everyMs));
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

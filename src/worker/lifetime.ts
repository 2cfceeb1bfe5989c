import { formatLocalTime } from '../environ/index.js';

/** When a worker ends by itself (a pool inside a batch-queue allocation), rather than by a signal. */
export interface Lifetime {
  /** stop after this long with no unit running (ms; 0 or unset: never) */
  idleExitMs?: number;
  /** stop at this time (ms since the epoch): an allocation's end less a margin, so units are given back before the walltime kills them */
  stopAt?: number;
}

/** How often the limits are looked at, at most (a timer to a far `stopAt` could overflow setTimeout's 24.8 days). */
const CHECK_MS = 1000;

/**
 * Calls `onEnd(reason)` once, when `worker` has been idle for `idleExitMs` or `stopAt` has come.
 * Returns a function that stops watching. The caller stops the worker (Worker.stop gives its
 * running units back), the same way as on SIGTERM.
 */
export function watchLifetime(worker: { readonly idleSince: number | null }, lifetime: Lifetime, onEnd: (reason: string) => void): () => void {
  const idleMs = lifetime.idleExitMs || 0;
  const { stopAt } = lifetime;
  if (!idleMs && stopAt === undefined) return () => {};
  const check = () => {
    const now = Date.now();
    let reason: string | undefined;
    if (stopAt !== undefined && now >= stopAt) reason = `its stop time ${formatLocalTime(stopAt)} has come`;
    else if (idleMs && worker.idleSince !== null && now - worker.idleSince >= idleMs) reason = `idle for ${Math.round((now - worker.idleSince) / 1000)}s`;
    if (reason) {
      clearInterval(timer);
      onEnd(reason);
    }
  };
  const timer = setInterval(check, Math.max(50, Math.min(CHECK_MS, idleMs ? idleMs / 4 : CHECK_MS)));
  timer.unref();
  queueMicrotask(check);
  return () => clearInterval(timer);
}

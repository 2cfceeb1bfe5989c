import type { CompleteAndClaimAnswer, WorkerStore } from '../store/index.js';
import { WORKER_CALLS } from '../store/index.js';
import { connect, type ConnectOptions } from './remote.js';

/** Longest one wait for a change lasts on the server; a longer one asks again (proxies cut idle requests). */
const WAIT_CAP_MS = 25_000;

type Calls = Pick<WorkerStore, (typeof WORKER_CALLS)[number]>;

/**
 * A worker's store on a Sluice server: each call is a POST to /api/v1/worker/NAME with its
 * arguments, answered by the server's own store (server/routes/worker.ts), so that `sluice worker
 * --url` on a machine with no database access works as a worker beside the store does. Wake-ups
 * are long polls: the server holds `waitForChange` until its store changes.
 */
export function workerStore(url: string, options: ConnectOptions = {}): WorkerStore {
  const server = connect(url, options);
  // The server's change mark as last heard: from a wait's answer or a claim's.
  let mark = 0;
  const call = async <T>(name: string, args: unknown[], signal?: AbortSignal): Promise<T> =>
    (await server.post<{ result: T }>(`/worker/${name}`, { args: withoutTrailingUndefined(args) }, signal)).result;
  const calls = Object.fromEntries(WORKER_CALLS.map((name) => [name, (...args: unknown[]) => call(name, args)])) as unknown as Calls;
  return {
    ...calls,
    async completeAndClaim(...args) {
      const answer = await call<CompleteAndClaimAnswer>('completeAndClaim', args);
      mark = answer.mark;
      return answer;
    },
    changeMark: () => mark,
    async waitForChange(timeoutMs, signal, since) {
      if (signal?.aborted) return;
      try {
        const answer = await call<{ mark: number }>('waitForChange', [Math.min(timeoutMs, WAIT_CAP_MS), since ?? mark], signal);
        mark = answer.mark;
      } catch (err) {
        // An unreachable server is reported by the worker's next real call; here it only must not spin.
        if ((err as Error).name !== 'AbortError') await pause(Math.min(timeoutMs, 1000), signal);
      }
    },
  };
}

/** JSON has no undefined: an argument left out must stay left out, not become null. */
function withoutTrailingUndefined(args: unknown[]): unknown[] {
  let end = args.length;
  while (end > 0 && args[end - 1] === undefined) end--;
  return args.slice(0, end);
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

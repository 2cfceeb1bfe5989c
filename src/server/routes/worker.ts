import type { FastifyInstance } from 'fastify';
import { NotFoundError, UsageError } from '../../environ/index.js';
import { WORKER_CALLS, type WorkerStore } from '../../store/index.js';

type Call = { Params: { name: string }; Body: { args?: unknown } };

const CALLS: ReadonlySet<string> = new Set(WORKER_CALLS);
/** Longest a worker's wait for a change is held open; it asks again. */
const WAIT_CAP_MS = 25_000;

/**
 * The worker protocol: `POST /worker/NAME {"args": [...]}` runs the store call NAME for a worker on
 * another machine (`sluice worker --url`, service/workerClient.ts) and answers `{"result": …}`. Only the
 * calls a worker makes exist, and only an admin's token may make them (the access policy).
 * `waitForChange` is a long poll that ends when the store changes, the client goes, or the server stops.
 */
export function workerRoutes(app: FastifyInstance, options: { stopping: AbortSignal }): void {
  app.post<Call>('/worker/:name', async (request, reply) => {
    const store = request.sluice.workerStore();
    const { name } = request.params;
    const args = request.body?.args ?? [];
    if (!Array.isArray(args)) throw new UsageError('args: an array of the call\'s arguments');
    if (name === 'waitForChange') return waitForChange(store, args, reply.raw, options.stopping);
    if (!CALLS.has(name)) throw new NotFoundError(`no worker call "${name}"; the calls are ${[...CALLS, 'waitForChange'].join(', ')}`);
    const answer = await (store[name as (typeof WORKER_CALLS)[number]] as (...a: unknown[]) => Promise<unknown>)(...args);
    // Wrapped: a bare string would go out as text, and JSON has no undefined.
    return { result: answer ?? null };
  });
}

async function waitForChange(store: WorkerStore, args: unknown[], response: NodeJS.EventEmitter, stopping: AbortSignal): Promise<{ result: { mark: number } }> {
  const [timeoutMs, since] = args;
  if (typeof timeoutMs !== 'number' || !(timeoutMs >= 0)) throw new UsageError('waitForChange: args[0] is a timeout in ms');
  if (since !== undefined && typeof since !== 'number') throw new UsageError('waitForChange: args[1] is a change mark');
  // A mark from before this server started (a restart) is stale: answer at once with the current one.
  if (since === undefined || since <= store.changeMark()) {
    const gone = new AbortController();
    const end = () => gone.abort();
    response.once('close', end);
    stopping.addEventListener('abort', end, { once: true });
    try {
      await store.waitForChange(Math.min(timeoutMs, WAIT_CAP_MS), gone.signal, since);
    } finally {
      response.off('close', end);
      stopping.removeEventListener('abort', end);
    }
  }
  return { result: { mark: store.changeMark() } };
}

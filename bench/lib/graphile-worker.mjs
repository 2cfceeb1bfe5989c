// graphile-worker's side of the benchmark, in its own process as its documentation runs it
// (`run()` with a task list): argv: connection string, concurrency, batching (on|off). Every task
// reports its start to the parent; 'noop' does nothing, 'stamp' is the latency probe.
import { Logger, run } from 'graphile-worker';

const [connectionString, concurrency, batching] = process.argv.slice(2);
const runner = await run({
  connectionString,
  concurrency: Number(concurrency),
  noHandleSignals: true,
  pollInterval: 1000,
  taskList: {
    noop: async () => {},
    stamp: async (payload) => process.send?.({ stamp: payload.n, started: performance.timeOrigin + performance.now() }),
  },
  // Quiet: its default logger writes a line per job, which would be timed too.
  logger: new Logger(() => () => {}),
  ...(batching === 'on' ? { preset: { worker: { localQueue: { size: Number(concurrency) + 1 }, completeJobBatchDelay: 0 } } } : {}),
});
process.send?.('ready');
process.on('message', async (m) => {
  if (m === 'stop') {
    await runner.stop();
    process.exit(0);
  }
});

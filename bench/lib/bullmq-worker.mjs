// BullMQ's side of the benchmark, in its own process like Sluice's worker:
// argv: port queue concurrency. Processes no-op jobs; for 'stamp' jobs returns the start time.
import { Worker } from 'bullmq';

const [port, queue, concurrency] = process.argv.slice(2);
const worker = new Worker(
  queue,
  async (job) => (job.name === 'stamp' ? performance.timeOrigin + performance.now() : undefined),
  { connection: { host: '127.0.0.1', port: Number(port), maxRetriesPerRequest: null }, concurrency: Number(concurrency) },
);
await worker.waitUntilReady();
process.send?.('ready');
process.on('message', async (m) => {
  if (m === 'stop') {
    await worker.close();
    process.exit(0);
  }
});

import type { Command } from 'commander';
import type { WorkerView } from '../../store/index.js';
import { serverOptions, withSluice, type RemoteFlags } from '../service.js';
import { formatDate } from '../format.js';
import { printJson } from '../io.js';

/** `sluice workers [--json]`: the live workers, what they offer and what they run. */
export function register(program: Command): void {
  serverOptions(program.command('workers'))
    .description('live workers: host, pid, pools, concurrency, RAM offered and used, exclusive, running units, last heartbeat')
    .option('--json', 'print JSON')
    .action(async (opts: RemoteFlags & { json?: boolean }) => {
      await withSluice(opts, async (service) => {
        const workers = await service.workers();
        if (opts.json) return printJson(workers);
        if (!workers.length) return void process.stdout.write('no worker is alive (start one with: sluice worker)\n');
        for (const w of workers) process.stdout.write(`${workerLine(w)}\n`);
      });
    });
}

function workerLine(w: WorkerView): string {
  const labels = Object.entries(w.labels).map(([k, v]) => `${k}=${v}`);
  return [
    `id: ${w.id}`,
    `host: ${w.host}`,
    `pid: ${w.pid}`,
    `pools: ${w.pools.join(',')}`,
    `concurrency: ${w.concurrency}`,
    `ram: ${w.ram_used_mb} of ${w.ram_mb} MiB`,
    `exclusive: ${w.exclusive ? 'yes' : 'no'}`,
    `running: ${w.running}`,
    `heartbeat: ${formatDate(w.heartbeat_at)}`,
    ...(labels.length ? [`labels: ${labels.join(' ')}`] : []),
  ].join('\t');
}

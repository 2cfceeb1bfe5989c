import type { Command } from 'commander';
import { serverOptions, withSluice, type RemoteFlags } from '../service.js';
import { printJson } from '../io.js';

export function register(program: Command): void {
  serverOptions(program.command('abort'))
    .argument('<id>', 'a job id')
    .description('abort a job: a queued job never runs, a running one is killed within a second')
    .option('--json', 'print the record as JSON')
    .action(async (id: string, opts: RemoteFlags & { json?: boolean }) => {
      await withSluice(opts, async (service) => {
        const before = await service.get(id);
        const record = await service.abort(id);
        if (opts.json) return printJson(record);
        process.stdout.write(before.status === record.status ? `job ${id} had already ended (${record.status})\n` : `job ${id} aborted\n`);
      }, { write: true });
    });
}

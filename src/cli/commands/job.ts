import type { Command } from 'commander';
import { withService } from '../service.js';
import { formatRecord } from '../format.js';
import { printJson } from '../io.js';

export function register(program: Command): void {
  program
    .command('job')
    .argument('<id>', 'a job or group id')
    .description("print a job's record (moi's layout: a banner, key : value lines, result last)")
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean }) => {
      await withService(async (service) => {
        const record = await service.get(id);
        if (opts.json) printJson(record);
        else process.stdout.write(formatRecord(record));
      });
    });
}

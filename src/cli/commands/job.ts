import type { Command } from 'commander';
import { withService } from '../service.js';
import { formatRecord, formatUnit } from '../format.js';
import { printJson } from '../io.js';

export function register(program: Command): void {
  program
    .command('job')
    .argument('<id>', 'a job or group id')
    .description("print a job's record (moi's layout: a banner, key : value lines, result last)")
    .option('--units', "list the job's units (one per input of a map job) with their state and result")
    .option('--json', 'print JSON')
    .action(async (id: string, opts: { json?: boolean; units?: boolean }) => {
      await withService(async (service) => {
        if (opts.units) {
          const units = await service.units(id);
          if (opts.json) return printJson(units);
          for (const u of units) process.stdout.write(`${formatUnit(u)}\n`);
          return;
        }
        const record = await service.get(id);
        const waiting = (await service.waitReasons([record])).get(record.id);
        if (opts.json) printJson(waiting ? { ...record, waiting } : record);
        else process.stdout.write(formatRecord(record, waiting));
      });
    });
}

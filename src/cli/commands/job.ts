import type { Command } from 'commander';
import { UsageError } from '../../environ/index.js';
import { serverOptions, withSluice, type RemoteFlags } from '../service.js';
import { formatRecord, formatUnit } from '../format.js';
import { printJson } from '../io.js';

export function register(program: Command): void {
  serverOptions(program.command('job'))
    .argument('[id]', 'a job or group id')
    .description("print a job's record (moi's layout: a banner, key : value lines, result last)")
    .option('--job-id <id>', "the id, moi's spelling (moi job --job-id=ID)")
    .option('--units', "list the job's units (one per input of a map job) with their state and result")
    .option('--json', 'print JSON')
    .action(async (given: string | undefined, opts: RemoteFlags & { jobId?: string; json?: boolean; units?: boolean }) => {
      if (given && opts.jobId && given !== opts.jobId) throw new UsageError('give the id once: as an argument or with --job-id');
      const id = given ?? opts.jobId;
      if (!id) throw new UsageError('job needs an id (sluice job ID, or --job-id ID)');
      await withSluice(opts, async (service) => {
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

import type { Command } from 'commander';
import { EXIT, UsageError } from '../../environ/index.js';
import { serverOptions, withSluice, type RemoteFlags } from '../service.js';
import { formatRecord } from '../format.js';
import { printJson } from '../io.js';

export function register(program: Command): void {
  serverOptions(program.command('wait'))
    .argument('<id>', 'a job id')
    .description('wait until a job ends and print its record (exit 0 Success, 1 Failed/Aborted, 4 timeout)')
    .option('--timeout <seconds>', 'give up after this many seconds')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: RemoteFlags & { timeout?: string; json?: boolean }) => {
      let timeoutMs: number | undefined;
      if (opts.timeout !== undefined) {
        const s = Number(opts.timeout);
        if (!Number.isFinite(s) || s < 0) throw new UsageError(`--timeout must be a number of seconds, got "${opts.timeout}"`);
        timeoutMs = s * 1000;
      }
      await withSluice(opts, async (service) => {
        const record = await service.wait(id, timeoutMs === undefined ? {} : { timeoutMs });
        if (opts.json) printJson(record);
        else process.stdout.write(formatRecord(record));
        process.exitCode = record.status === 'Success' ? EXIT.OK : EXIT.JOB_FAILED;
      });
    });
}

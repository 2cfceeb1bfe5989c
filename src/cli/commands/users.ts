import type { Command } from 'commander';
import { withService } from '../service.js';
import { printJson } from '../io.js';

export function register(program: Command): void {
  program
    .command('users')
    .description("list owners with their root group id and number of jobs (moi's users)")
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      await withService(async (service) => {
        const users = await service.users();
        if (opts.json) return printJson(users);
        for (const u of users) process.stdout.write(`${u.owner} : ${u.group ?? 'None'} (${u.jobs} job${u.jobs === 1 ? '' : 's'})\n`);
      });
    });
}

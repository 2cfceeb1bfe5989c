import type { Command } from 'commander';
import { UsageError } from '../../environ/index.js';
import type { JobStatus } from '../../store/index.js';
import { withService } from '../service.js';
import { formatRecord, formatSummary } from '../format.js';
import { printJson } from '../io.js';

const STATUSES: JobStatus[] = ['Queued', 'Running', 'Success', 'Failed', 'Aborted'];

export function register(program: Command): void {
  program
    .command('jobs')
    .description('list jobs by date (all users unless --user)')
    .option('--user <name>', 'only this owner')
    .option('--status <status>', `only this status (${STATUSES.join(', ')})`)
    .option('--tag <tag>', 'only jobs with this tag')
    .option('--summary', 'one line per job: date, id, status')
    .option('--json', 'print JSON')
    .action(async (opts: { user?: string; status?: string; tag?: string; summary?: boolean; json?: boolean }) => {
      const status = opts.status === undefined ? undefined : parseStatus(opts.status);
      await withService(async (service) => {
        const jobs = await service.list({
          ...(opts.user ? { owner: opts.user } : {}),
          ...(status ? { status } : {}),
          ...(opts.tag ? { tag: opts.tag } : {}),
        });
        const waiting = await service.waitReasons(jobs);
        if (opts.json) return printJson(jobs.map((j) => (waiting.has(j.id) ? { ...j, waiting: waiting.get(j.id) } : j)));
        for (const info of jobs) {
          process.stdout.write(opts.summary ? `${formatSummary(info, waiting.get(info.id))}\n` : `${formatRecord(info, waiting.get(info.id))}\n`);
        }
      });
    });
}

function parseStatus(text: string): JobStatus {
  const found = STATUSES.find((s) => s.toLowerCase() === text.toLowerCase());
  if (!found) throw new UsageError(`--status must be one of ${STATUSES.join(', ')}, got "${text}"`);
  return found;
}

import type { Command } from 'commander';
import { NotFoundError, UsageError } from '../../environ/index.js';
import type { JobFilter, JobStatus, NodeInfo } from '../../store/index.js';
import type { Service } from '../../service/index.js';
import { serverOptions, withSluice, type RemoteFlags } from '../service.js';
import { formatRecord, formatSummary } from '../format.js';
import { printJson } from '../io.js';

const STATUSES: JobStatus[] = ['Queued', 'Waiting', 'Running', 'Success', 'Failed', 'Aborted'];

interface ListOptions extends RemoteFlags {
  user?: string;
  status?: string;
  tag?: string;
  group?: string;
  recursive?: boolean;
  summary?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  serverOptions(program.command('jobs'))
    .description('list jobs by date (all users unless --user); with --group, what a group holds')
    .option('--user <name>', 'only this owner')
    .option('--status <status>', `only this status (${STATUSES.join(', ')})`)
    .option('--tag <tag>', 'only jobs with this tag')
    .option('--group <path>', "a group's children (jobs and groups), e.g. alice/analysis-7")
    .option('--recursive', 'with --group: everything below it, at any depth')
    .option('--summary', 'one line per job: date, id, status')
    .option('--json', 'print JSON')
    .action(async (opts: ListOptions) => {
      if (opts.recursive && !opts.group) throw new UsageError('--recursive goes with --group');
      await withSluice(opts, (service) => printList(service, opts));
    });

  // moi's spelling: `moi userjobs --key NAME [--summary]`.
  serverOptions(program.command('userjobs'))
    .description("moi's userjobs: every job of one user, by date (same as jobs --user NAME)")
    .requiredOption('--key <name>', 'the user')
    .option('--summary', 'one line per job: date, id, status')
    .option('--json', 'print JSON')
    .action(async (opts: RemoteFlags & { key: string; summary?: boolean; json?: boolean }) => {
      await withSluice(opts, async (service) => {
        if (!(await service.users()).some((u) => u.owner === opts.key)) throw new NotFoundError(`Unknown key: ${opts.key}`);
        await printList(service, { user: opts.key, ...(opts.summary ? { summary: true } : {}), ...(opts.json ? { json: true } : {}) });
      });
    });
}

async function printList(service: Service, opts: ListOptions): Promise<void> {
  const status = opts.status === undefined ? undefined : parseStatus(opts.status);
  const filter: JobFilter = {
    ...(opts.user ? { owner: opts.user } : {}),
    ...(status ? { status } : {}),
    ...(opts.tag ? { tag: opts.tag } : {}),
  };
  if (opts.group) {
    const group = await service.group(opts.group);
    Object.assign(filter, opts.recursive ? { under: group.id } : { parent: group.id }, { type: 'any' });
  }
  const nodes = await service.list(filter);
  const waiting = await service.waitReasons(nodes);
  if (opts.json) return printJson(nodes.map((j) => (waiting.has(j.id) ? { ...j, waiting: waiting.get(j.id) } : j)));
  for (const info of nodes) {
    process.stdout.write(opts.summary ? `${summaryLine(info, waiting.get(info.id))}\n` : `${formatRecord(info, waiting.get(info.id))}\n`);
  }
}

function summaryLine(info: NodeInfo, waiting: string | undefined): string {
  return info.type === 'group' ? `group: ${info.name}\tid: ${info.id}` : formatSummary(info, waiting);
}

function parseStatus(text: string): JobStatus {
  const found = STATUSES.find((s) => s.toLowerCase() === text.toLowerCase());
  if (!found) throw new UsageError(`--status must be one of ${STATUSES.join(', ')}, got "${text}"`);
  return found;
}

import type { Command } from 'commander';
import { formatDuration, parseDuration } from '../../environ/index.js';
import { cliConfig, serverOptions, withSluice, type RemoteFlags } from '../service.js';
import { printJson } from '../io.js';

export function register(program: Command): void {
  serverOptions(program.command('prune'))
    .description('remove ended jobs past their retention (SLUICE_RETENTION, or the job\'s --keep), their units, empty groups and old events')
    .option('--older-than <duration>', 'remove jobs that ended longer ago than this (a plain number is days; 12h, 7d; 0 = every ended job)')
    .option('--dry-run', 'count what would go, remove nothing')
    .option('--json', 'print JSON')
    .action(async (opts: RemoteFlags & { olderThan?: string; dryRun?: boolean; json?: boolean }) => {
      const olderThanMs = opts.olderThan === undefined ? undefined : parseDuration(opts.olderThan, '--older-than', 'd');
      await withSluice(opts, async (service) => {
        const report = await service.prune({ ...(olderThanMs === undefined ? {} : { olderThanMs }), ...(opts.dryRun ? { dryRun: true } : {}) });
        if (opts.json) return printJson(report);
        const windowMs = olderThanMs ?? cliConfig().retentionMs;
        const which = windowMs === 0 ? 'ended job(s)' : `job(s) that ended over ${formatDuration(windowMs)} ago`;
        process.stdout.write(
          opts.dryRun
            ? `would remove ${report.jobs} ${which} and ${report.events} event(s)\n`
            : `removed ${report.jobs} ${which}, ${report.groups} empty group(s) and ${report.events} event(s); events through ${report.through} are gone\n`,
        );
      }, { write: !opts.dryRun });
    });
}

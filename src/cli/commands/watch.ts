import type { Command } from 'commander';
import { UsageError } from '../../environ/index.js';
import { serverOptions, withSluice, type RemoteFlags } from '../service.js';
import { printJsonLine } from '../io.js';

export function register(program: Command): void {
  serverOptions(program.command('watch'))
    .description('print the current state of matching jobs, then every change, one JSON line each (times in UTC ISO-8601)')
    .option('--since <seq>', 'skip the current state; replay the changes after this sequence number, then follow')
    .option('--user <name>', 'only this owner')
    .option('--job <id>', 'only this job')
    .option('--tag <tag>', 'only jobs with this tag')
    .action(async (opts: RemoteFlags & { since?: string; user?: string; job?: string; tag?: string }) => {
      let since: number | undefined;
      if (opts.since !== undefined) {
        since = Number(opts.since);
        if (!Number.isInteger(since) || since < 0) throw new UsageError(`--since must be a sequence number, got "${opts.since}"`);
      }
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
      // A closed pipe (watch ... | head) ends the watch quietly.
      process.stdout.on('error', onSignal);
      await withSluice(opts, async (service) => {
        const filter = { ...(opts.user ? { owner: opts.user } : {}), ...(opts.job ? { job: opts.job } : {}), ...(opts.tag ? { tag: opts.tag } : {}) };
        for await (const item of service.stream(filter, { ...(since === undefined ? {} : { since }), signal: stop.signal })) {
          printJsonLine(item);
        }
      });
    });
}

import type { Command } from 'commander';
import { UsageError } from '../../environ/index.js';
import { poolName } from '../../store/index.js';
import { serverOptions, withSluice, type RemoteFlags } from '../service.js';
import { printJson } from '../io.js';

const collect = (value: string, previous: string[]) => [...previous, value];

export function register(program: Command): void {
  serverOptions(program.command('fairshare'))
    .description("each active owner's share, decayed usage, fair-share factor, running and queued units")
    .option('--share <owner=share>', "set an owner's share (default 1; repeatable)", collect, [])
    .option('--pool <name>', 'only this worker pool (default: every pool with queued or running units, each apart)')
    .option('--json', 'print JSON')
    .action(async (opts: RemoteFlags & { share: string[]; pool?: string; json?: boolean }) => {
      await withSluice(opts, async (service) => {
        for (const text of opts.share) {
          const [owner, value] = text.split('=');
          const share = Number(value);
          if (!owner || value === undefined || !(share > 0)) throw new UsageError(`--share expects owner=number above 0, got "${text}"`);
          await service.setShare(owner, share);
        }
        const rows = await service.fairshare(opts.pool === undefined ? undefined : poolName(opts.pool));
        if (opts.json) return printJson(rows);
        if (!rows.length) return void process.stdout.write('no owner has queued or running units\n');
        // The rank column only where some account has one (sioworkersd's contest_priority).
        const ranked = rows.some((r) => r.rank);
        const header = ['pool', 'owner', 'share', 'usage (s)', 'factor', 'running', 'queued', ...(ranked ? ['rank'] : [])];
        const lines = rows.map((r) => [r.pool, r.owner, String(r.share), r.usage.toFixed(1), r.factor.toFixed(3), String(r.running), String(r.queued), ...(ranked ? [String(r.rank)] : [])]);
        const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
        for (const line of [header, ...lines]) process.stdout.write(`${line.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}\n`);
      }, { write: opts.share.length > 0 });
    });
}

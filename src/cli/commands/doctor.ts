import type { Command } from 'commander';
import { capabilities, helperServer, type Capabilities } from '../../sandbox/index.js';
import { printJson } from '../io.js';

const TIERS: Record<Capabilities['tier'], string> = {
  A: 'isolation (namespaces, seccomp) with cgroup limits',
  B: 'isolation (namespaces, seccomp) with rlimit and polling limits, no usable cgroups',
  C: 'no isolation possible: only unsafe-exec (trusted code) can run',
  D: 'nothing can run: the helper is not built or does not work',
};

/** `sluice doctor [--json]`: what this machine supports for running programs, and which executors that allows. */
export function register(program: Command): void {
  program
    .command('doctor')
    .description('probe what this machine supports for sandboxed runs (namespaces, cgroups, seccomp, run disks) and which executors are available')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const caps = await capabilities();
      helperServer.close();
      if (opts.json) return printJson(caps);
      const mark = (ok: boolean) => (ok ? 'ok ' : 'NO ');
      const rows: Array<[string, boolean, string]> = [
        ['helper', caps.helper.ok, caps.helper.detail],
        ['namespaces', caps.namespaces.ok, caps.namespaces.detail],
        ['seccomp', caps.seccomp.ok, caps.seccomp.detail],
        ['cgroups', caps.cgroups.ok, caps.cgroups.detail],
        ['uid', caps.uid.ok, caps.uid.detail],
        ['disk', caps.disk.ok, caps.disk.detail],
      ];
      const out: string[] = [`tier ${caps.tier}: ${TIERS[caps.tier]}`, ''];
      for (const [name, ok, detail] of rows) out.push(`  ${mark(ok)} ${name.padEnd(16)} ${detail}`);
      out.push('', 'executors:');
      for (const [name, check] of Object.entries(caps.executors)) {
        const note = name === 'cpu-exec' ? ' (runs alone on its worker)' : '';
        out.push(`  ${mark(check.ok)} ${name.padEnd(16)} ${check.ok ? `available${note}: ` : 'unavailable: '}${check.detail}`);
      }
      out.push('', `probed in ${caps.probeMs.toFixed(0)} ms`);
      process.stdout.write(`${out.join('\n')}\n`);
    });
}

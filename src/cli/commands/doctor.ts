import { spawnSync } from 'node:child_process';
import type { Command } from 'commander';
import { capabilities, configureSandbox, helperServer, languages, type Capabilities } from '../../sandbox/index.js';
import { printJson } from '../io.js';
import { cliConfig, withService } from '../service.js';

const TIERS: Record<Capabilities['tier'], string> = {
  A: 'isolation (namespaces, seccomp) with cgroup limits',
  B: 'isolation (namespaces, seccomp) with rlimit and polling limits, no usable cgroups',
  C: 'no isolation possible: only unsafe-exec (trusted code) can run',
  D: 'nothing can run: the helper is not built or does not work',
};

/** The first line a tool prints about its version (`-version` for the JVM's tools, `-iW` for fpc's compiler). */
function version(tool: string): string {
  const flag = /\/(javac|java)$/.test(tool) ? '-version' : /\/ppc\w+$/.test(tool) ? '-iW' : '--version';
  const out = spawnSync(tool, [flag], { encoding: 'utf8', timeout: 10_000 });
  return `${out.stdout ?? ''}${out.stderr ?? ''}`.split('\n').find((l) => l.trim())?.trim() ?? '';
}

/** `sluice doctor [--json]`: what this machine supports for running programs, which executors that allows, and which languages are installed. */
export function register(program: Command): void {
  program
    .command('doctor')
    .description('probe what this machine supports for sandboxed runs (namespaces, cgroups, seccomp, run disks) and which executors are available')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      configureSandbox(cliConfig().sandbox);
      const caps = await capabilities();
      helperServer.close();
      const langs = languages().map((l) => (l.ok ? { ...l, version: version(l.detail) } : l));
      const store = await storeCheck();
      if (opts.json) return printJson({ ...caps, store, languages: langs });
      const mark = (ok: boolean) => (ok ? 'ok ' : 'NO ');
      const rows: Array<[string, boolean, string]> = [
        ['helper', caps.helper.ok, caps.helper.detail],
        ['namespaces', caps.namespaces.ok, caps.namespaces.detail],
        ['seccomp', caps.seccomp.ok, caps.seccomp.detail],
        ['cgroups', caps.cgroups.ok, caps.cgroups.detail],
        ['uid', caps.uid.ok, caps.uid.detail],
        ['disk', caps.disk.ok, caps.disk.detail],
        ['instructions', caps.instructions.ok, `${caps.instructions.detail}${caps.instructions.ok ? '' : ': sio2jail-exec measures CPU time'}`],
      ];
      const out: string[] = [`store: ${store.ok ? store.detail : `NOT REACHABLE: ${store.detail}`}`, '', `tier ${caps.tier}: ${TIERS[caps.tier]}`, ''];
      for (const [name, ok, detail] of rows) out.push(`  ${mark(ok)} ${name.padEnd(16)} ${detail}`);
      out.push('', 'executors:');
      for (const [name, check] of Object.entries(caps.executors)) {
        const note = name === 'cpu-exec' ? ' (runs alone on its worker)' : '';
        out.push(`  ${mark(check.ok)} ${name.padEnd(16)} ${check.ok ? `available${note}: ` : 'unavailable: '}${check.detail}`);
      }
      out.push('', 'languages:');
      for (const l of langs) out.push(`  ${mark(l.ok)} ${l.title.padEnd(18)} ${l.ok ? `${l.detail}${'version' in l && l.version ? ` (${l.version})` : ''}` : l.detail}`);
      out.push('', `probed in ${caps.probeMs.toFixed(0)} ms`);
      process.stdout.write(`${out.join('\n')}\n`);
    });
}

/** The store this machine's commands use (SLUICE_STORE or SLUICE_HOME): what it is, or why it cannot be reached. */
async function storeCheck(): Promise<{ ok: boolean; detail: string }> {
  try {
    return await withService(async (service) => ({ ok: true, detail: service.store.description }));
  } catch (err) {
    return { ok: false, detail: (err as Error).message };
  }
}

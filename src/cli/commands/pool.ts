import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { builtFile, formatDuration, parseDuration, UsageError, type Config } from '../../environ/index.js';
import { listPools, parseWalltime, slurmScript, stopPool, submitPool, type PoolRow, type PoolSpec } from '../../pool/index.js';
import { parseRam } from '../../schedule/index.js';
import { cliConfig, serverOptions, type RemoteFlags } from '../service.js';
import { formatDate } from '../format.js';
import { printJson } from '../io.js';

interface SlurmOptions extends RemoteFlags {
  nodes: string;
  time: string;
  cpusPerNode?: string;
  mem?: string;
  partition?: string;
  account?: string;
  owner?: string;
  idleExit: string;
  stopBefore: string;
  grace: string;
  script?: string;
  submit?: boolean;
  json?: boolean;
}

/** Settings that are secrets: never written into a script (sbatch passes them on from the environment it runs in). */
const SECRET = new Set(['SLUICE_TOKEN', 'SLUICE_FILES_TOKEN']);

export function register(program: Command): void {
  const pool = program.command('pool').description('private worker pools inside batch-queue allocations (Slurm)');
  serverOptions(pool.command('slurm'))
    .description('write (and with --submit run) an sbatch script that starts `sluice worker` on every allocated node')
    .requiredOption('--nodes <n>', 'nodes to allocate, one worker each')
    .requiredOption('--time <walltime>', 'the allocation\'s walltime: 2h, 90m, 1-12:00:00, or minutes as in sbatch')
    .option('--cpus-per-node <c>', 'CPUs per node, the concurrency of its worker (default: whole nodes)')
    .option('--mem <size>', 'memory per node (4G, 512M), offered by its worker to units')
    .option('--partition <p>', 'the Slurm partition')
    .option('--account <a>', 'the Slurm account charged')
    .option('--owner <name>', "a private pool: its workers take only this owner's units (default: anyone's)")
    .option('--idle-exit <duration>', 'workers stop after this long with nothing to run (0: never)', '10m')
    .option('--stop-before <duration>', 'workers begin to stop this long before the allocation ends', '1m')
    .option('--grace <seconds>', "how long a stopping worker lets units finish before giving them back", '10')
    .option('--script <file>', 'write the script to this file (default: standard output, or nowhere with --submit)')
    .option('--submit', 'submit it with sbatch now; prints the pool\'s Slurm job id')
    .option('--json', 'print JSON: {"id": ID or null, "script": TEXT}')
    .action(async (opts: SlurmOptions) => {
      const config = cliConfig();
      const url = opts.url ?? config.url;
      if (!url && opts.token) throw new UsageError('--token goes with --url (or SLUICE_URL): it names no server by itself');
      const spec = poolSpec(opts, config, url);
      const script = slurmScript(spec);
      if (opts.script) writeFileSync(opts.script, script, { mode: 0o700 });
      if (url && opts.token && !opts.submit) {
        process.stderr.write('sluice: note: the token is not written into the script: run sbatch with SLUICE_TOKEN set to it\n');
      }
      if (!url && config.store.kind === 'sqlite') {
        process.stderr.write(
          `sluice: note: the pool's workers use the SQLite file ${config.store.file}, which every node must reach on a disk with working locks; ` +
            'a cluster uses SLUICE_STORE=postgres://… or a server URL (docs/pools.md)\n',
        );
      }
      const id = opts.submit ? await submitPool(script, opts.token ? { SLUICE_TOKEN: opts.token } : {}) : null;
      if (opts.json) return printJson({ id, script });
      if (id) process.stdout.write(process.stdout.isTTY ? `Submitted pool ${id} (its Slurm job id; sluice pool ls, sluice pool stop ${id})\n` : `${id}\n`);
      else if (!opts.script) process.stdout.write(script);
    });

  pool
    .command('ls')
    .description('the pools Slurm knows of (squeue): id, state, nodes, owner, start and end of the allocation')
    .option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }) => {
      const pools = await listPools();
      if (opts.json) return printJson(pools.map((p) => ({ ...p, ends_at: p.ends_at === null ? null : new Date(p.ends_at).toISOString() })));
      for (const p of pools) process.stdout.write(`${poolLine(p)}\n`);
    });

  pool
    .command('stop <id>')
    .description('cancel a pool (scancel): its workers give their running units back and exit')
    .action(async (id: string) => {
      if (!/^\d+$/.test(id)) throw new UsageError(`a pool id is its Slurm job id (a number), got "${id}"`);
      const stopped = await stopPool(id);
      process.stdout.write(`pool ${stopped.id} is stopping: its workers give their running units back and exit\n`);
    });
}

function poolSpec(opts: SlurmOptions, config: Config, url: string | undefined): PoolSpec {
  const timeMs = parseWalltime(opts.time);
  const idleExitMs = parseDuration(opts.idleExit, '--idle-exit');
  const stopBeforeMs = parseDuration(opts.stopBefore, '--stop-before');
  const graceMs = count(opts.grace, '--grace', 0) * 1000;
  if (stopBeforeMs <= graceMs) {
    throw new UsageError(`--stop-before (${formatDuration(stopBeforeMs)}) must be longer than --grace (${formatDuration(graceMs)}): a stopping worker needs its grace to finish or give back its units before the walltime`);
  }
  if (stopBeforeMs >= timeMs) throw new UsageError(`--stop-before (${formatDuration(stopBeforeMs)}) must be shorter than --time (${formatDuration(timeMs)})`);
  for (const [name, value] of [['--partition', opts.partition], ['--account', opts.account]] as const) {
    if (value !== undefined && !/^[\w.,:+-]+$/.test(value)) throw new UsageError(`${name} must be a Slurm name (letters, digits, . _ - , : +), got "${value}"`);
  }
  if (opts.owner === '') throw new UsageError('--owner needs a name');
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('SLUICE_') && !SECRET.has(name) && value !== undefined && value !== '') env[name] = value;
  }
  // Explicit, so that every node works for this server, or opens this store whatever its SLUICE_HOME would say.
  if (url) {
    env.SLUICE_URL = url;
    delete env.SLUICE_STORE;
  } else {
    env.SLUICE_STORE = config.store.kind === 'sqlite' ? config.store.file : config.store.url;
  }
  return {
    nodes: count(opts.nodes, '--nodes', 1),
    timeMs,
    ...(opts.cpusPerNode === undefined ? {} : { cpusPerNode: count(opts.cpusPerNode, '--cpus-per-node', 1) }),
    ...(opts.mem === undefined ? {} : { memMb: Math.max(1, parseRam(opts.mem)) }),
    ...(opts.partition ? { partition: opts.partition } : {}),
    ...(opts.account ? { account: opts.account } : {}),
    ...(opts.owner ? { owner: opts.owner } : {}),
    idleExitMs,
    stopBeforeMs,
    graceMs,
    sluice: [process.execPath, builtFile('cli/main.js')],
    env,
    now: Date.now(),
  };
}

function count(text: string, option: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${option} must be a whole number of at least ${min}, got "${text}"`);
  return n;
}

function poolLine(p: PoolRow): string {
  return [
    `id: ${p.id}`,
    `state: ${p.state}${p.reason ? ` (${p.reason})` : ''}`,
    `nodes: ${p.nodes}${p.nodelist ? ` (${p.nodelist})` : ''}`,
    `owner: ${p.owner ?? 'anyone'}`,
    `user: ${p.user}`,
    `partition: ${p.partition}`,
    `started: ${formatDate(p.started_at)}`,
    `ends: ${formatDate(p.ends_at)}`,
  ].join('\t');
}

import type { Command } from 'commander';
import { formatDuration, formatLocalTime, parseDuration, UsageError, type Config } from '../../environ/index.js';
import { watchLifetime } from '../../worker/index.js';
import { configuredMailer, startPruning } from '../../service/index.js';
import { poolName } from '../../store/index.js';
import { parseRam } from '../../schedule/index.js';
import type { Root } from '../../server/index.js';
import { cliConfig, localRoot, serverOptions, type RemoteFlags } from '../service.js';
import { parseTime } from '../time.js';

export function register(program: Command): void {
  serverOptions(program.command('worker'))
    .description('claim and run jobs until stopped (SIGINT/SIGTERM: finish running units within the grace period, then give them back); with --url, for a server (an admin\'s token)')
    .option('--concurrency <n>', 'units run at once (default: number of cores)')
    .option('--lease <seconds>', 'how long a claim lasts without a heartbeat (default 15, or SLUICE_LEASE_MS)')
    .option('--grace <seconds>', 'on stop, how long running units may take to finish (default 10)')
    .option('--ram <size>', "RAM this worker offers to units (8G, 512M; default: the machine's memory)")
    .option('--exclusive', 'may run exclusive units (cpu-exec), each alone on this worker')
    .option('--owner <name>', "take only this owner's units (a private pool)")
    .option('--idle-exit <duration>', 'stop gracefully after this long with no unit running (30s, 10m)')
    .option('--stop-at <time>', "stop gracefully at this time (ISO 8601 or HH:MM): a batch allocation's end less a margin")
    .option('--pool <name>', 'a worker pool it serves (repeatable; default: default); it takes units of these pools only', (v: string, all: string[]) => [...all, v], [] as string[])
    .option('--label <key=value>', 'shown in the first log line, e.g. slurm_job=123 (repeatable)', (v: string, all: string[]) => [...all, v], [] as string[])
    .action(async (opts: RemoteFlags & { concurrency?: string; lease?: string; grace?: string; ram?: string; exclusive?: boolean; owner?: string; idleExit?: string; stopAt?: string; label: string[]; pool: string[] }) => {
      const config = cliConfig();
      const concurrency = opts.concurrency === undefined ? undefined : positive(opts.concurrency, '--concurrency', true);
      const leaseMs = opts.lease === undefined ? config.leaseMs : positive(opts.lease, '--lease') * 1000;
      const graceMs = positive(opts.grace ?? '10', '--grace', false, true) * 1000;
      const idleExitMs = opts.idleExit === undefined ? 0 : parseDuration(opts.idleExit, '--idle-exit');
      const stopAt = opts.stopAt === undefined ? undefined : parseTime(opts.stopAt, '--stop-at');
      if (opts.owner === '') throw new UsageError('--owner needs a name');
      for (const label of opts.label) if (!/^[\w.-]+=/.test(label)) throw new UsageError(`--label must be KEY=VALUE, got "${label}"`);
      const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
      const url = opts.url ?? config.url;
      const token = opts.token ?? config.token;
      if (!url && opts.token) throw new UsageError('--token goes with --url (or SLUICE_URL): it names no server by itself');
      const root = localRoot({ write: true, log, ...(url ? { server: { url, token } } : {}) });
      const started = root.worker({
        log,
        leaseMs,
        ...(concurrency === undefined ? {} : { concurrency }),
        ...(opts.ram ? { ramMb: parseRam(opts.ram) } : {}),
        ...(opts.exclusive ? { exclusive: true } : {}),
        ...(opts.owner ? { owner: opts.owner } : {}),
        ...(opts.pool.length ? { pools: opts.pool.map((p) => poolName(p)) } : {}),
        labels: Object.fromEntries(opts.label.map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])),
      });
      // Listen for the signals before the start is announced: a SIGTERM right after it stops us gracefully.
      let stopping = false;
      let signalled = false;
      let release: () => void = () => {};
      const stopped = new Promise<void>((resolve) => (release = resolve));
      const stop = (why: string) => {
        stopping = true;
        void started.then((worker) => {
          log(`worker ${worker.id}: ${why}: stopping (grace ${graceMs / 1000}s)`);
          return root.close({ graceMs });
        }).then(release, (err) => {
          log(`worker: stop failed: ${(err as Error).message}`);
          release();
        });
      };
      const onSignal = (signal: string) => {
        // Only a second signal exits at once: the one Slurm sends at a walltime while we stop by ourselves must not cut the give-back short.
        if (signalled) {
          log(`worker: second ${signal}, exiting now`);
          process.exit(130);
        }
        signalled = true;
        if (stopping) log(`worker: ${signal}: already stopping`);
        else stop(signal);
      };
      process.on('SIGINT', () => onSignal('SIGINT'));
      process.on('SIGTERM', () => onSignal('SIGTERM'));
      const worker = await started;
      const unwatch = watchLifetime(worker, { idleExitMs, ...(stopAt === undefined ? {} : { stopAt }) }, (reason) => {
        if (!stopping) stop(reason);
      });
      // The pid to signal is this process's, not that of a wrapper such as npx or npm (they do not pass signals on).
      log(
        `worker ${worker.id}: started (pid ${process.pid}: stop with kill -TERM ${process.pid}; concurrency ${worker.concurrency}, ` +
          `${worker.ramMb} MiB${opts.exclusive ? ', exclusive work' : ''}, lease ${worker.leaseMs / 1000}s` +
          `${opts.owner ? `, only ${opts.owner}'s units` : ''}${idleExitMs ? `, idle exit ${formatDuration(idleExitMs)}` : ''}` +
          `${stopAt === undefined ? '' : `, stops at ${formatLocalTime(stopAt)}`}${url ? `, for the server ${url}` : ''}${opts.label.length ? `; ${opts.label.join(' ')}` : ''})`,
      );
      root.own(unwatch);
      // A server prunes and sends mail itself; a worker beside the store does it for the store.
      if (!url) await besideTheStore(root, config, (line) => log(`worker ${worker.id}: ${line}`));
      await stopped;
    });
}

/** Pruning and mail, which run beside the claim loop of a worker that has the store, never in it. */
async function besideTheStore(root: Root, config: Config, log: (line: string) => void): Promise<void> {
  const store = await root.store();
  const pruning = startPruning(store, log, config.pruneEveryMs);
  root.own(() => pruning.stop());
  const mailer = configuredMailer(store, config, log);
  if (mailer) {
    mailer.start();
    root.own(() => mailer.stop());
  }
}

function positive(text: string, option: string, integer = false, zeroOk = false): number {
  const n = Number(text);
  if (!Number.isFinite(n) || (zeroOk ? n < 0 : n <= 0) || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${option} must be a ${integer ? 'whole ' : ''}number${zeroOk ? '' : ' above 0'}, got "${text}"`);
  }
  return n;
}

import type { Command } from 'commander';
import { UsageError } from '../../environ/index.js';
import { Worker } from '../../worker/index.js';
import { openConfiguredStore, startPruning } from '../../service/index.js';
import { builtinRegistry, jsPool } from '../../jobs/index.js';
import { DEFAULT_POLICY, parseRam } from '../../schedule/index.js';
import { closeTrackers, fileAccessFor } from '../../files/index.js';
import { cliConfig } from '../service.js';

export function register(program: Command): void {
  program
    .command('worker')
    .description('claim and run jobs until stopped (SIGINT/SIGTERM: finish running units within the grace period, then give them back)')
    .option('--concurrency <n>', 'units run at once (default: number of cores)')
    .option('--lease <seconds>', 'how long a claim lasts without a heartbeat (default 15, or SLUICE_LEASE_MS)')
    .option('--grace <seconds>', 'on stop, how long running units may take to finish (default 10)')
    .option('--ram <size>', "RAM this worker offers to units (8G, 512M; default: the machine's memory)")
    .option('--exclusive', 'may run exclusive units (cpu-exec), each alone on this worker')
    .action(async (opts: { concurrency?: string; lease?: string; grace?: string; ram?: string; exclusive?: boolean }) => {
      const config = cliConfig();
      const concurrency = opts.concurrency === undefined ? undefined : positive(opts.concurrency, '--concurrency', true);
      const leaseMs = opts.lease === undefined ? config.leaseMs : positive(opts.lease, '--lease') * 1000;
      const graceMs = positive(opts.grace ?? '10', '--grace', false, true) * 1000;
      const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
      const store = await openConfiguredStore(config, { create: true, onCreate: (file) => log(`created a new database ${file}`) });
      const worker = new Worker({
        store,
        registry: builtinRegistry(),
        files: fileAccessFor,
        log,
        leaseMs,
        policy: { ...DEFAULT_POLICY, halfLifeMs: config.halfLifeMs },
        ...(concurrency === undefined ? {} : { concurrency }),
        ...(opts.ram ? { ramMb: parseRam(opts.ram) } : {}),
        ...(opts.exclusive ? { exclusive: true } : {}),
      });
      jsPool.keepIdle(worker.concurrency);
      const started = worker.start();
      // Listen for the signals before the start is announced: a SIGTERM right after it stops us gracefully.
      let stopping = false;
      let release: () => void = () => {};
      const stopped = new Promise<void>((resolve) => (release = resolve));
      const onSignal = (signal: string) => {
        if (stopping) {
          log(`worker ${worker.id}: second ${signal}, exiting now`);
          process.exit(130);
        }
        stopping = true;
        log(`worker ${worker.id}: ${signal}: stopping (grace ${graceMs / 1000}s)`);
        void started.then(() => worker.stop(graceMs)).then(release, (err) => {
          log(`worker ${worker.id}: stop failed: ${(err as Error).message}`);
          release();
        });
      };
      process.on('SIGINT', () => onSignal('SIGINT'));
      process.on('SIGTERM', () => onSignal('SIGTERM'));
      await started;
      // The pid to signal is this process's, not that of a wrapper such as npx or npm (they do not pass signals on).
      log(
        `worker ${worker.id}: started (pid ${process.pid}: stop with kill -TERM ${process.pid}; concurrency ${worker.concurrency}, ` +
          `${worker.ramMb} MiB${opts.exclusive ? ', exclusive work' : ''}, lease ${worker.leaseMs / 1000}s)`,
      );
      const pruning = startPruning(store, (line) => log(`worker ${worker.id}: ${line}`), config.pruneEveryMs);
      await stopped;
      pruning.stop();
      jsPool.close();
      closeTrackers();
      await store.close();
    });
}

function positive(text: string, option: string, integer = false, zeroOk = false): number {
  const n = Number(text);
  if (!Number.isFinite(n) || (zeroOk ? n < 0 : n <= 0) || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${option} must be a ${integer ? 'whole ' : ''}number${zeroOk ? '' : ' above 0'}, got "${text}"`);
  }
  return n;
}

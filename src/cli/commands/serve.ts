import type { Command } from 'commander';
import { SETTINGS, UsageError } from '../../environ/index.js';
import { DEFAULT_WORKERS, serve } from '../../server/serve.js';
import { localRoot } from '../service.js';

/** How long running units of the embedded worker may take to finish when the server stops. */
const GRACE_MS = 10_000;

export function register(program: Command): void {
  program
    .command('serve')
    .description("serve the HTTP API, live streams (SSE, moi's WebSocket), /metrics and the file store, with an embedded worker, until SIGINT/SIGTERM")
    .option('--host <host>', 'address to listen on (loopback unless told otherwise)', '127.0.0.1')
    .option('--port <port>', 'TCP port (0: any free port)', '7890')
    .option('--workers <n>', `the embedded worker's concurrency (default: the number of CPUs, ${DEFAULT_WORKERS})`)
    .option('--no-workers', 'no embedded worker (workers run as sluice worker elsewhere)')
    .option('--no-auth', 'no tokens: anyone who reaches the server acts as this machine\'s user (loopback only)')
    .option('--sioworkersd-port <port>', "also serve sioworkersd's XML-RPC for oioioi on this port (its default is 7889; 0: any free port; docs/sio2.md)")
    .option('--log', 'log every request (JSON lines on stderr)')
    .addHelpText('after', `\nSettings (environment variables):\n${SETTINGS.map((s) => `  ${s.env.padEnd(26)} ${s.meaning} (default: ${s.default})`).join('\n')}\n`)
    .action(async (opts: { host: string; port: string; workers?: string | boolean; auth: boolean; log?: boolean; sioworkersdPort?: string }) => {
      const port = portNumber('--port', opts.port);
      const sioworkersdPort = opts.sioworkersdPort === undefined ? undefined : portNumber('--sioworkersd-port', opts.sioworkersdPort);
      const workers = workerCount(opts.workers);
      const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);
      const root = localRoot({ write: true, log });
      let server;
      try {
        server = await serve(root, { host: opts.host, port, workers, noAuth: !opts.auth, log, ...(opts.log ? { logRequests: true } : {}), ...(sioworkersdPort === undefined ? {} : { sioworkersdPort }) });
      } catch (err) {
        await root.close();
        throw err;
      }
      // Listen for the signals before the line is printed: a SIGTERM right after it stops us gracefully.
      let stopping = false;
      const stopped = new Promise<void>((resolve) => {
        const onSignal = (signal: string) => {
          if (stopping) {
            log(`serve: second ${signal}, exiting now`);
            process.exit(130);
          }
          stopping = true;
          log(`serve: ${signal}: stopping (streams end, running units get ${GRACE_MS / 1000}s, then go back to the queue)`);
          void server.close(GRACE_MS).then(resolve, (err) => {
            log(`serve: stop failed: ${(err as Error).message}`);
            resolve();
          });
        };
        process.on('SIGINT', () => onSignal('SIGINT'));
        process.on('SIGTERM', () => onSignal('SIGTERM'));
      });
      if (!opts.auth) log('serve: --no-auth: anyone who can reach this address acts as this machine\'s user, an admin (loopback only)');
      log(`serve: pid ${process.pid} (stop with kill -TERM ${process.pid}); ${workers ? `embedded worker, concurrency ${workers}` : 'no embedded worker'}; store ${root.config.store.kind === 'sqlite' ? root.config.store.file : 'postgres'}`);
      if (server.sioworkersdUrl) log(`serve: sioworkersd's XML-RPC at ${server.sioworkersdUrl} (oioioi's SIOWORKERSD_URL; with tokens: http://NAME:TOKEN@${server.sioworkersdUrl.slice('http://'.length)})`);
      process.stdout.write(`Sluice is serving at ${server.openUrl}\n`);
      await stopped;
      log('serve: stopped');
    });
}

function workerCount(given: string | boolean | undefined): number {
  if (given === false) return 0;
  if (given === undefined || given === true) return DEFAULT_WORKERS;
  const n = Number(given);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--workers must be a whole number (0 or --no-workers: none), got "${given}"`);
  return n;
}

function portNumber(flag: string, text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535) throw new UsageError(`${flag} must be a port number (0 to 65535), got "${text}"`);
  return port;
}

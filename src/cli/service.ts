import type { Command } from 'commander';
import { readConfig, UsageError, type Config } from '../environ/index.js';
import { connect, LocalService, type Service } from '../service/index.js';
import { Root } from '../server/index.js';

let config: Config | undefined;

/** The CLI process's configuration, read once from its environment (environ/config.ts). */
export function cliConfig(): Config {
  return (config ??= readConfig(process.env));
}

/** `--url` and `--token` as every command that talks to a service takes them. */
export interface RemoteFlags {
  url?: string;
  token?: string;
}

/** Adds `--url` and `--token` (a Sluice server instead of this machine's store). */
export function serverOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', 'a Sluice server (sluice serve) to talk to instead of the store (default: SLUICE_URL)')
    .option('--token <token>', 'the token for --url (default: SLUICE_TOKEN)');
}

const onCreate = (file: string) => process.stderr.write(`sluice: created a new database ${file}\n`);

/** This process's composition root, for a command that runs things here (worker, batch, serve). */
export function localRoot(options: { write?: boolean; log?: (line: string) => void; server?: { url: string; token?: string | undefined } } = {}): Root {
  return new Root(cliConfig(), { create: options.write ?? false, onCreate, ...(options.log ? { log: options.log } : {}), ...(options.server ? { server: options.server } : {}) });
}

/**
 * Runs one command against the service it names: a server (`--url`, SLUICE_URL) over HTTP, else
 * the store on this machine, which a command that writes may create (and says so); one that reads
 * may not. Whatever happens, it is closed afterwards.
 */
export async function withSluice<T>(flags: RemoteFlags, fn: (service: Service) => Promise<T>, options: { write?: boolean } = {}): Promise<T> {
  const url = flags.url ?? cliConfig().url;
  const token = flags.token ?? cliConfig().token;
  if (!url) {
    if (flags.token) throw new UsageError('--token goes with --url (or SLUICE_URL): it names no server by itself');
    return withService(fn, options);
  }
  const service = connect(url, { token });
  try {
    return await fn(service);
  } finally {
    await service.close();
  }
}

/** Runs one command against this machine's store (commands that only make sense here: doctor, submit's in-process run). */
export async function withService<T>(fn: (service: LocalService) => Promise<T>, options: { write?: boolean } = {}): Promise<T> {
  const root = localRoot(options);
  try {
    return await fn(await root.service());
  } finally {
    await root.close();
  }
}

/** Whether a command's service is this machine's (it can then run a job here). */
export function isLocal(service: Service): service is LocalService {
  return service instanceof LocalService;
}

import { readConfig, type Config } from '../environ/index.js';
import { openService, type LocalService } from '../service/index.js';

let config: Config | undefined;

/** The CLI process's configuration, read once from its environment (environ/config.ts). */
export function cliConfig(): Config {
  return (config ??= readConfig(process.env));
}

/**
 * Opens the service for one command and closes it afterwards, whatever happens. A command that
 * writes may create a database that SLUICE_STORE names (and says so); one that reads may not.
 */
export async function withService<T>(fn: (service: LocalService) => Promise<T>, options: { write?: boolean } = {}): Promise<T> {
  const service = await openService(cliConfig(), {
    create: options.write ?? false,
    onCreate: (file) => process.stderr.write(`sluice: created a new database ${file}\n`),
  });
  try {
    return await fn(service);
  } finally {
    await service.close();
  }
}

import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { StoreLocation } from '../environ/index.js';
import { SluiceError, UsageError } from '../environ/index.js';
import type { Store, StoreOptions } from './types.js';
import { SqliteStore } from './sqlite/store.js';
import { PostgresStore } from './postgres/store.js';

export interface OpenStoreOptions extends Partial<StoreOptions> {
  /**
   * May a database named explicitly (SLUICE_STORE) be created when it does not exist? Commands that
   * write say yes; commands that only read say no, so a mistyped path is an error, never "no jobs".
   */
  create?: boolean;
  /** told when a new database file named by SLUICE_STORE was created */
  onCreate?: (file: string) => void;
}

/** Opens the store at `location` (environ/config.ts `storeLocation` reads SLUICE_STORE). */
export async function openStore(location: StoreLocation, options: OpenStoreOptions = {}): Promise<Store> {
  const { create = false, onCreate, ...storeOptions } = options;
  if (location.kind === 'postgres') return PostgresStore.open(location.url, storeOptions);
  const file = location.file;
  const folder = path.dirname(file);
  if (!location.explicit) {
    // The default home is made silently, as a first-time user expects.
    try {
      mkdirSync(folder, { recursive: true });
    } catch (err) {
      throw new SluiceError(`cannot create the folder ${folder} for the database (SLUICE_HOME): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    return new SqliteStore(file, storeOptions);
  }
  if (!existsSync(file)) {
    if (!create) throw new UsageError(`SLUICE_STORE names ${file}, which does not exist; check the path (commands that write, such as submit or worker, create it)`);
    if (!existsSync(folder)) throw new UsageError(`SLUICE_STORE names ${file}, but its folder ${folder} does not exist`);
    const store = new SqliteStore(file, storeOptions);
    onCreate?.(file);
    return store;
  }
  return new SqliteStore(file, storeOptions);
}

import path from 'node:path';
import type { Store } from './types.js';
import { SqliteStore } from './sqlite/store.js';
import { UsageError, sluiceHome } from '../environ/index.js';

/**
 * Opens the store named by SLUICE_STORE: unset → SQLite in SLUICE_HOME; a file path or
 * sqlite:PATH → that SQLite file; postgres://… → PostgreSQL (a later issue).
 */
export async function openStore(env: NodeJS.ProcessEnv = process.env): Promise<Store> {
  const url = env.SLUICE_STORE;
  if (!url) return new SqliteStore(path.join(sluiceHome(env), 'sluice.db'));
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    throw new UsageError('SLUICE_STORE names PostgreSQL, which this version does not support yet; unset it to use the embedded SQLite store');
  }
  const file = url.startsWith('sqlite:') ? url.slice('sqlite:'.length) : url;
  if (!file) throw new UsageError('SLUICE_STORE=sqlite: needs a file path');
  return new SqliteStore(path.resolve(file));
}

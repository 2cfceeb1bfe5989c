import path from 'node:path';
import { inject } from 'vitest';
import { PostgresStore, SqliteStore, type Store } from '../../src/store/index.js';
import { freshHome } from './cli.js';
import { freshSchema } from './postgres.js';

/**
 * The stores every store-using test runs against: the embedded SQLite file in a fresh SLUICE_HOME,
 * and PostgreSQL (the run's cluster, test/helpers/pg-global.ts) in a fresh schema. A test's CLI
 * processes and the test itself reach the same store through `env`.
 */
export interface Backend {
  name: 'sqlite' | 'postgres';
  fresh(): { home: string; env: NodeJS.ProcessEnv; cleanup: () => void; open: () => Promise<Store> };
}

export const SQLITE: Backend = {
  name: 'sqlite',
  fresh() {
    const h = freshHome();
    return { ...h, open: async () => new SqliteStore(path.join(h.home, 'sluice.db')) };
  },
};

export const POSTGRES: Backend = {
  name: 'postgres',
  fresh() {
    const h = freshHome();
    const url = `${inject('pgUrl')}?schema=${freshSchema()}`;
    return { ...h, env: { ...h.env, SLUICE_STORE: url }, open: () => PostgresStore.open(url) };
  },
};

export const BACKENDS: Backend[] = [SQLITE, POSTGRES];

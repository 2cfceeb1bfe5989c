import type pgType from 'pg';

let loaded: typeof pgType | undefined;

/**
 * node-postgres, loaded when the first PostgreSQL store opens: every CLI command imports the store,
 * and on SQLite it would pay ~25 ms of start-up for it (a worker's start counts in bench/core.mjs).
 */
export async function loadPg(): Promise<typeof pgType> {
  return (loaded ??= (await import('pg')).default);
}

/** The module loaded by `loadPg` (only used once a store has opened). */
export function pgModule(): typeof pgType {
  if (!loaded) throw new Error('node-postgres used before a PostgreSQL store opened');
  return loaded;
}

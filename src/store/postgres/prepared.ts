import type pg from 'pg';
import { SQL } from './statements.js';

/**
 * The statements of a claim cycle, prepared once per connection (named) instead of parsed and
 * planned at every execution: planning took about as long as running them (0.3-0.6 ms each, ten a
 * cycle). Only statements whose answer names its columns: a prepared `SELECT *` would fail once a
 * migration in another process added a column.
 */
const HOT = ['queueState', 'claimFromQueue', 'claimHeads', 'startJobs', 'queueDelta', 'appendEvents', 'finishUnits', 'jobTallies', 'updateJobs', 'writeUsage'] as const;
const NAMES = new Map<string, string>(HOT.map((k) => [SQL[k], `sluice_${k}`]));

/** `c.query(text, values)`, the hot statements by name. */
export function query<R extends pg.QueryResultRow = Record<string, unknown>>(c: pg.Pool | pg.PoolClient, text: string, values: unknown[] = []): Promise<pg.QueryResult<R>> {
  const name = NAMES.get(text);
  return name ? c.query<R>({ name, text, values }) : c.query<R>(text, values);
}

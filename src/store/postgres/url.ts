import type pg from 'pg';
import { parse } from 'pg-connection-string';

/**
 * A PostgreSQL URL as libpq reads it (`postgres://user:pass@host:port/db?sslmode=…`, with PGHOST,
 * PGUSER, PGPASSWORD, … filling what it leaves out, as node-postgres does), plus Sluice's own
 * `schema=NAME` parameter: the schema for Sluice's tables (default public).
 */
export function connectionOptions(url: string): { config: pg.ClientConfig; schema: string | undefined; where: string } {
  const parsed = parse(url) as Record<string, unknown> & { schema?: string };
  const { schema, ...rest } = parsed;
  const config = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== null && v !== undefined && v !== '')) as pg.ClientConfig;
  if (typeof config.port === 'string') config.port = Number(config.port);
  const host = (config.host as string | undefined) ?? process.env.PGHOST ?? 'localhost';
  const port = config.port ?? (process.env.PGPORT ? Number(process.env.PGPORT) : 5432);
  const database = (config.database as string | undefined) ?? process.env.PGDATABASE ?? (config.user as string | undefined) ?? process.env.PGUSER ?? '';
  return { config, schema: schema || undefined, where: `${host}:${port}/${database}` };
}

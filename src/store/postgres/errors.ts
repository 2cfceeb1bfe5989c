import { StoreError } from '../errors.js';

/** PostgreSQL's and the network's errors in words, with the server they concern; other errors pass through. */
export function explainPgError(err: unknown, where: string): unknown {
  if (err instanceof StoreError) return err;
  const e = err as { code?: string; message?: string };
  const code = e?.code;
  const message = e?.message ?? String(err);
  const said = (text: string, c = code ?? 'PG') => new StoreError(`${text} (${c})`, c);
  if (code === 'ECONNREFUSED') return said(`cannot reach the PostgreSQL server ${where}: nothing listens there`);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return said(`cannot reach the PostgreSQL server ${where}: no such host`);
  if (code === 'ETIMEDOUT') return said(`the PostgreSQL server ${where} did not answer in time`);
  if (code === '28P01' || code === '28000') return said(`the PostgreSQL server ${where} refused the login: ${message}`);
  if (code === '3D000') return said(`the PostgreSQL server ${where} has no such database: ${message}`);
  if (code === '57P01' || code === '57P02' || code === '57P03') return said(`the PostgreSQL server ${where} is shutting down or starting up`);
  if (code?.startsWith('08') || /Connection terminated|ECONNRESET/.test(message)) return said(`lost the connection to the PostgreSQL server ${where}`, code ?? 'ECONNRESET');
  if (code === '53100') return said(`the disk of the PostgreSQL server ${where} is full`);
  if (code === '40P01') return said(`a deadlock with another worker; the transaction is retried`);
  return err;
}

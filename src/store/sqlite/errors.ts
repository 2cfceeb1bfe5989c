import { StoreError } from '../errors.js';

/** SQLite's error codes in words, with the database file they concern; other errors pass through. */
export function explainSqliteError(err: unknown, file: string): unknown {
  const code = (err as { code?: unknown })?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return err;
  const said = (text: string) => new StoreError(`${text} (${code})`, code);
  if (code === 'SQLITE_FULL') return said(`the disk holding the database ${file} is full; free some space there`);
  if (code.startsWith('SQLITE_READONLY')) return said(`the database ${file} cannot be written; check the permissions of the file and its folder`);
  if (code.startsWith('SQLITE_CANTOPEN')) return said(`cannot open the database ${file}; check that its folder exists and may be written`);
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) return said(`the database ${file} stayed locked by another process`);
  if (code.startsWith('SQLITE_IOERR')) return said(`the disk failed reading or writing the database ${file}`);
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') return said(`${file} is not a Sluice database, or it is damaged`);
  return said(`the database ${file} answered: ${(err as Error).message}`);
}

import { EXIT, SluiceError } from '../environ/index.js';
import { readFileSync } from 'node:fs';

/** Reads a file, or standard input for "-", with a clear error naming the file. */
export function readInput(file: string, what: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new SluiceError(`cannot read ${what} "${file}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, EXIT.USAGE);
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Turns any error into one line on stderr and the documented exit code (docs/cli.md). */
export function fail(err: unknown): never {
  if (err instanceof SluiceError) {
    process.stderr.write(`sluice: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  const e = err as Error;
  process.stderr.write(`sluice: internal error: ${e?.message ?? String(err)}\n`);
  if (process.env.SLUICE_DEBUG) process.stderr.write(`${e?.stack}\n`);
  process.exit(EXIT.INTERNAL);
}

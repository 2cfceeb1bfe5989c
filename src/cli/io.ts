import { EXIT, SluiceError } from '../environ/index.js';
import { readFileSync } from 'node:fs';
import { toWire } from '../service/index.js';
import { cliConfig } from './service.js';

/** Reads a file, or standard input for "-", with a clear error naming the file. */
export function readInput(file: string, what: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new SluiceError(`cannot read ${what} "${file}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, EXIT.USAGE);
  }
}

/** Prints JSON for programs: times as UTC ISO-8601 (service/wire.ts). */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(toWire(value), null, 2)}\n`);
}

/** One JSON line (watch): times as UTC ISO-8601. */
export function printJsonLine(value: unknown): void {
  process.stdout.write(`${JSON.stringify(toWire(value))}\n`);
}

/**
 * A closed stdout (`sluice jobs | head -1`) ends the command quietly, as other tools do: exit 0
 * instead of an EPIPE stack.
 */
export function quietOnClosedPipe(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

/** Turns any error into one line on stderr and the documented exit code (docs/cli.md). */
export function fail(err: unknown): never {
  if (err instanceof SluiceError) {
    process.stderr.write(`sluice: ${printable(err.message, 2000)}\n`);
    process.exit(err.exitCode);
  }
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'EPIPE') process.exit(0);
  process.stderr.write(`sluice: internal error: ${printable(e?.message ?? String(err))}\n`);
  if (debugging()) process.stderr.write(`${e?.stack}\n`);
  process.exit(EXIT.INTERNAL);
}

/** Text safe for a terminal: control and invalid bytes escaped, one line, at most `max` characters. */
export function printable(text: string, max = 300): string {
  // eslint-disable-next-line no-control-regex
  const escaped = text.replace(/[\u0000-\u001f\u007f-\u009f\ufffd]/g, (c) => (c === '\n' ? ' ' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  return escaped.length > max ? `${escaped.slice(0, max)}...` : escaped;
}

/** SLUICE_DEBUG, when the configuration could be read at all (a mistyped setting is itself the error being reported). */
function debugging(): boolean {
  try {
    return cliConfig().debug;
  } catch {
    return false;
  }
}

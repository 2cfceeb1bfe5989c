import type { Environ } from './types.js';
import { UsageError } from './errors.js';

/** Parses environ text; anything but a JSON object is refused with a reason that names where it came from. */
export function parseEnviron(text: string, source = 'environ'): Environ {
  let value: unknown;
  try {
    // A byte order mark (editors on some systems write one) is not part of the JSON.
    value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw new UsageError(`${source} is not valid JSON: ${(err as Error).message}`);
  }
  // sio-batch quirk: a JSON string that itself holds the object (Jenkins double-encodes).
  if (typeof value === 'string') return parseEnviron(value, source);
  return assertEnviron(value, source);
}

/** Checks that a value can be an environ: a plain object that survives JSON. */
export function assertEnviron(value: unknown, source = 'environ'): Environ {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const what = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    throw new UsageError(`${source} must be a JSON object, got ${what}`);
  }
  return value as Environ;
}

/** Parses `key=value` the way `--set` does: the value as JSON when it parses, else as a string. */
export function parseAssignment(text: string): [string, unknown] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new UsageError(`--set expects key=value, got "${text}"`);
  const key = text.slice(0, eq);
  const raw = text.slice(eq + 1);
  try {
    return [key, JSON.parse(raw)];
  } catch {
    return [key, raw];
  }
}

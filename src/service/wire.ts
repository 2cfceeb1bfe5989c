/**
 * JSON as Sluice prints and serves it: times are UTC ISO-8601 strings (INTERFACE.md), not the ms
 * numbers kept inside. The user's own data (environ, output, result, input) is passed untouched.
 */
const TIME_KEYS: ReadonlySet<string> = new Set(['date_created', 'date_start', 'date_end', 'run_after', 'started_at', 'ended_at', 'at', 'heartbeat_at', 'created_at', 'next_at', 'done_at']);
const OPAQUE_KEYS: ReadonlySet<string> = new Set(['environ', 'output', 'result', 'input']);

export function toWire<T>(value: T): unknown {
  if (Array.isArray(value)) return value.map(toWire);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (TIME_KEYS.has(key) && typeof v === 'number') out[key] = new Date(v).toISOString();
    else if (OPAQUE_KEYS.has(key)) out[key] = v;
    else out[key] = toWire(v);
  }
  return out;
}

/** The inverse of `toWire` for the fields it converts (a remote client reads what a server sent). */
export function fromWire<T>(value: unknown): T {
  if (Array.isArray(value)) return value.map((v) => fromWire(v)) as T;
  if (value === null || typeof value !== 'object') return value as T;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (TIME_KEYS.has(key) && typeof v === 'string') out[key] = Date.parse(v);
    else if (OPAQUE_KEYS.has(key)) out[key] = v;
    else out[key] = fromWire(v);
  }
  return out as T;
}

import type { Environ } from './types.js';
import { BOOKKEEPING_KEYS } from './types.js';

/**
 * The `result` shown in a job's record: the job's `value` when it set one (a js job's return value),
 * otherwise the keys the job added or changed (ping's `pong`, system's streams, exec's verdict).
 */
export function resultOf(input: Environ, output: Environ): unknown {
  if ('value' in output) return output.value;
  const changed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(output)) {
    if (BOOKKEEPING_KEYS.has(key)) continue;
    if (key in input && (input[key] === value || JSON.stringify(input[key]) === JSON.stringify(value))) continue;
    changed[key] = value;
  }
  return changed;
}

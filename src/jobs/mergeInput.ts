import type { Environ } from '../environ/index.js';
import { UsageError } from '../environ/index.js';

/**
 * The `merge_input` prefilter: a map unit's input object is laid over its environ, so that one map
 * job can run the same program on many tests (`--inputs` lines such as {"in_file": …, "hint_file": …}
 * with `exec`, which reads those keys from the environ itself).
 */
export function mergeInput(environ: Environ): Environ {
  const input = environ.input;
  if (input === undefined) return environ;
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new UsageError('merge_input needs each input to be a JSON object of environ keys');
  return { ...environ, ...(input as Record<string, unknown>) };
}

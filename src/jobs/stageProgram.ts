import type { Environ } from '../environ/index.js';
import { UsageError } from '../environ/index.js';
import type { RunDir, Staging } from '../sandbox/index.js';

function extraFiles(value: unknown): Array<[string, string]> {
  if (value === undefined || value === null) return [];
  if (typeof value !== 'object' || Array.isArray(value)) throw new UsageError('extra_execution_files must be an object {name: file}');
  return Object.entries(value as Record<string, unknown>).map(([name, file]) => {
    if (typeof file !== 'string') throw new UsageError(`extra_execution_files.${name} must name a file`);
    return [name, file];
  });
}

/**
 * Puts a program into its run's box under `file` (exe, Main.jar...), with the environ's
 * `extra_execution_files` beside it: the exec family's, ingen's and inwer's programs alike.
 */
export async function stageProgram(staging: Staging, run: RunDir, environ: Environ, file: string, key = 'exe_file'): Promise<void> {
  await Promise.all([
    staging.fetch(key, run.boxFile(file), 0o755),
    ...extraFiles(environ.extra_execution_files).map(([name, from]) => staging.fetchName(from, run.boxFile(name))),
  ]);
}

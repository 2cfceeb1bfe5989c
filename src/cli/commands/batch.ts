import type { Command } from 'commander';
import { parseEnviron, run, UsageError } from '../../environ/index.js';
import { cliConfig, localRoot } from '../service.js';

/**
 * `sluice batch [JOB_TYPE]`, exactly as sio-batch: the environ is JSON in the environment variable
 * `environ`; `prefilters`/`postfilters` (space-separated) are appended; the result is one JSON line
 * between the BEGIN and END markers.
 */
export function register(program: Command): void {
  program
    .command('batch')
    .argument('[job_type]', 'overrides the environ\'s job_type')
    .description('run one environ from the environment variable "environ" and print it back (sio-batch)')
    .action(async (jobType?: string) => {
      const text = process.env.environ;
      if (text === undefined) throw new UsageError('batch reads its environ from the environment variable "environ", which is not set');
      const environ = parseEnviron(text, 'the environment variable "environ"');
      if (jobType) environ.job_type = jobType;
      for (const key of ['prefilters', 'postfilters'] as const) {
        const extra = (process.env[key] ?? '').split(/\s+/).filter(Boolean);
        if (extra.length) environ[key] = [...(Array.isArray(environ[key]) ? environ[key] : []), ...extra];
      }
      const root = localRoot();
      const out = await run(environ, { registry: root.registry, files: root.files.access, tmpdir: cliConfig().tmpdir }).finally(() => root.close());
      process.stdout.write(`--- BEGIN ENVIRON ---\n${JSON.stringify(out)}\n--- END ENVIRON ---\n`);
      // As sio-batch: once the environ is printed the command succeeded, whatever the job's result.
    });
}

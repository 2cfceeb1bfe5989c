import type { Environ, JobContext, JobFn, Report } from '../environ/index.js';
import { UsageError } from '../environ/index.js';
import type { JsPool } from './jsPool.js';

/**
 * `js`: the text in `cmd` is the body of `async function (environ, ctx)`; what it returns is the
 * job's value (environ `value`). It runs in a pooled child process, so an endless loop or a crash
 * cannot take the worker down and an abort can kill it; a child serves one owner only.
 */
export function jsJob(pool: JsPool): JobFn {
  return async (environ: Environ, ctx: JobContext) => {
    const code = environ.cmd;
    if (typeof code !== 'string') throw new UsageError('js job needs "cmd" (the body of an async function)');
    const report = (r: Report) => (r.kind === 'progress' ? ctx.progress(r.done, r.total, r.message) : ctx.status(r.text));
    const { value, environ: out } = await pool.run(code, environ, ctx.tmpdir, ctx.signal, report, ctx.identity?.owner ?? null, ctx.inbox);
    out.value = value ?? null;
    return out;
  };
}

import { z } from 'zod';
import { TooLargeError, UsageError, type Environ } from '../environ/index.js';
import { emailAddress } from '../store/index.js';
import type { SubmitRequest } from './types.js';

function isEmailAddress(text: string): boolean {
  try {
    emailAddress(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * A job as the HTTP API carries it (docs/api.md): snake_case JSON, times as ISO-8601. The remote
 * client writes it (`jobBody`) and the server reads it (`submitRequests`), so both sides agree by
 * construction. Unknown fields are refused: a misspelt option must not be dropped silently.
 */
const job = z
  .object({
    environ: z.record(z.string(), z.unknown()),
    owner: z.string().min(1).max(100).optional(),
    account: z.string().min(1).max(100).optional(),
    name: z.string().max(1000).optional(),
    group: z.string().min(1).max(1000).optional(),
    tags: z.array(z.string().max(200)).max(100).optional(),
    priority: z.number().int().optional(),
    class: z.enum(['nice', 'normal', 'urgent']).optional(),
    inputs: z.array(z.unknown()).min(1).optional(),
    fail_fast: z.boolean().optional(),
    retries: z.number().int().min(0).max(100).optional(),
    run_after: z.iso.datetime({ offset: true }).optional(),
    ram_mb: z.number().min(0).optional(),
    keep_ms: z.number().min(0).optional(),
    max_lost: z.number().int().min(1).optional(),
    pool: z.string().min(1).max(100).optional(),
    callback_url: z
      .string()
      .max(2000)
      .refine((u) => /^https?:\/\/[^\s/]+/.test(u) && URL.canParse(u), 'must be an http:// or https:// URL')
      .optional(),
    after: z.array(z.string().min(1).max(100)).max(1000).optional(),
    after_any: z.boolean().optional(),
    notify: z
      .object({
        address: z.string().max(320).refine((a) => isEmailAddress(a), 'not an e-mail address'),
        now: z.boolean().optional(),
        on: z.enum(['always', 'failure']).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type JobBody = z.input<typeof job>;

/** The body of one job, as a client sends it. */
export function jobBody(r: SubmitRequest): JobBody {
  const body: JobBody = { environ: r.environ };
  if (r.owner !== undefined) body.owner = r.owner;
  if (r.account !== undefined) body.account = r.account;
  if (r.name !== undefined) body.name = r.name;
  if (r.group !== undefined) body.group = r.group;
  if (r.tags !== undefined) body.tags = r.tags;
  if (r.priority !== undefined) body.priority = r.priority;
  if (r.class !== undefined) body.class = r.class;
  if (r.inputs !== undefined) body.inputs = r.inputs;
  if (r.failFast !== undefined) body.fail_fast = r.failFast;
  if (r.retries !== undefined) body.retries = r.retries;
  if (r.runAfter !== undefined) body.run_after = new Date(r.runAfter).toISOString();
  if (r.ramMb !== undefined) body.ram_mb = r.ramMb;
  if (r.keepMs !== undefined) body.keep_ms = r.keepMs;
  if (r.maxLost !== undefined) body.max_lost = r.maxLost;
  if (r.pool !== undefined) body.pool = r.pool;
  if (r.callbackUrl !== undefined) body.callback_url = r.callbackUrl;
  if (r.after !== undefined) body.after = r.after;
  if (r.afterAny !== undefined) body.after_any = r.afterAny;
  if (r.notify !== undefined) body.notify = { address: r.notify.address, now: Boolean(r.notify.now), on: r.notify.onlyFailures ? 'failure' : 'always' };
  return body;
}

/**
 * The jobs of a `POST /api/v1/jobs` body: one job (an object with `environ`) or many
 * (`{"jobs": [...]}`). Too many jobs, or a map job with too many inputs, is TooLargeError (413);
 * anything else wrong is a UsageError (400) naming the field.
 */
export function submitRequests(body: unknown, maxBatch: number): { requests: SubmitRequest[]; bulk: boolean } {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new UsageError('the body must be a JSON object: a job ({"environ": {...}}) or {"jobs": [...]}');
  const bulk = 'jobs' in body;
  let items: unknown[];
  if (bulk) {
    const jobs = (body as { jobs: unknown }).jobs;
    if (Object.keys(body).length !== 1) throw new UsageError('a bulk submission is {"jobs": [...]} with nothing beside it');
    if (!Array.isArray(jobs) || jobs.length === 0) throw new UsageError('"jobs" must be a non-empty list of jobs');
    if (jobs.length > maxBatch) throw new TooLargeError(`at most ${maxBatch} jobs per request (SLUICE_MAX_BATCH), got ${jobs.length}`);
    items = jobs;
  } else {
    items = [body];
  }
  const requests = items.map((item, i) => {
    const where = bulk ? `jobs[${i}]` : '';
    const inputs = (item as { inputs?: unknown } | null)?.inputs;
    if (Array.isArray(inputs) && inputs.length > maxBatch) throw new TooLargeError(`${where ? `${where}: ` : ''}a map job has at most ${maxBatch} inputs (SLUICE_MAX_BATCH), got ${inputs.length}`);
    const parsed = job.safeParse(item);
    if (!parsed.success) throw new UsageError(describe(parsed.error, where));
    return requestOf(parsed.data);
  });
  return { requests, bulk };
}

function requestOf(b: z.output<typeof job>): SubmitRequest {
  return {
    environ: b.environ as Environ,
    ...(b.owner === undefined ? {} : { owner: b.owner }),
    ...(b.account === undefined ? {} : { account: b.account }),
    ...(b.name === undefined ? {} : { name: b.name }),
    ...(b.group === undefined ? {} : { group: b.group }),
    ...(b.tags === undefined ? {} : { tags: b.tags }),
    ...(b.priority === undefined ? {} : { priority: b.priority }),
    ...(b.class === undefined ? {} : { class: b.class }),
    ...(b.inputs === undefined ? {} : { inputs: b.inputs }),
    ...(b.fail_fast === undefined ? {} : { failFast: b.fail_fast }),
    ...(b.retries === undefined ? {} : { retries: b.retries }),
    ...(b.run_after === undefined ? {} : { runAfter: Date.parse(b.run_after) }),
    ...(b.ram_mb === undefined ? {} : { ramMb: b.ram_mb }),
    ...(b.keep_ms === undefined ? {} : { keepMs: b.keep_ms }),
    ...(b.max_lost === undefined ? {} : { maxLost: b.max_lost }),
    ...(b.pool === undefined ? {} : { pool: b.pool }),
    ...(b.callback_url === undefined ? {} : { callbackUrl: b.callback_url }),
    ...(b.after === undefined ? {} : { after: b.after }),
    ...(b.after_any === undefined ? {} : { afterAny: b.after_any }),
    ...(b.notify === undefined ? {} : { notify: { address: b.notify.address, now: b.notify.now ?? false, onlyFailures: b.notify.on === 'failure' } }),
  };
}

/** The first problem, in one line: where, and what. */
function describe(error: z.ZodError, where: string): string {
  const issue = error.issues[0]!;
  const path = [where, ...issue.path.map(String)].filter(Boolean).join('.');
  if (issue.code === 'unrecognized_keys') return `${path ? `${path}: ` : ''}unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === 'invalid_type' && /received undefined$/.test(issue.message)) return `${path}: required`;
  return `${path || 'body'}: ${issue.message.replace(/^Invalid input: /, '')}`;
}

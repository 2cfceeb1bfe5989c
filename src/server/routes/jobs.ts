import type { FastifyInstance, FastifyRequest } from 'fastify';
import { NotFoundError, TimeoutError, UnavailableError, UsageError } from '../../environ/index.js';
import type { JobFilter, JobStatus } from '../../store/index.js';
import { decodeCursor, encodeCursor, submitRequests, toWire, type Service } from '../../service/index.js';
import { Query } from '../query.js';

const STATUSES: JobStatus[] = ['Queued', 'Waiting', 'Running', 'Success', 'Failed', 'Aborted'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A page of a listing: this many by default, at most MAX_PAGE. */
const PAGE = 100;
const MAX_PAGE = 1000;
/** A long poll lasts this long unless asked otherwise, and never longer than MAX_WAIT_S. */
const WAIT_S = 30;
const MAX_WAIT_S = 300;

type Id = { Params: { id: string } };

/** The jobs of the API (docs/api.md): submit, list, get, wait, abort, control, units, events, groups. */
export function jobRoutes(app: FastifyInstance, options: { maxBatch: number; stopping: AbortSignal }): void {
  app.post('/jobs', async (request, reply) => {
    const { requests, bulk } = submitRequests(request.body, options.maxBatch);
    const ids = await request.sluice.submit(requests);
    return reply.code(201).send(bulk ? { ids } : { id: ids[0] });
  });

  app.get('/jobs', async (request) => {
    const q = new Query(request.query as Record<string, unknown>);
    const limit = q.number('limit', 1, MAX_PAGE, true) ?? PAGE;
    const cursor = q.text('cursor');
    const newestFirst = q.oneOf('order', ['oldest', 'newest'] as const) === 'newest';
    const filter = await listFilter(request.sluice, q);
    // Read before the listing: a client that follows the stream from `seq` misses no change of what it lists.
    const seq = await request.sluice.inner.lastSeq();
    const nodes = await request.sluice.list({ ...filter, ...(cursor ? { after: decodeCursor(cursor) } : {}), ...(newestFirst ? { newestFirst } : {}), limit: limit + 1 });
    const page = nodes.slice(0, limit);
    const last = page[page.length - 1];
    return { jobs: toWire(page), next: nodes.length > limit && last ? encodeCursor({ date: last.date_created, id: last.id }) : null, seq };
  });

  app.get<Id>('/jobs/:id', async (request) => {
    const record = await request.sluice.get(request.params.id);
    const waiting = (await request.sluice.waitReasons([record])).get(record.id);
    return toWire(waiting ? { ...record, waiting } : record);
  });

  app.get<Id>('/jobs/:id/wait', async (request, reply) => {
    const q = new Query(request.query as Record<string, unknown>);
    const seconds = q.number('timeout', 0, MAX_WAIT_S) ?? WAIT_S;
    // The wait ends with the request: a client that goes away leaves no waiter behind.
    const gone = new AbortController();
    reply.raw.once('close', () => gone.abort());
    try {
      return toWire(await request.sluice.wait(request.params.id, { timeoutMs: seconds * 1000, signal: AbortSignal.any([gone.signal, options.stopping]) }));
    } catch (err) {
      if (options.stopping.aborted) throw new UnavailableError('the server is stopping; ask again (another server, or this one once it is back)');
      if (gone.signal.aborted && !(err instanceof TimeoutError)) throw new TimeoutError('the client went away');
      throw err;
    }
  });

  app.post<Id>('/jobs/:id/abort', async (request) => toWire(await request.sluice.abort(request.params.id)));

  app.post<Id>('/jobs/:id/control', async (request) => {
    if (request.body === undefined) throw new UsageError('a control message is the JSON body (Content-Type: application/json)');
    return request.sluice.control(request.params.id, request.body);
  });

  app.get<Id>('/jobs/:id/units', async (request) => ({ units: toWire(await request.sluice.units(request.params.id)) }));

  app.get<Id>('/jobs/:id/events', async (request) => ({ events: toWire(await request.sluice.events(request.params.id)) }));

  app.get('/groups', async (request) => {
    const path = new Query(request.query as Record<string, unknown>).text('path');
    if (!path) throw new UsageError('path: required (a group path such as alice/analysis-7)');
    return toWire(await request.sluice.group(path));
  });

  app.post('/waiting', async (request: FastifyRequest) => {
    const ids = (request.body as { ids?: unknown } | undefined)?.ids;
    if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string') || ids.length > MAX_PAGE) throw new UsageError(`ids: a list of at most ${MAX_PAGE} job ids`);
    const infos = await Promise.all(ids.map((id) => request.sluice.get(id as string).catch((err) => (err instanceof NotFoundError ? null : Promise.reject(err)))));
    const reasons = await request.sluice.waitReasons(infos.filter((i) => i !== null));
    return { waiting: Object.fromEntries(reasons) };
  });
}

/** A listing's filter from its query (docs/api.md); `group` is a path or an id, `type` the job type, `kind` job|group|any. */
async function listFilter(service: Service, q: Query): Promise<JobFilter> {
  const filter: JobFilter = {};
  const owner = q.text('owner', 100);
  const status = q.oneOf('status', STATUSES);
  const tag = q.text('tag', 200);
  const kind = q.oneOf('kind', ['job', 'group', 'any'] as const);
  const jobType = q.text('type', 100);
  const text = q.text('q', 200);
  const after = q.time('created_after');
  const before = q.time('created_before');
  const group = q.text('group');
  const recursive = q.bool('recursive');
  if (owner !== undefined) filter.owner = owner;
  if (status !== undefined) filter.status = status;
  if (tag !== undefined) filter.tag = tag;
  if (kind !== undefined) filter.type = kind;
  if (jobType !== undefined) filter.jobType = jobType;
  if (text !== undefined && text !== '') filter.text = text;
  if (after !== undefined) filter.createdAfter = after;
  if (before !== undefined) filter.createdBefore = before;
  if (recursive && group === undefined) throw new UsageError('recursive goes with group');
  if (group !== undefined) {
    const node = UUID.test(group) ? await service.get(group) : await service.group(group);
    if (node.type !== 'group') throw new UsageError(`group: ${group} is a job, not a group`);
    if (recursive) filter.under = node.id;
    else filter.parent = node.id;
    filter.type ??= 'any';
  }
  return filter;
}

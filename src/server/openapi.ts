/**
 * The OpenAPI 3.1 document served at /openapi.json: every route of /api/v1 (a test checks that
 * each route the server registers is here, and nothing else), its parameters and its answers.
 * docs/api.md is the prose beside it.
 */
type Schema = Record<string, unknown>;

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
const query = (name: string, description: string, schema: Schema = { type: 'string' }) => ({ name, in: 'query', description, schema });
const idParam = { name: 'id', in: 'path', required: true, description: 'a job id (a group id where said)', schema: { type: 'string' } };
const nameParam = { name: 'name', in: 'path', required: true, schema: { type: 'string' } };
const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), { $ref: `#/components/responses/E${c}` }]));
const body = (schema: Schema) => ({ required: true, content: { 'application/json': { schema } } });
const op = (summary: string, rest: Schema) => ({ summary, ...rest });

const ERROR_TEXT: Record<number, string> = {
  400: 'bad input: the message names the field',
  401: 'no valid credentials',
  403: 'the role does not allow it',
  404: 'no such job or group (or not yours)',
  408: 'the wait timed out',
  409: 'the job has ended',
  413: 'too large (body, batch, inputs)',
  415: 'the body is not JSON',
  429: 'over a limit (wrong tokens, open streams); see Retry-After',
};

const STATUS = { type: 'string', enum: ['Queued', 'Waiting', 'Running', 'Success', 'Failed', 'Aborted'] };
const TIME = { type: 'string', format: 'date-time', description: 'UTC ISO-8601' };
const LIST_PARAMS = [
  query('owner', 'only this owner (yours unless you are an admin)'),
  query('status', 'only this status', STATUS),
  query('tag', 'only jobs with this tag'),
  query('group', "a group's children: its path (alice/analysis-7) or id"),
  query('recursive', 'with group: everything below it', { type: 'boolean' }),
  query('kind', 'job (default), group or any', { type: 'string', enum: ['job', 'group', 'any'] }),
  query('type', 'only this job type'),
  query('q', 'text in the name, tags or environ (case-insensitive)'),
  query('created_after', 'made at or after this time', TIME),
  query('created_before', 'made before this time', TIME),
  query('limit', 'nodes per page, 1-1000 (default 100)', { type: 'integer' }),
  query('cursor', '"next" of the previous page'),
  query('order', 'oldest first (default) or newest first; a cursor continues in the order it was given in', { type: 'string', enum: ['oldest', 'newest'] }),
];

export const OPENAPI = {
  openapi: '3.1.0',
  info: { title: 'Sluice', version: '0.1.0', description: 'Long computations for many users, fairly and safely. See docs/api.md.' },
  servers: [{ url: '/api/v1' }],
  security: [{ bearer: [] }, { session: [] }],
  paths: {
    '/jobs': {
      post: op('Submit one job, or many ({"jobs": [...]}); a map job has inputs', {
        requestBody: body({ oneOf: [ref('Job'), { type: 'object', required: ['jobs'], properties: { jobs: { type: 'array', items: ref('Job') } }, additionalProperties: false }] }),
        responses: { 201: json({ oneOf: [{ type: 'object', properties: { id: { type: 'string' } } }, { type: 'object', properties: { ids: { type: 'array', items: { type: 'string' } } } }] }, 'Submitted'), ...errors(400, 401, 403, 413, 415) },
      }),
      get: op('List jobs (and groups) by date, in pages', {
        parameters: LIST_PARAMS,
        responses: {
          200: json({ type: 'object', properties: { jobs: { type: 'array', items: ref('Info') }, next: { type: ['string', 'null'] }, seq: { type: 'integer', description: 'the event log\'s sequence number read before the listing: follow /events?since=seq to miss no change of it' } } }),
          ...errors(400, 401, 403, 404),
        },
      }),
    },
    '/jobs/{id}': { get: op('A job\'s record (or a group\'s info), with "waiting" for a queued job', { parameters: [idParam], responses: { 200: json(ref('Record')), ...errors(401, 404) } }) },
    '/jobs/{id}/wait': {
      get: op('Long poll: the record once the job has ended', {
        parameters: [idParam, query('timeout', 'seconds, 0-300 (default 30)', { type: 'number' })],
        responses: { 200: json(ref('Record')), ...errors(400, 401, 404, 408) },
      }),
    },
    '/jobs/{id}/abort': { post: op('Abort a job (an ended job is answered as it is)', { parameters: [idParam], responses: { 200: json(ref('Record')), ...errors(401, 403, 404) } }) },
    '/jobs/{id}/control': {
      post: op('A control message (the JSON body) to a queued or running job', {
        parameters: [idParam],
        requestBody: body({ description: 'any JSON value' }),
        responses: { 200: json({ type: 'object', properties: { seq: { type: 'integer' } } }), ...errors(400, 401, 403, 404, 409, 415) },
      }),
    },
    '/jobs/{id}/units': { get: op("A job's units", { parameters: [idParam], responses: { 200: json({ type: 'object', properties: { units: { type: 'array', items: { type: 'object' } } } }), ...errors(401, 404) } }) },
    '/jobs/{id}/events': { get: op("A job's events, oldest first", { parameters: [idParam], responses: { 200: json({ type: 'object', properties: { events: { type: 'array', items: ref('Event') } } }), ...errors(401, 404) } }) },
    '/groups': { get: op('A group by its path', { parameters: [query('path', 'alice/analysis-7')], responses: { 200: json(ref('Info')), ...errors(400, 401, 404) } }) },
    '/waiting': {
      post: op('Why each queued job waits', {
        requestBody: body({ type: 'object', properties: { ids: { type: 'array', items: { type: 'string' } } } }),
        responses: { 200: json({ type: 'object', properties: { waiting: { type: 'object', additionalProperties: { type: 'string' } } } }), ...errors(400, 401) },
      }),
    },
    '/events': {
      get: op('The resumable event stream (SSE): current state, then every change; Last-Event-ID resumes', {
        parameters: [
          { name: 'Last-Event-ID', in: 'header', description: 'resume after this sequence number (wins over since)', schema: { type: 'string' } },
          query('since', 'resume after this sequence number', { type: 'integer' }),
          query('owner', 'only this owner'),
          query('job', 'only this job'),
          query('tag', 'only this tag'),
          query('status', 'only this status', STATUS),
          query('kind', 'job, group or any', { type: 'string', enum: ['job', 'group', 'any'] }),
          query('prune', 'resync: after a pruning, resync and send the current state again', { type: 'string', enum: ['resync', 'skip'] }),
        ],
        responses: { 200: { description: 'text/event-stream: events get, sync, add, update, resync', content: { 'text/event-stream': { schema: ref('StreamItem') } } }, ...errors(400, 401, 403, 404, 429) },
      }),
    },
    '/me': { get: op('Who you are signed in as', { responses: { 200: json(ref('Principal')), ...errors(401) } }) },
    '/owners': { get: op('Owners with their root group and job count (sluice users)', { responses: { 200: json({ type: 'object', properties: { owners: { type: 'array', items: { type: 'object' } } } }), ...errors(401) } }) },
    '/workers': {
      get: op('Live workers (sluice workers), and those lost (no heartbeat within the lease) in the last hour', {
        responses: { 200: json({ type: 'object', properties: { workers: { type: 'array', items: ref('Worker') }, lost: { type: 'array', items: ref('Worker') } } }), ...errors(401) },
      }),
    },
    '/stats': {
      get: op("The dashboard's charts: jobs started and finished per class in 10 s slots over the last hour (the store's counts), queue depth per class and decayed usage per owner every 5 s (sampled by this server since it started; the 10 most used owners; your own usage unless you are an admin)", {
        responses: { 200: json({ type: 'object', properties: { now: TIME, since: TIME, tracking_since: TIME, step_ms: { type: 'integer' }, started: { type: 'object' }, finished: { type: 'object' }, queued: { type: 'object' }, usage: { type: 'object' } } }), ...errors(401) },
      }),
    },
    '/fairshare': { get: op('The fair-share table per worker pool (yours unless you are an admin)', { parameters: [query('pool', 'only this pool')], responses: { 200: json({ type: 'object', properties: { owners: { type: 'array', items: ref('Fairshare') } } }), ...errors(401) } }) },
    '/fairshare/{name}': {
      put: op("Set an owner's share (admin)", {
        parameters: [nameParam],
        requestBody: body({ type: 'object', required: ['share'], properties: { share: { type: 'number', exclusiveMinimum: 0 } } }),
        responses: { 200: json({ type: 'object' }), ...errors(400, 401, 403) },
      }),
    },
    '/worker/{name}': {
      post: op("The worker protocol (admin): one store call of a worker on another machine (sluice worker --url); NAME is one of WORKER_CALLS or waitForChange, a long poll", {
        parameters: [nameParam],
        requestBody: body({ type: 'object', properties: { args: { type: 'array', description: "the call's arguments, in order" } } }),
        responses: { 200: json({ type: 'object', properties: { result: { description: "the call's answer (null for none)" } } }), ...errors(400, 401, 403, 404) },
      }),
    },
    '/prune': {
      post: op('Remove ended jobs past their retention (admin)', {
        requestBody: body({ type: 'object', properties: { older_than_ms: { type: 'number' }, dry_run: { type: 'boolean' } } }),
        responses: { 200: json({ type: 'object' }), ...errors(400, 401, 403) },
      }),
    },
    '/users': {
      get: op("The server's users (admin)", { responses: { 200: json({ type: 'object', properties: { users: { type: 'array', items: ref('User') } } }), ...errors(401, 403) } }),
      post: op('Add a user (admin); the token is in this answer only', {
        requestBody: body({ type: 'object', required: ['name'], properties: { name: { type: 'string' }, role: ref('Role'), email: { type: ['string', 'null'] }, accounts: { type: 'array', items: { type: 'string' } } } }),
        responses: { 201: json({ allOf: [ref('User'), { type: 'object', properties: { token: { type: 'string' } } }] }, 'Added'), ...errors(400, 401, 403, 409) },
      }),
    },
    '/users/{name}': {
      patch: op("Change a user's role, e-mail or accounts (admin)", {
        parameters: [nameParam],
        requestBody: body({ type: 'object', properties: { role: ref('Role'), email: { type: ['string', 'null'] }, accounts: { type: 'array', items: { type: 'string' } } } }),
        responses: { 200: json(ref('User')), ...errors(400, 401, 403, 404) },
      }),
      delete: op('Remove a user (admin)', { parameters: [nameParam], responses: { 204: { description: 'Removed' }, ...errors(401, 403, 404) } }),
    },
    '/users/{name}/token': { post: op('A new token for a user, the old one revoked (admin)', { parameters: [nameParam], responses: { 200: json({ type: 'object', properties: { name: { type: 'string' }, token: { type: 'string' } } }), ...errors(401, 403, 404) } }) },
  },
  components: {
    securitySchemes: {
      bearer: { type: 'http', scheme: 'bearer', description: 'a token from sluice users add, or the one sluice serve printed' },
      session: { type: 'apiKey', in: 'cookie', name: 'sluice_session', description: 'set by opening /?token=T' },
    },
    responses: Object.fromEntries(Object.entries(ERROR_TEXT).map(([code, text]) => [`E${code}`, json(ref('Error'), text)])),
    schemas: {
      Error: { type: 'object', required: ['error', 'message'], properties: { error: { type: 'string', description: 'bad_request, unauthorized, forbidden, not_found, timeout, conflict, too_large, unsupported_media_type, rate_limited, unavailable, internal' }, message: { type: 'string' } } },
      Role: { type: 'string', enum: ['admin', 'trusted', 'user', 'viewer'] },
      Job: {
        type: 'object',
        required: ['environ'],
        additionalProperties: false,
        properties: {
          environ: { type: 'object', description: 'the environ: job_type and its keys' },
          owner: { type: 'string', description: 'you (an admin may name another)' },
          account: { type: 'string', description: 'a fair-share account granted to you' },
          name: { type: 'string' },
          group: { type: 'string', description: 'a group path, made on demand' },
          tags: { type: 'array', items: { type: 'string' } },
          priority: { type: 'integer' },
          class: { type: 'string', enum: ['nice', 'normal', 'urgent'] },
          inputs: { type: 'array', description: 'a map job: one unit per input' },
          fail_fast: { type: 'boolean' },
          retries: { type: 'integer', minimum: 0 },
          run_after: TIME,
          ram_mb: { type: 'number' },
          keep_ms: { type: 'number' },
          max_lost: { type: 'integer' },
          pool: { type: 'string' },
          callback_url: { type: 'string', description: 'POSTed the record when the job ends' },
        },
      },
      Info: {
        type: 'object',
        description: "moi's info record: id, type, name, parent, owner, status, status_text, job_type, tags, priority, class, progress, attempts, max_attempts, lost, context, url, date_created, date_start, date_end, result, error",
        properties: { id: { type: 'string' }, type: { type: 'string', enum: ['job', 'group'] }, status: { oneOf: [STATUS, { type: 'null' }] }, date_created: TIME, date_start: { type: ['string', 'null'] }, date_end: { type: ['string', 'null'] } },
      },
      Record: { allOf: [ref('Info'), { type: 'object', properties: { environ: { type: 'object' }, output: { type: ['object', 'null'] }, units: { type: 'array' }, delivery: { type: 'object' }, waiting: { type: 'string' }, account: { type: 'string' } } }] },
      Event: { type: 'object', properties: { seq: { type: 'integer' }, at: TIME, verb: { type: 'string', enum: ['add', 'update', 'prune'] }, id: { type: 'string' }, info: ref('Info') } },
      StreamItem: { type: 'object', properties: { verb: { type: 'string', enum: ['get', 'sync', 'resync', 'add', 'update'] }, seq: { type: 'integer' }, at: TIME, id: { type: 'string' }, info: ref('Info') } },
      Principal: { type: 'object', properties: { name: { type: 'string' }, role: ref('Role'), accounts: { type: 'array', items: { type: 'string' } } } },
      User: { type: 'object', properties: { name: { type: 'string' }, role: ref('Role'), email: { type: ['string', 'null'] }, accounts: { type: 'array', items: { type: 'string' } }, created_at: TIME } },
      Worker: { type: 'object', properties: { id: { type: 'string' }, host: { type: 'string' }, pid: { type: 'integer' }, pools: { type: 'array', items: { type: 'string' } }, concurrency: { type: 'integer' }, ram_mb: { type: 'integer' }, ram_used_mb: { type: 'integer' }, exclusive: { type: 'boolean' }, running: { type: 'integer' }, heartbeat_at: TIME } },
      Fairshare: { type: 'object', properties: { pool: { type: 'string' }, owner: { type: 'string' }, share: { type: 'number' }, usage: { type: 'number' }, factor: { type: 'number' }, running: { type: 'integer' }, queued: { type: 'integer' }, rank: { type: 'integer' }, next: { type: ['object', 'null'], description: "the owner's queue first in the fair-share order: pool, class, waited_ms, score = weight × factor × age_bonus" } } },
    },
  },
} as const;

import type { FastifyInstance } from 'fastify';
import { UsageError } from '../../environ/index.js';
import { poolName, ROLES, type Role } from '../../store/index.js';
import { toWire, type UserPatch } from '../../service/index.js';

type Name = { Params: { name: string } };

/** How long a worker that stopped heartbeating is still listed, as lost. */
const LOST_WITHIN_MS = 3_600_000;

/** Who is asking, the owners, workers, fair share, pruning and the users of the server (admins change them). */
export function adminRoutes(app: FastifyInstance): void {
  app.get('/me', async (request) => request.sluice.whoami());

  app.get('/owners', async (request) => ({ owners: await request.sluice.users() }));

  // Beside the live workers, those lost within the last hour (the dashboard marks them).
  app.get('/workers', async (request) => ({ workers: toWire(await request.sluice.workers()), lost: toWire(await request.sluice.inner.lostWorkers(LOST_WITHIN_MS)) }));

  app.get<{ Querystring: { pool?: string } }>('/fairshare', async (request) => {
    const pool = request.query.pool;
    return { owners: await request.sluice.fairshare(pool === undefined ? undefined : poolName(pool)) };
  });

  app.put<Name>('/fairshare/:name', async (request) => {
    const share = (request.body as { share?: unknown } | undefined)?.share;
    if (typeof share !== 'number' || !(share > 0) || !Number.isFinite(share)) throw new UsageError('share: a number above 0');
    await request.sluice.setShare(request.params.name, share);
    return { owner: request.params.name, share };
  });

  app.post('/prune', async (request) => {
    const body = object(request.body ?? {});
    const olderThan = body.older_than_ms;
    if (olderThan !== undefined && (typeof olderThan !== 'number' || !(olderThan >= 0))) throw new UsageError('older_than_ms: a number of ms, 0 or more');
    if (body.dry_run !== undefined && typeof body.dry_run !== 'boolean') throw new UsageError('dry_run: true or false');
    return request.sluice.prune({ ...(olderThan === undefined ? {} : { olderThanMs: olderThan as number }), dryRun: body.dry_run === true });
  });

  app.get('/users', async (request) => ({ users: toWire(await request.sluice.listUsers()) }));

  app.post('/users', async (request, reply) => {
    const body = object(request.body);
    if (typeof body.name !== 'string') throw new UsageError('name: required');
    const { user, token } = await request.sluice.addUser(body.name, userPatch(body, ['name']));
    return reply.code(201).send({ ...(toWire(user) as object), token });
  });

  app.patch<Name>('/users/:name', async (request) => toWire(await request.sluice.setUser(request.params.name, userPatch(object(request.body), []))));

  app.delete<Name>('/users/:name', async (request, reply) => {
    await request.sluice.removeUser(request.params.name);
    return reply.code(204).send();
  });

  app.post<Name>('/users/:name/token', async (request) => ({ name: request.params.name, token: await request.sluice.newToken(request.params.name) }));
}

function object(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new UsageError('the body must be a JSON object');
  return body as Record<string, unknown>;
}

/** role, email and accounts of a user body; anything else (but `extra`) is refused. */
function userPatch(body: Record<string, unknown>, extra: string[]): UserPatch {
  for (const key of Object.keys(body)) if (![...extra, 'role', 'email', 'accounts'].includes(key)) throw new UsageError(`unknown field "${key}"`);
  const patch: UserPatch = {};
  if (body.role !== undefined) {
    if (!(ROLES as readonly unknown[]).includes(body.role)) throw new UsageError(`role: one of ${ROLES.join(', ')}`);
    patch.role = body.role as Role;
  }
  if (body.email !== undefined) {
    if (body.email !== null && (typeof body.email !== 'string' || !/^[^\s@]+@[^\s@]+$/.test(body.email))) throw new UsageError('email: an e-mail address, or null');
    patch.email = body.email as string | null;
  }
  if (body.accounts !== undefined) {
    if (!Array.isArray(body.accounts) || !body.accounts.every((a) => typeof a === 'string' && a.length > 0 && a.length <= 100)) throw new UsageError('accounts: a list of account names');
    patch.accounts = body.accounts as string[];
  }
  return patch;
}

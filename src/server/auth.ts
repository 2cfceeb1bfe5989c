import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { RateLimitedError, SluiceError, UnauthorizedError } from '../environ/index.js';
import { AccessPolicy, ScopedService, statusOf, type LocalService, type Principal } from '../service/index.js';
import { sendError } from './errors.js';

/** The browser session: the token itself, readable by no script (HttpOnly) and sent to no other site (SameSite=Strict). */
export const SESSION_COOKIE = 'sluice_session';

declare module 'fastify' {
  interface FastifyRequest {
    /** the service as the signed-in user may use it (set by `authenticate`) */
    sluice: ScopedService;
  }
}

export interface AuthOptions {
  service: LocalService;
  policy: AccessPolicy;
  /** --no-auth (loopback only): every request acts as this machine's user, as an admin */
  noAuth: boolean;
  /** wrong tokens one address may send per minute before it is refused */
  failuresPerMinute: number;
  /** told of each refused token (metrics) */
  onFailure?: () => void;
}

/**
 * Who is asking: a bearer token (`Authorization: Bearer T`), else the session cookie, else (for
 * the browser's WebSocket and EventSource, which cannot set headers) `?token=`. Tokens are looked
 * up by their hash; wrong ones are counted per address, and an address past the limit is refused
 * every token for the rest of the minute (429), a right one included, so that guessing cannot go
 * on at speed.
 */
export class Authenticator {
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(private readonly options: AuthOptions) {}

  /** The service for this request's user; UnauthorizedError without valid credentials. */
  async scope(request: FastifyRequest): Promise<ScopedService> {
    return new ScopedService(this.options.service, await this.principal(request), this.options.policy);
  }

  /** Who sent `request`, by `token` (default: the one `tokenOf` finds; the sioworkersd door also takes HTTP Basic). */
  async principal(request: FastifyRequest, token = tokenOf(request)): Promise<Principal> {
    if (this.options.noAuth) return { name: this.options.service.defaultOwner, role: 'admin', accounts: [] };
    if (!token) throw new UnauthorizedError('sign in: send Authorization: Bearer TOKEN (sluice users add prints one), or open the URL sluice serve printed');
    this.checkRate(request.ip);
    const user = await this.options.service.userByToken(token);
    if (!user) {
      this.fail(request.ip);
      throw new UnauthorizedError('the token is not valid (revoked, or mistyped)');
    }
    return { name: user.name, role: user.role, accounts: user.accounts };
  }

  private checkRate(ip: string): void {
    const entry = this.failures.get(ip);
    if (!entry) return;
    const left = entry.since + 60_000 - Date.now();
    if (left <= 0) this.failures.delete(ip);
    else if (entry.count >= this.options.failuresPerMinute) throw new RateLimitedError(`too many wrong tokens from ${ip}; try again in ${Math.ceil(left / 1000)} s`, Math.ceil(left / 1000));
  }

  private fail(ip: string): void {
    this.options.onFailure?.();
    const now = Date.now();
    const entry = this.failures.get(ip);
    if (!entry || entry.since + 60_000 <= now) this.failures.set(ip, { count: 1, since: now });
    else entry.count++;
    // A flood of addresses must not grow the table without end: forget the oldest.
    if (this.failures.size > 10_000) this.failures.delete(this.failures.keys().next().value!);
  }
}

/**
 * Every request of this plugin's routes is signed in first (`request.sluice`). A refusal is
 * answered here, as JSON, whatever error handler the routes below have (the file store's has its own).
 */
export function requireAuth(app: FastifyInstance, auth: Authenticator): void {
  app.decorateRequest('sluice', null as unknown as ScopedService);
  app.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    try {
      request.sluice = await auth.scope(request);
    } catch (err) {
      if (!(err instanceof SluiceError)) throw err;
      const { status, code } = statusOf(err);
      if (err instanceof UnauthorizedError) reply.header('www-authenticate', 'Bearer');
      if (err instanceof RateLimitedError) reply.header('retry-after', String(err.retryAfterS));
      return sendError(reply, status, code, err.message);
    }
  });
}

/** The token a request carries, if any. */
export function tokenOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header?.startsWith('Bearer ')) return header.slice(7).trim() || undefined;
  const cookie = cookieValue(request.headers.cookie, SESSION_COOKIE);
  if (cookie) return cookie;
  const query = (request.query as Record<string, unknown> | undefined)?.token;
  return typeof query === 'string' && query ? query : undefined;
}

/** One cookie's value from a Cookie header (RFC 6265's simple form: name=value pairs split by `;`). */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim().replace(/^"(.*)"$/, '$1');
    try {
      return decodeURIComponent(value);
    } catch {
      return value;
    }
  }
  return undefined;
}

/** The Set-Cookie value of a session for `token` (Secure when the server is reached over https). */
export function sessionCookie(token: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
}

import { ForbiddenError, type Environ } from '../environ/index.js';
import type { Role } from '../store/index.js';
import type { Principal } from './types.js';

/**
 * Who may do what on a shared server: the one place that decides it (INTERFACE.md's roles), for
 * the HTTP API, moi's WebSocket and the event stream alike (they all go through `ScopedService`).
 *
 * - `admin`: everything, everyone's jobs.
 * - `trusted`: submits any job type, `js`, `system`, `unsafe-exec` and plugins included (they run
 *   unsandboxed as the worker's user).
 * - `user`: sandboxed job types only (the exec family, `compile`, `ingen`, `inwer`, `ping`, and
 *   plugin jobs and filters an admin lists in SLUICE_SAFE_JOBS); its jobs reach files only
 *   through the file store, never the worker's own disk.
 * - `viewer`: reads their own jobs, submits and changes nothing.
 *
 * Everyone but an admin sees and acts on their own jobs only; another user's job is "not found"
 * (404), never "forbidden" (403), so that its id reveals nothing.
 */
export class AccessPolicy {
  private readonly safe: ReadonlySet<string>;

  constructor(safeExtra: readonly string[] = []) {
    this.safe = new Set(safeExtra);
  }

  isAdmin(p: Principal): boolean {
    return p.role === 'admin';
  }

  /** Whether `p` may see a node of `owner` (and wait on it, list it, follow it). */
  maySee(p: Principal, owner: string): boolean {
    return p.role === 'admin' || p.name === owner;
  }

  /**
   * Why `p` may not be a worker of this server (`sluice worker --url`), or null. A worker reads
   * every owner's units and records their results, so only an admin's token may.
   */
  whyNotWorker(p: Principal): string | null {
    return p.role === 'admin' ? null : `a worker needs an admin's token (${p.name} is ${p.role}): it runs and records everyone's units`;
  }

  /** Why `p` may not change (abort, control) its own visible node, or null. */
  whyNotChange(p: Principal): string | null {
    return p.role === 'viewer' ? 'a viewer reads jobs and changes none' : null;
  }

  /**
   * Checks one submission by `p` and returns the environ to store: for the `user` role, file names
   * are the file store's (`use_filetracker: true`), so that a sandboxed job cannot read the worker's files.
   */
  admit(p: Principal, environ: Environ, owner: string | undefined, account: string | undefined): Environ {
    if (p.role === 'viewer') throw new ForbiddenError('a viewer submits nothing');
    if (owner !== undefined && owner !== p.name && p.role !== 'admin') throw new ForbiddenError(`you submit as yourself (${p.name}), not as ${owner}`);
    if (account !== undefined && account !== p.name && p.role !== 'admin' && !p.accounts.includes(account)) {
      throw new ForbiddenError(`account ${account} was not granted to ${p.name} (an admin grants it: sluice users set ${p.name} --account ${account})`);
    }
    if (p.role !== 'user') return environ;
    const type = String(environ.job_type ?? '');
    if (!this.sandboxed(type)) throw new ForbiddenError(`the job type "${type}" runs unsandboxed; role user may submit sandboxed job types only (trusted users and admins may submit it)`);
    for (const key of ['prefilters', 'postfilters'] as const) {
      const names = environ[key];
      if (names === undefined) continue;
      for (const name of Array.isArray(names) ? names : [names]) {
        if (!this.safe.has(String(name))) throw new ForbiddenError(`the filter "${String(name)}" is not marked safe (SLUICE_SAFE_JOBS); role user may use only those`);
      }
    }
    const files = environ.use_filetracker;
    if (files === false || files === 'false' || files === 'auto') throw new ForbiddenError('role user reaches files through the file store only: use_filetracker must be true');
    return files === undefined ? { ...environ, use_filetracker: true } : environ;
  }

  /** The job types that run in the sandbox, and those an admin marked safe. */
  private sandboxed(type: string): boolean {
    if (this.safe.has(type)) return true;
    // unsafe-exec and unsafe-interactive-exec run without the sandbox.
    if (type.startsWith('unsafe-')) return false;
    return /(^|-)exec$/.test(type) || ['compile', 'ingen', 'inwer', 'ping'].includes(type);
  }
}

export const ROLE_NOTES: Record<Role, string> = {
  admin: 'everything, everyone; may run a worker of the server',
  trusted: 'submits any job type (js, system, unsafe-exec run unsandboxed)',
  user: 'submits sandboxed job types',
  viewer: 'reads own jobs',
};

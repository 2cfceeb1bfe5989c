import { ForbiddenError, NotFoundError, UsageError } from '../environ/index.js';
import type { JobFilter, JobRecord, NodeInfo, PruneReport, StoreEvent, UnitInfo, UserInfo, WorkerStore, WorkerView } from '../store/index.js';
import type {
  FairshareRow, NewUser, OwnerSummary, Principal, Service, StreamFilter, StreamItem, StreamOptions, SubmitRequest, UserPatch, WaitOptions,
} from './types.js';
import type { LocalService } from './local.js';
import type { AccessPolicy } from './access.js';

/**
 * The service as one signed-in user may use it: every call goes through the access policy
 * (access.ts) before it reaches the local service, so that the HTTP API, moi's WebSocket and the
 * event stream cannot differ in what they allow. A node the user may not see is "not found", with
 * the same message as one that does not exist.
 */
export class ScopedService implements Service {
  constructor(
    readonly inner: LocalService,
    readonly principal: Principal,
    private readonly policy: AccessPolicy,
  ) {}

  private get admin(): boolean {
    return this.policy.isAdmin(this.principal);
  }

  async submit(requests: SubmitRequest[]): Promise<string[]> {
    const admitted = requests.map(({ account, ...r }) => {
      const owner = r.owner ?? this.principal.name;
      const environ = this.policy.admit(this.principal, r.environ, r.owner, account);
      // The account is the owner's own unless another was asked for (and granted): only that one is recorded.
      return { ...r, environ, owner, ...(account !== undefined && account !== owner ? { account } : {}) };
    });
    // A job may wait only for jobs its submitter may read; another user's is as unknown as a missing one.
    for (const id of new Set(admitted.flatMap((r) => r.after ?? []))) {
      const node = await this.inner.get(id).catch(() => null);
      if (!node || !this.policy.maySee(this.principal, node.owner)) throw new UsageError(`a job waits for ${id}, which does not exist`);
    }
    return this.inner.submit(admitted);
  }

  async get(id: string): Promise<JobRecord | NodeInfo> {
    return this.visible(id, await this.inner.get(id));
  }

  async list(filter: JobFilter = {}): Promise<NodeInfo[]> {
    return this.inner.list(this.own(filter));
  }

  async group(path: string): Promise<NodeInfo> {
    const group = await this.inner.group(path);
    if (!this.policy.maySee(this.principal, group.owner)) throw new NotFoundError(`no group "${path}"`);
    return group;
  }

  async users(): Promise<OwnerSummary[]> {
    const owners = await this.inner.users();
    return this.admin ? owners : owners.filter((o) => o.owner === this.principal.name);
  }

  async wait(id: string, options?: WaitOptions): Promise<JobRecord> {
    await this.get(id);
    return this.inner.wait(id, options);
  }

  async abort(id: string): Promise<JobRecord> {
    await this.changeable(id);
    return this.inner.abort(id);
  }

  async control(id: string, message: unknown): Promise<{ seq: number }> {
    await this.changeable(id);
    return this.inner.control(id, message);
  }

  async *stream(filter: StreamFilter, options?: StreamOptions): AsyncIterable<StreamItem> {
    yield* await this.openStream(filter, options);
  }

  /** The stream, once it is allowed: a refusal comes here, before anything is sent (a server answers it with a status). */
  async openStream(filter: StreamFilter, options?: StreamOptions): Promise<AsyncIterable<StreamItem>> {
    const own = this.own(filter);
    if (filter.job !== undefined) await this.get(filter.job);
    return this.inner.stream(own, options);
  }

  async units(id: string): Promise<UnitInfo[]> {
    await this.get(id);
    return this.inner.units(id);
  }

  async events(id: string): Promise<StoreEvent[]> {
    await this.get(id);
    return this.inner.events(id);
  }

  waitReasons(infos: NodeInfo[]): Promise<Map<string, string>> {
    return this.inner.waitReasons(infos.filter((i) => this.policy.maySee(this.principal, i.owner)));
  }

  async fairshare(pool?: string): Promise<FairshareRow[]> {
    const rows = await this.inner.fairshare(pool);
    return rows.filter((r) => this.seesShareOf(r.owner));
  }

  /** Whether an owner's fair-share figures (usage, factor, queue) are the user's to see: their own; an admin's, everyone's. */
  seesShareOf(owner: string): boolean {
    return this.admin || owner === this.principal.name;
  }

  async setShare(owner: string, share: number): Promise<void> {
    this.adminOnly('set shares');
    return this.inner.setShare(owner, share);
  }

  async prune(options?: { olderThanMs?: number; dryRun?: boolean }): Promise<PruneReport> {
    this.adminOnly('prune');
    return this.inner.prune(options);
  }

  workers(): Promise<WorkerView[]> {
    return this.inner.workers();
  }

  async whoami(): Promise<Principal> {
    return this.principal;
  }

  async addUser(name: string, options?: UserPatch): Promise<NewUser> {
    this.adminOnly('add users');
    return this.inner.addUser(name, options);
  }

  async listUsers(): Promise<UserInfo[]> {
    this.adminOnly('list users');
    return this.inner.listUsers();
  }

  async setUser(name: string, patch: UserPatch): Promise<UserInfo> {
    this.adminOnly('change users');
    return this.inner.setUser(name, patch);
  }

  async removeUser(name: string): Promise<void> {
    this.adminOnly('remove users');
    return this.inner.removeUser(name);
  }

  async newToken(name: string): Promise<string> {
    this.adminOnly('issue tokens');
    return this.inner.newToken(name);
  }

  /** The user's own moi view: what they took out of it (moi's remove), kept across their sockets. */
  hide(ids: string[]): Promise<void> {
    return this.inner.hide(this.principal.name, ids);
  }

  hidden(): Promise<string[]> {
    return this.inner.hidden(this.principal.name);
  }

  /** Nothing to close: the local service belongs to the server. */
  async close(): Promise<void> {}

  /** A filter narrowed to the user's own nodes; asking for another owner's is refused. */
  private own<F extends { owner?: string }>(filter: F): F {
    if (this.admin) return filter;
    if (filter.owner !== undefined && filter.owner !== this.principal.name) throw new ForbiddenError(`you see your own jobs only (${this.principal.name}), not ${filter.owner}'s`);
    return { ...filter, owner: this.principal.name };
  }

  private visible<T extends NodeInfo>(id: string, node: T): T {
    if (!this.policy.maySee(this.principal, node.owner)) throw new NotFoundError(`no job or group with id ${id}`);
    return node;
  }

  /** The store itself, for a worker of this server (server/routes/worker.ts): an admin's only. */
  workerStore(): WorkerStore {
    const why = this.policy.whyNotWorker(this.principal);
    if (why) throw new ForbiddenError(why);
    return this.inner.store;
  }

  private async changeable(id: string): Promise<void> {
    await this.get(id);
    const why = this.policy.whyNotChange(this.principal);
    if (why) throw new ForbiddenError(why);
  }

  private adminOnly(what: string): void {
    if (!this.admin) throw new ForbiddenError(`only an admin may ${what}`);
  }
}

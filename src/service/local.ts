import type { Environ, FileAccess, Registry } from '../environ/index.js';
import { DEFAULTS, NotFoundError, TimeoutError, UsageError } from '../environ/index.js';
import type { JobFilter, JobRecord, NodeInfo, PruneReport, Store, StoreEvent, UnitInfo, UserInfo, WorkerView } from '../store/index.js';
import { TERMINAL } from '../store/index.js';
import { DEFAULT_POLICY, ramNeedMb, type Policy } from '../schedule/index.js';
import { EXCLUSIVE_JOB_TYPES } from '../jobs/index.js';
import { Worker } from '../worker/index.js';
import type {
  FairshareRow, LocalExtension, NewUser, OwnerSummary, Principal, Service, StreamFilter, StreamItem, StreamOptions, SubmitRequest, UserPatch, WaitOptions,
} from './types.js';
import { activePools, fairshareRows, waitReasons } from './queueView.js';
import type { EventHub } from './hub.js';
import { hashToken, newToken } from './tokens.js';

/** Longest sleep between store reads while following changes (wake-ups usually come sooner). */
const FOLLOW_POLL_MS = 100;
/** Events read per batch while following. */
const EVENT_BATCH = 1000;

export interface LocalServiceOptions {
  registry: Registry;
  files?: (workdir: () => string, environ: Environ) => FileAccess;
  /** a worker counts as alive while its heartbeat is this recent (the lease) */
  leaseMs?: number;
  /** the fair-share policy (its half-life is the store's) */
  policy?: Policy;
  /** moi's `url` of every info record: where a browser finds the jobs (a server's address); null without one */
  publicUrl?: string | null;
  /** who owns a job submitted without an owner (SLUICE_USER, the login name) */
  defaultOwner?: string;
  /** where in-process runs make their folders (SLUICE_TMPDIR) */
  tmpdir?: string | undefined;
  /** one shared reader of the event log (a server's): streams and waits follow it instead of the store */
  hub?: EventHub;
  /** what `close` does (the composition root that owns the store); default: close the store */
  onClose?: () => Promise<void>;
}

/** The service over a store in this process (PARK's local service). */
export class LocalService implements Service, LocalExtension {
  private readonly leaseMs: number;
  private readonly policy: Policy;
  private url: string | null;
  /** one stream item per event, shared by every follower of a hub */
  private readonly items = new WeakMap<StoreEvent, StreamItem>();

  constructor(
    readonly store: Store,
    private readonly runner: LocalServiceOptions,
  ) {
    this.leaseMs = runner.leaseMs ?? DEFAULTS.leaseMs;
    this.policy = runner.policy ?? DEFAULT_POLICY;
    this.url = runner.publicUrl ?? null;
  }

  /** Where browsers find the jobs (moi's `url`): a server knows its address only once it listens. */
  setPublicUrl(url: string | null): void {
    this.url = url;
  }

  /** The owner of jobs submitted without one. */
  get defaultOwner(): string {
    return this.runner.defaultOwner ?? 'sluice';
  }

  async submit(requests: SubmitRequest[]): Promise<string[]> {
    await this.checkJobTypes(requests);
    const emails = await this.defaultEmails(requests);
    return this.store.submit(
      requests.map((r) => ({
        ...r,
        owner: r.owner ?? this.defaultOwner,
        // A user with an e-mail address gets their jobs in their daily digest unless the job says otherwise.
        ...(r.notify || !emails.get(r.owner ?? this.defaultOwner) ? {} : { notify: { address: emails.get(r.owner ?? this.defaultOwner)! } }),
        ramMb: r.ramMb ?? ramNeedMb(r.environ),
        exclusive: typeof r.environ.job_type === 'string' && EXCLUSIVE_JOB_TYPES.has(r.environ.job_type),
      })),
    );
  }

  async units(id: string): Promise<UnitInfo[]> {
    await this.job(id);
    return this.store.units(id);
  }

  async events(id: string): Promise<StoreEvent[]> {
    await this.get(id);
    return this.store.eventsOf(id, EVENT_BATCH * 10);
  }

  async waitReasons(infos: NodeInfo[]): Promise<Map<string, string>> {
    return waitReasons(this.store, infos, this.leaseMs, this.policy);
  }

  async fairshare(pool?: string): Promise<FairshareRow[]> {
    const now = Date.now();
    const pools = pool === undefined ? activePools(await this.store.queueSnapshot()) : [pool];
    const rows: FairshareRow[] = [];
    // Each pool's own snapshot, as its workers read it: running units of other pools do not count there.
    for (const p of pools) rows.push(...fairshareRows(await this.store.queueSnapshot([p]), now, this.policy).map((r) => ({ ...r, pool: p })));
    return rows;
  }

  /** An account's share; `rank` (this process only: sioworkersd's contest_priority) its strict rank. */
  setShare(owner: string, share: number, rank?: number): Promise<void> {
    return this.store.setShare(owner, share, rank);
  }

  async get(id: string): Promise<JobRecord | NodeInfo> {
    const found = await this.store.get(id);
    if (!found) throw new NotFoundError(`no job or group with id ${id}`);
    return this.withUrl(found);
  }

  async list(filter?: JobFilter): Promise<NodeInfo[]> {
    return (await this.store.list(filter)).map((info) => this.withUrl(info));
  }

  async group(path: string): Promise<NodeInfo> {
    const found = await this.store.group(path);
    if (!found) throw new NotFoundError(`no group "${path}"`);
    return this.withUrl(found);
  }

  users(): Promise<OwnerSummary[]> {
    return this.store.users();
  }

  async abort(id: string): Promise<JobRecord> {
    return this.withUrl(await this.store.abort(id));
  }

  control(id: string, message: unknown): Promise<{ seq: number }> {
    return this.store.control(id, message);
  }

  prune(options?: { olderThanMs?: number; dryRun?: boolean }): Promise<PruneReport> {
    return this.store.prune(options);
  }

  async workers(): Promise<WorkerView[]> {
    const [workers, loads] = await Promise.all([this.store.liveWorkers(this.leaseMs), this.store.workerLoads()]);
    const load = new Map(loads.map((l) => [l.worker, l]));
    return workers.map((w) => ({ ...w, running: load.get(w.id)?.running ?? 0, ram_used_mb: load.get(w.id)?.ramMb ?? 0 }));
  }

  /** Workers whose heartbeat stopped within the last `withinMs` (lost: killed, or cut off), most recent first. */
  async lostWorkers(withinMs: number): Promise<WorkerView[]> {
    const [recent, loads] = await Promise.all([this.store.liveWorkers(withinMs), this.store.workerLoads()]);
    const aliveSince = Date.now() - this.leaseMs;
    const load = new Map(loads.map((l) => [l.worker, l]));
    return recent
      .filter((w) => w.heartbeat_at < aliveSince)
      .sort((a, b) => b.heartbeat_at - a.heartbeat_at)
      .map((w) => ({ ...w, running: load.get(w.id)?.running ?? 0, ram_used_mb: load.get(w.id)?.ramMb ?? 0 }));
  }

  /** Locally there is no sign-in: this machine's user, who may do everything (INTERFACE.md: trusted, and the store's keeper). */
  async whoami(): Promise<Principal> {
    return { name: this.defaultOwner, role: 'admin', accounts: [] };
  }

  async addUser(name: string, options: UserPatch = {}): Promise<NewUser> {
    const token = newToken();
    await this.store.createUser({ name, role: options.role ?? 'user', email: options.email ?? null, accounts: options.accounts ?? [], tokenHash: hashToken(token) });
    return { user: (await this.store.getUser(name))!, token };
  }

  listUsers(): Promise<UserInfo[]> {
    return this.store.listUsers();
  }

  setUser(name: string, patch: UserPatch): Promise<UserInfo> {
    return this.store.updateUser(name, patch);
  }

  removeUser(name: string): Promise<void> {
    return this.store.deleteUser(name);
  }

  async newToken(name: string): Promise<string> {
    const token = newToken();
    await this.store.updateUser(name, { tokenHash: hashToken(token) });
    return token;
  }

  /** The user a token stands for, or null (the server's sign-in). */
  async userByToken(token: string): Promise<UserInfo | null> {
    return this.store.userByTokenHash(hashToken(token));
  }

  async wait(id: string, options: WaitOptions = {}): Promise<JobRecord> {
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    let last = '';
    let seq = this.runner.hub?.last ?? 0;
    while (true) {
      // The mark (or the hub's place) is taken before the read: a change right after it ends the wait below.
      const mark = this.store.changeMark();
      const record = await this.job(id);
      const snapshot = JSON.stringify([record.status, record.progress, record.status_text, record.attempts]);
      if (snapshot !== last) {
        last = snapshot;
        options.onChange?.(record);
      }
      if (record.status && TERMINAL.has(record.status)) return record as JobRecord;
      for (;;) {
        const left = deadline - Date.now();
        if (left <= 0) throw new TimeoutError(`job ${id} has not ended after ${options.timeoutMs} ms (status ${record.status})`);
        options.signal?.throwIfAborted();
        if (!this.runner.hub) {
          await this.store.waitForChange(Math.min(left, FOLLOW_POLL_MS), options.signal, mark);
          break;
        }
        // With a hub, the record is read again only when one of its events went by.
        const events = await this.runner.hub.after(seq, EVENT_BATCH, Math.min(left, 1000), options.signal);
        if (events.length) seq = events[events.length - 1]!.seq;
        if (events.some((e) => e.verb !== 'prune' && e.id === id)) break;
      }
    }
  }

  async *stream(filter: StreamFilter, options: StreamOptions = {}): AsyncIterable<StreamItem> {
    const matches = (info: NodeInfo) =>
      (filter.type === undefined || filter.type === 'any' || info.type === filter.type) &&
      (filter.owner === undefined || info.owner === filter.owner) &&
      (filter.job === undefined || info.id === filter.job) &&
      (filter.tag === undefined || info.tags.includes(filter.tag)) &&
      (filter.status === undefined || info.status === filter.status);
    const signal = options.signal;
    let seq = options.since ?? -1;
    if (seq >= 0 && seq < (await this.store.prunedThrough())) {
      yield { verb: 'resync', seq: await this.store.prunedThrough() };
      seq = -1;
    }
    while (!signal?.aborted) {
      if (seq < 0) {
        // PARK's header: the current state first. The seq is read before the snapshot, so a change
        // in between is sent again, never lost.
        seq = await this.store.lastSeq();
        const current = filter.job
          ? [await this.get(filter.job)]
          : await this.store.list({ ...(filter.owner ? { owner: filter.owner } : {}), ...(filter.type ? { type: filter.type } : {}) });
        for (const info of current) if (matches(info)) yield { verb: 'get', id: info.id, info: this.withUrl(stripRecord(info)) };
        yield { verb: 'sync', seq };
      }
      const events = await this.eventsAfter(seq, signal);
      // A follower that fell behind a pruning lost events it never saw: it starts again from the current state.
      if (events.length && events[0]!.seq > seq + 1 && seq < (await this.store.prunedThrough())) {
        yield { verb: 'resync', seq: await this.store.prunedThrough() };
        seq = -1;
        continue;
      }
      for (const e of events) {
        seq = e.seq;
        if (e.verb === 'prune') {
          // Only removed jobs (and the groups they emptied) change what a mirror holds; old events do not.
          if (!options.resyncOnPrune || e.jobs === 0) continue;
          yield { verb: 'resync', seq: e.through };
          seq = -1;
          break;
        }
        if (matches(e.info)) yield this.itemOf(e);
      }
    }
  }

  /** The last sequence number of the event log (where a follower that wants only what comes next starts). */
  lastSeq(): Promise<number> {
    return this.store.lastSeq();
  }

  /** Takes nodes out of a user's moi view (moi's `remove`); `hidden` lists them. */
  hide(owner: string, ids: string[]): Promise<void> {
    return this.store.hide(owner, ids);
  }

  hidden(owner: string): Promise<string[]> {
    return this.store.hidden(owner);
  }

  async workersAlive(): Promise<boolean> {
    return (await this.store.liveWorkers(this.leaseMs)).length > 0;
  }

  async runHere(id: string): Promise<void> {
    const worker = new Worker({
      store: this.store,
      registry: this.runner.registry,
      ...(this.runner.files ? { files: this.runner.files } : {}),
      tmpdir: this.runner.tmpdir,
      onlyJob: id,
      policy: this.policy,
    });
    await worker.start();
    await worker.finished;
    await worker.stop(0);
  }

  close(): Promise<void> {
    return this.runner.onClose ? this.runner.onClose() : this.store.close();
  }

  /** The events after `seq`, from the hub when there is one; [] after a while without any (so a stopped follower notices). */
  private async eventsAfter(seq: number, signal?: AbortSignal): Promise<StoreEvent[]> {
    if (this.runner.hub) return this.runner.hub.after(seq, EVENT_BATCH, FOLLOW_POLL_MS * 10, signal);
    const mark = this.store.changeMark();
    const events = await this.store.eventsAfter(seq, EVENT_BATCH);
    if (events.length) return events;
    await this.store.waitForChange(FOLLOW_POLL_MS, signal, mark);
    return [];
  }

  private itemOf(e: StoreEvent & { verb: 'add' | 'update' }): StreamItem {
    let item = this.items.get(e);
    if (!item) this.items.set(e, (item = { verb: e.verb, seq: e.seq, at: e.at, id: e.id, info: this.withUrl(e.info) }));
    return item;
  }

  private async job(id: string): Promise<JobRecord | NodeInfo> {
    const record = await this.get(id);
    if (record.type !== 'job') throw new NotFoundError(`${id} is a group, not a job`);
    return record;
  }

  /** The e-mail addresses users set for themselves (sluice users set NAME --email), by owner. */
  private async defaultEmails(requests: SubmitRequest[]): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    for (const owner of new Set(requests.filter((r) => !r.notify).map((r) => r.owner ?? this.defaultOwner))) out.set(owner, (await this.store.getUser(owner))?.email ?? null);
    return out;
  }

  /** moi's info objects carry `url`: the UI links to `url/id`. */
  private withUrl<T extends NodeInfo>(info: T): T {
    return { ...info, url: this.url };
  }

  /** A job type this process does not know is refused now, not failed later by a worker. */
  private async checkJobTypes(requests: SubmitRequest[]): Promise<void> {
    for (const type of new Set(requests.map((r) => r.environ?.job_type))) {
      if (typeof type !== 'string' || type === '') throw new UsageError('the environ has no job_type');
      await this.runner.registry.assertJob(type);
    }
  }
}

function stripRecord(info: NodeInfo): NodeInfo {
  const { environ: _e, output: _o, units: _u, delivery: _d, account: _a, ...rest } = info as NodeInfo & { environ?: unknown; output?: unknown; units?: unknown; delivery?: unknown; account?: unknown };
  return rest;
}

import type { Registry } from '../environ/index.js';
import { DEFAULTS, NotFoundError, TimeoutError, UsageError } from '../environ/index.js';
import type { JobFilter, JobRecord, NodeInfo, PruneReport, Store, UnitInfo } from '../store/index.js';
import { TERMINAL } from '../store/index.js';
import { DEFAULT_POLICY, ramNeedMb, type Policy } from '../schedule/index.js';
import { EXCLUSIVE_JOB_TYPES } from '../jobs/index.js';
import { Worker, type WorkerOptions } from '../worker/index.js';
import type { FairshareRow, Service, StreamFilter, StreamItem, StreamOptions, SubmitRequest, WaitOptions } from './types.js';
import { fairshareRows, waitReasons } from './queueView.js';

/** Longest sleep between store reads while following changes (wake-ups usually come sooner). */
const FOLLOW_POLL_MS = 100;
/** Events read per batch while following. */
const EVENT_BATCH = 1000;

export interface LocalServiceOptions {
  registry: Registry;
  files?: WorkerOptions['files'];
  /** a worker counts as alive while its heartbeat is this recent (the lease) */
  leaseMs?: number;
  /** the fair-share policy (its half-life is the store's) */
  policy?: Policy;
  /** moi's `url` of every info record: where a browser finds the jobs (a server's address); null without one */
  publicUrl?: string | null;
}

/** The service over a store in this process (PARK's local service). */
export class LocalService implements Service {
  private readonly leaseMs: number;
  private readonly policy: Policy;
  private readonly url: string | null;

  constructor(
    readonly store: Store,
    private readonly runner: LocalServiceOptions,
  ) {
    this.leaseMs = runner.leaseMs ?? DEFAULTS.leaseMs;
    this.policy = runner.policy ?? DEFAULT_POLICY;
    this.url = runner.publicUrl ?? null;
  }

  async submit(requests: SubmitRequest[]): Promise<string[]> {
    await this.checkJobTypes(requests);
    const emails = await this.defaultEmails(requests);
    return this.store.submit(
      requests.map((r) => ({
        ...r,
        // A user with an e-mail address gets their jobs in their daily digest unless the job says otherwise.
        ...(r.notify || !emails.get(r.owner) ? {} : { notify: { address: emails.get(r.owner)! } }),
        ramMb: r.ramMb ?? ramNeedMb(r.environ),
        exclusive: typeof r.environ.job_type === 'string' && EXCLUSIVE_JOB_TYPES.has(r.environ.job_type),
      })),
    );
  }

  async units(id: string): Promise<UnitInfo[]> {
    const record = await this.get(id);
    if (record.type !== 'job') throw new NotFoundError(`${id} is a group, not a job`);
    return this.store.units(id);
  }

  async waitReasons(infos: NodeInfo[]): Promise<Map<string, string>> {
    return waitReasons(this.store, infos, this.leaseMs, this.policy);
  }

  async fairshare(): Promise<FairshareRow[]> {
    return fairshareRows(await this.store.queueSnapshot(), Date.now(), this.policy);
  }

  setShare(owner: string, share: number): Promise<void> {
    return this.store.setShare(owner, share);
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

  users() {
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

  async wait(id: string, options: WaitOptions = {}): Promise<JobRecord> {
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    let last = '';
    while (true) {
      // The mark is taken before the read: a change right after it wakes the wait below.
      const mark = this.store.changeMark();
      const record = await this.get(id);
      if (record.type !== 'job') throw new NotFoundError(`${id} is a group, not a job`);
      const snapshot = JSON.stringify([record.status, record.progress, record.status_text, record.attempts]);
      if (snapshot !== last) {
        last = snapshot;
        options.onChange?.(record);
      }
      if (record.status && TERMINAL.has(record.status)) return record as JobRecord;
      const left = deadline - Date.now();
      if (left <= 0) throw new TimeoutError(`job ${id} has not ended after ${options.timeoutMs} ms (status ${record.status})`);
      options.signal?.throwIfAborted();
      await this.store.waitForChange(Math.min(left, FOLLOW_POLL_MS), options.signal, mark);
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
      const mark = this.store.changeMark();
      const events = await this.store.eventsAfter(seq, EVENT_BATCH);
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
        if (matches(e.info)) yield { verb: e.verb, seq: e.seq, at: e.at, id: e.id, info: this.withUrl(e.info) };
      }
      if (seq < 0) continue;
      if (events.length < EVENT_BATCH) await this.store.waitForChange(FOLLOW_POLL_MS, signal, mark);
    }
  }

  async workersAlive(): Promise<boolean> {
    return (await this.store.liveWorkers(this.leaseMs)).length > 0;
  }

  async runHere(id: string): Promise<void> {
    const worker = new Worker({ store: this.store, registry: this.runner.registry, ...(this.runner.files ? { files: this.runner.files } : {}), onlyJob: id, policy: this.policy });
    await worker.start();
    await worker.finished;
    await worker.stop(0);
  }

  close(): Promise<void> {
    return this.store.close();
  }

  /** The e-mail addresses users set for themselves (sluice users set NAME --email), by owner. */
  private async defaultEmails(requests: SubmitRequest[]): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    for (const owner of new Set(requests.filter((r) => !r.notify).map((r) => r.owner))) out.set(owner, (await this.store.getUser(owner))?.email ?? null);
    return out;
  }

  /** moi's info objects carry `url`: the UI links to `url/id`. */
  private withUrl<T extends NodeInfo>(info: T): T {
    return { ...info, url: this.url };
  }

  /** A job type this process does not know is refused now, not failed later by a worker. */
  private async checkJobTypes(requests: SubmitRequest[]): Promise<void> {
    for (const type of new Set(requests.map((r) => r.environ.job_type))) {
      if (typeof type !== 'string' || type === '') throw new UsageError('the environ has no job_type');
      await this.runner.registry.assertJob(type);
    }
  }
}

function stripRecord(info: NodeInfo): NodeInfo {
  const { environ: _e, output: _o, units: _u, ...rest } = info as NodeInfo & { environ?: unknown; output?: unknown; units?: unknown };
  return rest;
}

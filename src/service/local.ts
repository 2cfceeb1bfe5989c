import type { Registry } from '../environ/index.js';
import { NotFoundError, TimeoutError } from '../environ/index.js';
import type { JobFilter, JobRecord, NodeInfo, Store, UnitInfo } from '../store/index.js';
import { TERMINAL, DEFAULT_HALF_LIFE_MS, LIVE_WORKER_MS } from '../store/index.js';
import { ramNeedMb } from '../schedule/index.js';
import { EXCLUSIVE_JOB_TYPES } from '../jobs/index.js';
import { Worker, type WorkerOptions } from '../worker/index.js';
import type { FairshareRow, Service, StreamFilter, StreamItem, SubmitRequest, WaitOptions } from './types.js';
import { fairshareRows, waitReasons } from './queueView.js';

/** Longest sleep between store reads while following changes (wake-ups usually come sooner). */
const FOLLOW_POLL_MS = 100;

export class LocalService implements Service {
  constructor(
    readonly store: Store,
    private readonly runner: { registry: Registry; files?: WorkerOptions['files'] },
  ) {}

  submit(requests: SubmitRequest[]): Promise<string[]> {
    return this.store.submit(
      requests.map((r) => ({
        ...r,
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
    return waitReasons(this.store, infos, LIVE_WORKER_MS, DEFAULT_HALF_LIFE_MS);
  }

  async fairshare(): Promise<FairshareRow[]> {
    return fairshareRows(await this.store.queueSnapshot(), Date.now(), DEFAULT_HALF_LIFE_MS);
  }

  setShare(owner: string, share: number): Promise<void> {
    return this.store.setShare(owner, share);
  }

  async get(id: string): Promise<JobRecord | NodeInfo> {
    const found = await this.store.get(id);
    if (!found) throw new NotFoundError(`no job or group with id ${id}`);
    return found;
  }

  list(filter?: JobFilter): Promise<NodeInfo[]> {
    return this.store.list(filter);
  }

  users() {
    return this.store.users();
  }

  abort(id: string): Promise<JobRecord> {
    return this.store.abort(id);
  }

  async wait(id: string, options: WaitOptions = {}): Promise<JobRecord> {
    const deadline = options.timeoutMs === undefined ? Infinity : Date.now() + options.timeoutMs;
    let last = '';
    while (true) {
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
      await this.store.waitForChange(Math.min(left, FOLLOW_POLL_MS), options.signal);
    }
  }

  async *stream(filter: StreamFilter, options: { since?: number; signal?: AbortSignal } = {}): AsyncIterable<StreamItem> {
    const matches = (info: NodeInfo) =>
      (filter.owner === undefined || info.owner === filter.owner) &&
      (filter.job === undefined || info.id === filter.job) &&
      (filter.tag === undefined || info.tags.includes(filter.tag)) &&
      (filter.status === undefined || info.status === filter.status);
    let seq: number;
    if (options.since === undefined) {
      // The seq is read before the snapshot: a change made in between is sent again, never lost.
      seq = await this.store.lastSeq();
      const current = filter.job ? [await this.get(filter.job)] : await this.store.list({ ...(filter.owner ? { owner: filter.owner } : {}) });
      for (const info of current) if (matches(info)) yield { verb: 'get', id: info.id, info: stripRecord(info) };
      yield { verb: 'sync', seq };
    } else {
      seq = options.since;
    }
    const signal = options.signal;
    while (!signal?.aborted) {
      const events = await this.store.eventsAfter(seq, 1000);
      for (const e of events) {
        seq = e.seq;
        if (matches(e.info)) yield { verb: e.verb, seq: e.seq, at: e.at, id: e.id, info: e.info };
      }
      if (events.length < 1000) await this.store.waitForChange(FOLLOW_POLL_MS, signal);
    }
  }

  async workersAlive(): Promise<boolean> {
    return (await this.store.liveWorkers(LIVE_WORKER_MS)).length > 0;
  }

  async runHere(id: string): Promise<void> {
    const worker = new Worker({ store: this.store, ...this.runner, onlyJob: id });
    await worker.start();
    await worker.finished;
    await worker.stop(0);
  }

  close(): Promise<void> {
    return this.store.close();
  }
}

function stripRecord(info: NodeInfo): NodeInfo {
  const { environ: _e, output: _o, ...rest } = info as NodeInfo & { environ?: unknown; output?: unknown };
  return rest;
}

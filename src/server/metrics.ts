import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Store, StoreEvent } from '../store/index.js';
import { TERMINAL } from '../store/index.js';
import type { Streams } from './streams.js';

/** Seconds: a queue wait or a run from a few ms to a day. */
const SPAN_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14_400, 86_400];
/** Seconds: a claim cycle's store work, sub-millisecond to a stalled store. */
const CYCLE_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5];

/**
 * What /metrics says (Prometheus text, `sluice_` names, base units). No label carries a job or a
 * user id: job types, statuses, pools and classes are few. Jobs are counted from the event log, so
 * the counts cover every process on the store (CLI submissions, other workers), not only this one.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly submitted: Counter<'job_type'>;
  private readonly finished: Counter<'status' | 'job_type'>;
  private readonly queueWait: Histogram<'class'>;
  private readonly runTime: Histogram<'job_type'>;
  private readonly cycle: Histogram;
  private readonly storeErrors: Counter;
  private readonly requests: Counter<'method' | 'route' | 'status'>;
  private readonly authFailures: Counter;
  private readonly callbacks: Counter<'outcome'>;

  constructor(store: Store, streams: Streams, options: { leaseMs: number }) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'sluice_' });
    this.submitted = new Counter({ name: 'sluice_jobs_submitted_total', help: 'Jobs submitted, by job type', labelNames: ['job_type'], registers });
    this.finished = new Counter({ name: 'sluice_jobs_finished_total', help: 'Jobs that ended, by status and job type', labelNames: ['status', 'job_type'], registers });
    this.queueWait = new Histogram({ name: 'sluice_queue_wait_seconds', help: 'From submission to the start of a job, by priority class', labelNames: ['class'], buckets: SPAN_BUCKETS, registers });
    this.runTime = new Histogram({ name: 'sluice_run_seconds', help: "From a job's start to its end, by job type", labelNames: ['job_type'], buckets: SPAN_BUCKETS, registers });
    this.cycle = new Histogram({ name: 'sluice_claim_cycle_seconds', help: "An embedded worker's claim cycle: recording finished units and claiming the next", buckets: CYCLE_BUCKETS, registers });
    this.storeErrors = new Counter({ name: 'sluice_store_errors_total', help: 'Errors of the store seen by this server and its workers', registers });
    this.requests = new Counter({ name: 'sluice_http_requests_total', help: 'HTTP requests answered, by method, route and status', labelNames: ['method', 'route', 'status'], registers });
    this.authFailures = new Counter({ name: 'sluice_auth_failures_total', help: 'Requests refused for a wrong token', registers });
    this.callbacks = new Counter({ name: 'sluice_callbacks_total', help: 'Callback POSTs, by outcome (done, retry, failed)', labelNames: ['outcome'], registers });
    new Gauge({
      name: 'sluice_units_queued',
      help: 'Units waiting to run, by pool and class',
      labelNames: ['pool', 'class'],
      registers,
      async collect() {
        this.reset();
        for (const q of (await store.queueSnapshot()).queues) this.inc({ pool: q.pool, class: q.class }, q.queued);
      },
    });
    new Gauge({
      name: 'sluice_units_running',
      help: 'Units running, by pool and class',
      labelNames: ['pool', 'class'],
      registers,
      async collect() {
        this.reset();
        for (const r of (await store.queueSnapshot()).running) this.inc({ pool: r.pool, class: r.class });
      },
    });
    new Gauge({
      name: 'sluice_workers_alive',
      help: 'Workers whose heartbeat is within the lease',
      registers,
      async collect() {
        this.set((await store.liveWorkers(options.leaseMs)).length);
      },
    });
    new Gauge({
      name: 'sluice_stream_clients',
      help: 'Live streams open: SSE and moi WebSocket',
      labelNames: ['kind'],
      registers,
      collect() {
        this.set({ kind: 'sse' }, streams.count('sse'));
        this.set({ kind: 'ws' }, streams.count('ws'));
      },
    });
  }

  /** Counts what the event log says happened: submissions, starts (queue wait), ends (run time). */
  readonly onEvents = (events: StoreEvent[]): void => {
    for (const e of events) {
      if (e.verb === 'prune' || e.info.type !== 'job') continue;
      const jobType = e.info.job_type ?? 'none';
      if (e.verb === 'add') {
        this.submitted.inc({ job_type: jobType });
        continue;
      }
      const { status, date_start: start, date_end: end, date_created: created } = e.info;
      // The event that started the job is the one written at its start (later ones are progress, or a re-run).
      if (status === 'Running' && start !== null && e.at === start) this.queueWait.observe({ class: e.info.class }, Math.max(0, start - created) / 1000);
      if (status && TERMINAL.has(status) && end !== null && e.at === end) {
        this.finished.inc({ status, job_type: jobType });
        if (start !== null) this.runTime.observe({ job_type: jobType }, Math.max(0, end - start) / 1000);
      }
    }
  };

  readonly onCycle = (seconds: number): void => this.cycle.observe(seconds);
  readonly onStoreError = (): void => this.storeErrors.inc();
  readonly onAuthFailure = (): void => this.authFailures.inc();
  readonly onCallback = (outcome: 'done' | 'retry' | 'failed'): void => this.callbacks.inc({ outcome });

  request(method: string, route: string, status: number): void {
    this.requests.inc({ method, route, status: String(status) });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }
}

import { NotFoundError } from '../environ/index.js';
import type { JobRecord, Store } from '../store/index.js';
import { toWire, type LocalService } from '../service/index.js';
import { sioworkersdReturn, type CallbackBody } from './sioworkersd/returnBody.js';

/** Items taken per round, and sent at once. */
const BATCH = 10;
/** How long a taken item is ours: a sender that dies lets another take it after this. */
const LEASE_MS = 60_000;
/** A POST that takes longer failed. */
const TIMEOUT_MS = 10_000;
/** Retries wait 1 s, 2 s, 4 s, ... up to this. */
const MAX_BACKOFF_MS = 10 * 60_000;
/** Due retries are looked for at least this often (ended jobs wake the sender sooner). */
const POLL_MS = 1000;

export interface CallbackOptions {
  /** tries before an item is given up (SLUICE_CALLBACK_ATTEMPTS) */
  attempts: number;
  log: (line: string) => void;
  onOutcome?: (outcome: 'done' | 'retry' | 'failed') => void;
}

/**
 * Sends the record of each job that ended to its `callback_url` (a POST of the JSON that GET
 * /api/v1/jobs/{id} answers), from the store's outbox: an item is taken with a lease, so a server
 * that stops or dies mid-send leaves it to the next one (sioworkersd's groups "to return" survive
 * restarts the same way); a failure is tried again with a doubling backoff, and given up after
 * `attempts`, its state kept beside the record (`delivery`). A receiver may see a POST twice
 * (a crash between its answer and our note of it): `X-Sluice-Delivery` names the item. The answer
 * of a sioworkersd group goes as sioworkersd returns it to oioioi (`sioworkersd/returnBody.ts`).
 */
export class CallbackSender {
  private readonly stop = new AbortController();
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly service: LocalService,
    private readonly options: CallbackOptions,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.stop.signal.aborted) {
      const mark = this.store.changeMark();
      let items: Awaited<ReturnType<Store['claimOutbox']>> = [];
      try {
        items = await this.store.claimOutbox('callback', BATCH, LEASE_MS);
        await Promise.all(items.map((item) => this.send(item)));
        failures = 0;
      } catch (err) {
        if (++failures === 1 || failures % 20 === 0) this.options.log(`callbacks: the store failed (${failures} in a row): ${(err as Error).message}`);
      }
      if (items.length < BATCH) await this.store.waitForChange(POLL_MS * Math.min(failures + 1, 5), this.stop.signal, mark);
    }
  }

  private async send(item: { id: number; job: string; target: string; attempts: number }): Promise<void> {
    let error: string;
    try {
      const record = await this.service.get(item.job);
      const { headers, body, accepted } = bodyOf(record as JobRecord);
      const response = await fetch(item.target, {
        method: 'POST',
        headers: { ...headers, 'x-sluice-job': item.job, 'x-sluice-delivery': String(item.id) },
        body,
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(TIMEOUT_MS), this.stop.signal]),
      });
      await response.body?.cancel().catch(() => {});
      if (accepted(response.status)) {
        await this.store.finishOutbox(item.id, { ok: true });
        this.options.onOutcome?.('done');
        return;
      }
      error = `the receiver answered ${response.status}`;
    } catch (err) {
      if (err instanceof NotFoundError) {
        await this.store.finishOutbox(item.id, { ok: false, error: 'the job is gone (pruned)', retryAt: null });
        this.options.onOutcome?.('failed');
        return;
      }
      // Stopping mid-send: the lease lets the next server send it.
      if (this.stop.signal.aborted) return;
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      error = (err as Error).name === 'TimeoutError' ? `no answer within ${TIMEOUT_MS / 1000} s` : `cannot reach it: ${cause ?? (err as Error).message}`;
    }
    const giveUp = item.attempts >= this.options.attempts;
    const retryAt = giveUp ? null : Date.now() + Math.min(MAX_BACKOFF_MS, 1000 * 2 ** (item.attempts - 1));
    await this.store.finishOutbox(item.id, { ok: false, error, retryAt });
    this.options.onOutcome?.(giveUp ? 'failed' : 'retry');
    if (giveUp) this.options.log(`callbacks: gave up POSTing job ${item.job} to ${item.target} after ${item.attempts} tries: ${error}`);
  }
}

/** The record as JSON, or what the record's job type is returned as (a sioworkersd group's answer). */
function bodyOf(record: JobRecord): CallbackBody {
  return (
    sioworkersdReturn(record) ?? {
      headers: { 'content-type': 'application/json', 'user-agent': 'sluice' },
      body: JSON.stringify(toWire(record)),
      accepted: (status) => status >= 200 && status < 300,
    }
  );
}

import { UnavailableError } from '../environ/index.js';
import type { Store, StoreEvent } from '../store/index.js';

/** Events kept in memory for followers (about 0.5 KiB each). */
const DEFAULT_CAPACITY = 20_000;
/** Events read from the store per batch. */
const BATCH = 1000;
/** Longest sleep between store reads (wake-ups usually come sooner). */
const POLL_MS = 100;
const RETRY_MAX_MS = 5000;

/**
 * One reader of the event log for a long-lived process with many followers (`sluice serve`: SSE
 * clients, moi's WebSockets, long polls). It follows the store once and keeps the recent events
 * in memory; a follower asks for "the events after N" and is answered from memory when N is
 * recent, from the store when it is older (a client back after a long absence). Followers share
 * the event objects, so what is derived from one (its JSON) can be made once for all of them.
 * Without it every follower would read the store after every commit.
 */
export class EventHub {
  /** the events after `from`, in order, up to `seq` */
  private buffer: StoreEvent[] = [];
  private from = 0;
  private seq = 0;
  private waiters = new Set<() => void>();
  private readonly stop = new AbortController();
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly options: { capacity?: number; log?: (line: string) => void; onEvents?: (events: StoreEvent[]) => void } = {},
  ) {}

  /** The last sequence number read. */
  get last(): number {
    return this.seq;
  }

  async start(): Promise<void> {
    this.seq = this.from = await this.store.lastSeq();
    this.loop = this.follow();
  }

  async close(): Promise<void> {
    this.stop.abort();
    this.wake();
    await this.loop;
  }

  /**
   * The events after `seq` (at most `limit`), as soon as there is one; [] when `timeoutMs` passes
   * or `signal` fires first.
   */
  async after(seq: number, limit: number, timeoutMs: number, signal?: AbortSignal): Promise<StoreEvent[]> {
    // A follower left behind by a closed hub must end, not spin.
    if (this.stop.signal.aborted) throw new UnavailableError('the event stream has stopped (the server is stopping)');
    if (seq < this.from) return this.store.eventsAfter(seq, limit);
    if (seq >= this.seq) await this.next(timeoutMs, signal);
    if (seq < this.from) return this.store.eventsAfter(seq, limit);
    return this.slice(seq, limit);
  }

  private slice(seq: number, limit: number): StoreEvent[] {
    // The first buffered event after seq, by binary search (sequence numbers only grow).
    let lo = 0;
    let hi = this.buffer.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.buffer[mid]!.seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    return this.buffer.slice(lo, lo + limit);
  }

  private next(timeoutMs: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted || this.stop.signal.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.stop.signal.addEventListener('abort', done, { once: true });
    });
  }

  private wake(): void {
    for (const done of [...this.waiters]) done();
  }

  private async follow(): Promise<void> {
    let failures = 0;
    while (!this.stop.signal.aborted) {
      try {
        const mark = this.store.changeMark();
        const events = await this.store.eventsAfter(this.seq, BATCH);
        if (events.length) {
          this.buffer.push(...events);
          this.seq = events[events.length - 1]!.seq;
          const capacity = this.options.capacity ?? DEFAULT_CAPACITY;
          if (this.buffer.length > capacity) {
            const dropped = this.buffer.splice(0, this.buffer.length - capacity);
            this.from = dropped[dropped.length - 1]!.seq;
          }
          this.options.onEvents?.(events);
          this.wake();
        }
        if (failures) this.options.log?.(`the event log answers again after ${failures} failed read(s)`);
        failures = 0;
        if (events.length < BATCH) await this.store.waitForChange(POLL_MS, this.stop.signal, mark);
      } catch (err) {
        failures++;
        if (failures === 1 || failures % 20 === 0) this.options.log?.(`reading the event log failed (${failures} in a row): ${(err as Error).message}`);
        await this.pause(Math.min(RETRY_MAX_MS, 100 * 2 ** failures));
      }
    }
  }
}

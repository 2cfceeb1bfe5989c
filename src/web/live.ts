import { get, type NodeInfo, type Page } from './api.js';

/** A change as the stream sends it: the node's info after the change, with its sequence number. */
export interface Change {
  verb: 'add' | 'update';
  seq: number;
  id: string;
  info: NodeInfo;
}

export type LiveState = 'connecting' | 'open' | 'lost' | 'paused';

type Listener = (change: Change) => void;

/** A view's subscription: what it is shown the changes after (and then the last one it was given). */
interface Follower {
  listener: Listener;
  seen: number;
}

const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 4000;
/** How many of the latest changes are kept for views whose listing comes back after them. */
const KEEP = 5000;

/**
 * The dashboard's one live connection: the server's resumable event stream (GET /api/v1/events),
 * followed from a sequence number. It never asks for the current state (that is what the views
 * read from the API, each listing saying the sequence number it is as of): each view follows from
 * the number its data is as of (`follow`), and gets every change after it exactly once. The changes
 * received lately are kept, so that a view whose listing came back after some of them were received
 * gets them at once; a view whose data is older than what is kept makes the stream start again from
 * its number (the other views skip what they already had). A drop, a server restart or a hidden tab
 * resumes after the last number received, so nothing is lost and nothing repeated. While the tab is
 * hidden the stream is closed; it is opened again, from where it was, when the tab is shown. A
 * `resync` (the changes were pruned meanwhile) makes every view read its data anew.
 */
export class Live {
  private es: EventSource | null = null;
  private seq: number | null = null;
  private retryMs = RETRY_MIN_MS;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly followers = new Set<Follower>();
  /** Every change received after `keptFrom`, oldest first (at most KEEP). */
  private kept: Change[] = [];
  private keptFrom: number | null = null;
  private readonly stateListeners = new Set<(s: LiveState) => void>();
  private readonly resyncListeners = new Set<() => void>();
  state: LiveState = 'connecting';
  /** changes handed on, and dropped as already seen (for the tests and the status line) */
  counts = { delivered: 0, dropped: 0, connects: 0 };

  constructor() {
    document.addEventListener('visibilitychange', () => {
      if (document.hidden) this.pause();
      else this.resume();
    });
  }

  get last(): number | null {
    return this.seq;
  }

  /** Starts following, from the server's last sequence number, or from an older one a view's data is as of. */
  async start(): Promise<void> {
    let from: number;
    try {
      from = (await get<Page>('/api/v1/jobs?limit=1')).seq;
    } catch {
      this.setState('lost');
      this.schedule(() => void this.start());
      return;
    }
    for (const f of this.followers) if (f.seen >= 0) from = Math.min(from, f.seen);
    this.seq = from;
    this.keptFrom = from;
    this.kept = [];
    if (!document.hidden) this.connect();
    else this.setState('paused');
  }

  /**
   * Every change after `asOf` (the sequence number the caller's data is as of), each once: those
   * already received at once, the others as they come.
   */
  follow(asOf: number, listener: Listener): () => void {
    const follower: Follower = { listener, seen: asOf };
    this.followers.add(follower);
    if (this.keptFrom !== null && asOf >= this.keptFrom) {
      for (const c of this.kept) this.hand(follower, c);
    } else if (this.seq !== null && asOf < this.seq) {
      this.rewind(asOf);
    }
    return () => this.followers.delete(follower);
  }

  /** Every change from now on. */
  on(listener: Listener): () => void {
    return this.follow(this.seq ?? -1, listener);
  }

  onState(listener: (s: LiveState) => void): () => void {
    this.stateListeners.add(listener);
    return () => this.stateListeners.delete(listener);
  }

  onResync(listener: () => void): () => void {
    this.resyncListeners.add(listener);
    return () => this.resyncListeners.delete(listener);
  }

  private hand(follower: Follower, change: Change): void {
    if (change.seq <= follower.seen) return;
    follower.seen = change.seq;
    follower.listener(change);
  }

  /** The stream again from `seq` (a view's data is older than the changes kept). */
  private rewind(seq: number): void {
    this.seq = seq;
    this.keptFrom = seq;
    this.kept = [];
    if (this.es) this.connect();
  }

  private setState(state: LiveState): void {
    if (this.state === state) return;
    this.state = state;
    for (const l of this.stateListeners) l(state);
  }

  private schedule(fn: () => void): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(fn, this.retryMs);
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
  }

  private close(): void {
    clearTimeout(this.timer);
    this.es?.close();
    this.es = null;
  }

  private pause(): void {
    this.close();
    if (this.seq !== null) this.setState('paused');
  }

  private resume(): void {
    if (this.seq === null || this.es) return;
    this.retryMs = RETRY_MIN_MS;
    this.connect();
  }

  private connect(): void {
    this.close();
    if (this.seq === null) return;
    if (this.state !== 'lost') this.setState('connecting');
    const es = new EventSource(`/api/v1/events?since=${this.seq}`);
    this.es = es;
    this.counts.connects++;
    es.onopen = () => {
      this.retryMs = RETRY_MIN_MS;
      this.setState('open');
    };
    // EventSource would reconnect by itself, but not after an answer that is not a stream (a
    // restarting server's 503), and not always from our own number: reconnect here, after a pause.
    es.onerror = () => {
      if (this.es !== es) return;
      this.close();
      this.setState('lost');
      this.schedule(() => this.connect());
    };
    const change = (m: MessageEvent<string>) => {
      if (this.es !== es) return;
      const c = JSON.parse(m.data) as Change;
      if (this.seq !== null && c.seq <= this.seq) {
        this.counts.dropped++;
        return;
      }
      this.seq = c.seq;
      this.counts.delivered++;
      this.kept.push(c);
      if (this.kept.length > KEEP) this.keptFrom = this.kept.shift()!.seq;
      for (const f of [...this.followers]) this.hand(f, c);
    };
    es.addEventListener('add', change);
    es.addEventListener('update', change);
    es.addEventListener('sync', (m: MessageEvent<string>) => {
      const { seq } = JSON.parse(m.data) as { seq: number };
      if (this.seq === null || seq > this.seq) this.seq = seq;
    });
    es.addEventListener('resync', () => {
      // What we missed was pruned: start again from now, and have every view read its data anew
      // (each follows again from its new data's number; what the old followers were as of is gone).
      this.close();
      this.seq = null;
      this.keptFrom = null;
      this.kept = [];
      for (const f of this.followers) f.seen = -1;
      for (const l of this.resyncListeners) l();
      void this.start();
    });
  }
}

export const live = new Live();
// For people and tests who look from the console: the last sequence number and the counts.
(window as unknown as { sluiceLive: Live }).sluiceLive = live;

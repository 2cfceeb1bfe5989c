import type pg from 'pg';
import { pgModule } from './pgModule.js';

/** How long the listener waits before it reconnects, doubling up to RECONNECT_MAX_MS. */
const RECONNECT_MS = 100;
const RECONNECT_MAX_MS = 5000;

/**
 * One connection that LISTENs on the store's channel, so that a commit anywhere (a submit on another
 * machine, a worker's result) wakes this process's waiters within milliseconds. It reconnects by
 * itself when the server goes away; `onReconnect` then says that notifications may have been missed.
 */
export class Listener {
  onReconnect: () => void = () => {};
  private client: pg.Client | undefined;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private delay = RECONNECT_MS;

  constructor(
    private readonly config: pg.ClientConfig,
    readonly channel: string,
    private readonly onNotify: (payload: string) => void,
  ) {}

  async start(): Promise<void> {
    const client = new (pgModule().Client)(this.config);
    client.on('notification', (m) => this.onNotify(m.payload ?? ''));
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    await client.connect();
    await client.query(`LISTEN "${this.channel.replace(/"/g, '""')}"`);
    this.client = client;
    this.delay = RECONNECT_MS;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => {});
  }

  private lost(client: pg.Client): void {
    if (this.stopped || this.client !== client) return;
    this.client = undefined;
    client.removeAllListeners('end');
    void client.end().catch(() => {});
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.start().then(
        () => this.onReconnect(),
        () => {
          this.delay = Math.min(RECONNECT_MAX_MS, this.delay * 2);
          this.schedule();
        },
      );
    }, this.delay);
    this.timer.unref();
  }
}

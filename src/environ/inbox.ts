/**
 * A run's control messages (PARK's control), in the order they were sent: whoever reads them (the
 * job's code through `ctx.messages()` or `ctx.on('message')`, or a job type that passes them on to
 * its process) gets each once, including those that came before it started listening. It ends
 * when the run ends.
 */
export class Inbox {
  private readonly queue: unknown[] = [];
  private readonly listeners = new Set<(message: unknown) => void>();
  private readonly waiting: Array<(result: IteratorResult<unknown>) => void> = [];
  private closed = false;

  push(message: unknown): void {
    if (this.closed) return;
    if (this.listeners.size) {
      for (const listen of this.listeners) listen(message);
      return;
    }
    const waiter = this.waiting.shift();
    if (waiter) waiter({ value: message, done: false });
    else this.queue.push(message);
  }

  /** Calls `listen` with every message not yet taken, then with each new one; returns the way to stop. */
  forward(listen: (message: unknown) => void): () => void {
    for (const message of this.queue.splice(0)) listen(message);
    this.listeners.add(listen);
    return () => this.listeners.delete(listen);
  }

  close(): void {
    this.closed = true;
    for (const waiter of this.waiting.splice(0)) waiter({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterator<unknown> {
    return {
      next: () => {
        if (this.queue.length) return Promise.resolve({ value: this.queue.shift(), done: false });
        if (this.closed) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve) => this.waiting.push(resolve));
      },
    };
  }
}

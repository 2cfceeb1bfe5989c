/**
 * Counts the changes a process has seen in its store and wakes the waiters: its own commits
 * (`local`) and other processes' (`external`, from whatever the driver watches: the SQLite WAL
 * file, PostgreSQL's LISTEN). `mark()` is the count now, and `wait(…, since)` returns as soon as the
 * count passes `since`. A consumer takes a mark before it reads, then waits since that mark, so a
 * change between its read and its wait is never missed, whoever else in the process looked meanwhile.
 */
export class ChangeCounter {
  private readonly waiters = new Set<() => void>();
  private count = 0;
  private closed = false;

  /** `look()` asks the source whether something happened that it has not said yet (a poll); it returns true if so. */
  constructor(
    private readonly look: () => boolean = () => false,
    private readonly pollMs = 50,
  ) {}

  /** The number of changes seen so far (the source is looked at first). */
  mark(): number {
    if (!this.closed) this.look();
    return this.count;
  }

  /** A change happened (this process's commit, or one the source saw): wake everyone waiting. */
  bump(): void {
    this.count++;
    for (const wake of [...this.waiters]) wake();
  }

  /** Resolves once a change after `since` (default: now) is seen, or on timeout or abort. */
  wait(timeoutMs: number, signal?: AbortSignal, since?: number): Promise<void> {
    const base = since ?? this.mark();
    if (this.mark() > base || signal?.aborted || this.closed) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        clearInterval(poll);
        signal?.removeEventListener('abort', done);
        this.waiters.delete(wake);
        resolve();
      };
      const wake = () => {
        if (this.count > base || this.closed) done();
      };
      const timer = setTimeout(done, timeoutMs);
      const poll = setInterval(() => this.look(), this.pollMs);
      signal?.addEventListener('abort', done, { once: true });
      this.waiters.add(wake);
    });
  }

  /** Whether anyone waits (a source may skip work when nobody does). */
  get waiting(): boolean {
    return this.waiters.size > 0;
  }

  close(): void {
    this.closed = true;
    this.bump();
  }
}

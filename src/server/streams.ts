import { RateLimitedError } from '../environ/index.js';

export type StreamKind = 'sse' | 'ws';

/**
 * The live streams a server holds open (SSE and moi's WebSocket): at most `perUser` each user
 * (429 beyond), counted by kind for /metrics, and all ended at once when the server stops.
 */
export class Streams {
  private readonly open = new Set<{ user: string; kind: StreamKind; end: () => void }>();
  private closed = false;

  constructor(private readonly perUser: number) {}

  /** Registers a stream; `end` stops it (the server is stopping). Returns the release to call when it ends. */
  add(user: string, kind: StreamKind, end: () => void): () => void {
    if (this.closed) throw new RateLimitedError('the server is stopping', 5);
    let mine = 0;
    for (const s of this.open) if (s.user === user) mine++;
    if (mine >= this.perUser) throw new RateLimitedError(`${user} has ${mine} streams open already, the most one user may (SLUICE_MAX_STREAMS)`, 5);
    const entry = { user, kind, end };
    this.open.add(entry);
    return () => this.open.delete(entry);
  }

  count(kind: StreamKind): number {
    let n = 0;
    for (const s of this.open) if (s.kind === kind) n++;
    return n;
  }

  /** Ends every stream (graceful shutdown): SSE clients get their last events and a closed response. */
  closeAll(): void {
    this.closed = true;
    for (const s of [...this.open]) s.end();
    this.open.clear();
  }
}

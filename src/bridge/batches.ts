import type { StreamItem } from '../service/index.js';
import type { NodeInfo } from '../store/index.js';

/** What the bridge writes in one go: the current state (a stream's header), or the changes that came together. */
export type Batch = { kind: 'snapshot' | 'changes'; infos: NodeInfo[]; seq: number };

export interface BatchOptions {
  /** a batch of changes is written once no change has come for this long (ms) */
  idleMs?: number;
  /** or once its first change is this old (ms), however busy the stream */
  maxDelayMs?: number;
  /** or once it holds this many changes */
  max?: number;
}

const IDLE = Symbol('idle');

/**
 * Groups a stream's items into batches: `get` items up to their `sync` become one snapshot (a
 * `resync` starts a new one: the current state follows); `add`/`update` items become batches of
 * changes, written together so that a burst of events costs one Redis round trip, not one each.
 */
export async function* batches(items: AsyncIterable<StreamItem>, options: BatchOptions = {}): AsyncGenerator<Batch> {
  const { idleMs = 2, maxDelayMs = 50, max = 1000 } = options;
  const it = items[Symbol.asyncIterator]();
  let pending: Promise<IteratorResult<StreamItem>> | undefined;
  let snapshot: NodeInfo[] | undefined;
  let changes: NodeInfo[] = [];
  let seq = -1;
  let firstAt = 0;
  try {
    while (true) {
      pending ??= it.next();
      let next: IteratorResult<StreamItem> | typeof IDLE;
      if (changes.length) {
        let timer: NodeJS.Timeout | undefined;
        const wait = Math.max(0, Math.min(idleMs, firstAt + maxDelayMs - Date.now()));
        next = await Promise.race([pending, new Promise<typeof IDLE>((resolve) => (timer = setTimeout(() => resolve(IDLE), wait)))]);
        clearTimeout(timer);
      } else {
        next = await pending;
      }
      if (next === IDLE) {
        yield { kind: 'changes', infos: changes, seq };
        changes = [];
        continue;
      }
      pending = undefined;
      if (next.done) break;
      const item = next.value;
      if (item.verb === 'resync') {
        // The current state follows and supersedes what came before.
        snapshot = [];
        changes = [];
      } else if (item.verb === 'get') {
        (snapshot ??= []).push(item.info);
      } else if (item.verb === 'sync') {
        yield { kind: 'snapshot', infos: snapshot ?? [], seq: item.seq };
        snapshot = undefined;
      } else {
        if (!changes.length) firstAt = Date.now();
        changes.push(item.info);
        seq = item.seq;
        if (changes.length >= max) {
          yield { kind: 'changes', infos: changes, seq };
          changes = [];
        }
      }
    }
    if (changes.length) yield { kind: 'changes', infos: changes, seq };
  } finally {
    // The stream ends on its own signal; a next() still pending is not waited for here.
    void Promise.resolve(it.return?.()).catch(() => {});
  }
}

import { whyImpossible, type WorkerOffer } from '../../schedule/index.js';
import type { WorkerInfo } from '../types.js';

/** The waiting note of a queued unit that no live worker could hold (schedule/placement's words), or null. */
export function unplaceableNote(need: { ramMb: number; exclusive: boolean }, workers: WorkerInfo[]): string | null {
  const offers: WorkerOffer[] = workers.map((w) => ({ concurrency: w.concurrency, ramMb: w.ram_mb, exclusive: w.exclusive }));
  const why = whyImpossible(need, offers);
  return why ? `${UNPLACEABLE_PREFIX}${why}` : null;
}

/** Every such note starts so (a later pass clears the notes that no longer hold). */
export const UNPLACEABLE_PREFIX = 'cannot run yet: ';

/** The failure of a unit lost too often: it may be what kills the workers it lands on. */
export function lostTooOften(times: number): string {
  return `lost: the workers running this unit stopped answering ${times} times (kill -9, a crash, a lost connection); stopped there in case the job itself kills its workers`;
}

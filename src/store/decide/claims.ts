import type { ClaimRequest } from '../types.js';
import type { ClaimedRow, QueueKey } from '../driver.js';

export type Pick = ClaimRequest['picks'][number];

export function queueKeyOf(q: QueueKey): string {
  return `${q.pool}\u0000${q.owner}\u0000${q.class}\u0000${q.exclusive ? 1 : 0}`;
}

/** All picks of one queue as one pick with the summed count, in order of first appearance. */
export function mergePicks(picks: Pick[]): Pick[] {
  const merged = new Map<string, Pick>();
  for (const p of picks) {
    if (p.count <= 0) continue;
    const key = queueKeyOf(p);
    const m = merged.get(key);
    if (m) m.count += p.count;
    else merged.set(key, { ...p });
  }
  return [...merged.values()];
}

/**
 * Each claimed unit fits the worker's free RAM alone; together they may not. Keeps them in pick order
 * (then priority, then age) while they fit; the rest go back.
 */
export function packByRam(rows: ClaimedRow[], picks: Pick[], freeRamMb: number): { claimed: ClaimedRow[]; back: ClaimedRow[] } {
  const order = new Map(picks.map((p, i) => [queueKeyOf(p), i]));
  const sorted = [...rows].sort((a, b) => order.get(queueKeyOf(a))! - order.get(queueKeyOf(b))! || b.priority - a.priority || a.id - b.id);
  let free = freeRamMb;
  const claimed: ClaimedRow[] = [];
  const back: ClaimedRow[] = [];
  for (const row of sorted) {
    if (row.ramMb <= free) {
      free -= row.ramMb;
      claimed.push(row);
    } else {
      back.push(row);
    }
  }
  return { claimed, back };
}

/** Queue deltas for units, summed per queue; `sign` 1 joins, −1 leaves. */
export function deltasOf(units: Array<QueueKey & { ramMb: number }>, sign: 1 | -1): Array<QueueKey & { n: number; ramMb: number }> {
  const out = new Map<string, QueueKey & { n: number; ramMb: number }>();
  for (const u of units) {
    const key = queueKeyOf(u);
    const d = out.get(key) ?? { pool: u.pool, owner: u.owner, class: u.class, exclusive: u.exclusive, n: 0, ramMb: 0 };
    d.n += sign;
    if (sign > 0) d.ramMb = Math.max(d.ramMb, u.ramMb);
    out.set(key, d);
  }
  return [...out.values()];
}

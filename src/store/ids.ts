import { randomFillSync } from 'node:crypto';

const pool = Buffer.alloc(10 * 256);
let poolOffset = pool.length;

/**
 * A UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then random bits. Ids made later sort
 * later, so new rows land at the end of the primary-key index instead of on a random page: the
 * database touches (and commits) far fewer pages per batch than with random UUIDs.
 */
export function uuid7(now = Date.now()): string {
  if (poolOffset + 10 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const r = pool.subarray(poolOffset, (poolOffset += 10));
  const hex = now.toString(16).padStart(12, '0');
  const b = (i: number) => r[i]!.toString(16).padStart(2, '0');
  const variant = ((r[2]! & 0x3f) | 0x80).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-7${(r[0]! & 0x0f).toString(16)}${b(1)}-${variant}${b(3)}-${b(4)}${b(5)}${b(6)}${b(7)}${b(8)}${b(9)}`;
}

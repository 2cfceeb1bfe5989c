import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new token: 32 random bytes, base64url, with a prefix that says what it is (secret scanners know it). */
export function newToken(): string {
  return `sluice_${randomBytes(32).toString('base64url')}`;
}

/**
 * What the store keeps of a token: its SHA-256. A lookup by hash leaks nothing useful through its
 * timing (a guess's hash has nothing to do with the hashes stored), and a stolen database holds no
 * token.
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Whether `given` is `expected`, in time that does not depend on where they differ. */
export function sameToken(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

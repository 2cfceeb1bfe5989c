import { UsageError } from '../environ/index.js';

/**
 * A page's cursor: where the next page of a listing starts (the last node's date and id, in the
 * list's order), as an opaque URL-safe string. Pages never repeat or skip a node however many are
 * added meanwhile: a listing is in creation order and new nodes come after every cursor.
 */
export function encodeCursor(after: { date: number; id: string }): string {
  return Buffer.from(JSON.stringify([after.date, after.id])).toString('base64url');
}

export function decodeCursor(text: string): { date: number; id: string } {
  try {
    const [date, id] = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof date === 'number' && Number.isFinite(date) && typeof id === 'string' && id.length <= 100) return { date, id };
  } catch {
    // not ours
  }
  throw new UsageError('cursor: not a cursor this server gave (pass "next" from the previous page as it came)');
}

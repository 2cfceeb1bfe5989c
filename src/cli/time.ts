import { UsageError } from '../environ/index.js';

export { parseDuration } from '../environ/index.js';

/** An ISO 8601 time, or HH:MM (today, or tomorrow if that has passed) → ms since the epoch. */
export function parseTime(text: string, option: string, now = new Date()): number {
  const hm = /^(\d{1,2}):(\d{2})$/.exec(text.trim());
  if (hm) {
    const [h, min] = [Number(hm[1]), Number(hm[2])];
    if (h > 23 || min > 59) throw new UsageError(`${option}: no such time of day "${text}"`);
    const at = new Date(now);
    at.setHours(h, min, 0, 0);
    if (at.getTime() <= now.getTime()) at.setDate(at.getDate() + 1);
    return at.getTime();
  }
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) throw new UsageError(`${option} must be a time like 2026-11-24T18:00 or 18:00, got "${text}"`);
  return ms;
}

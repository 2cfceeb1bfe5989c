import { UsageError } from '../environ/index.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90", "90s", "5m", "1.5h", "250ms", "2d" → milliseconds (a bare number is seconds). */
export function parseDuration(text: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) throw new UsageError(`${option} must be a duration like 30s, 5m, 2h or 1d, got "${text}"`);
  return Number(m[1]) * UNITS[m[2] ?? 's']!;
}

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

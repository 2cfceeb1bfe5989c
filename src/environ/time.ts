import { UsageError } from './errors.js';

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * "90", "90s", "5m", "1.5h", "250ms", "2d" → milliseconds. A bare number is in `bareUnit`
 * (seconds for timeouts and delays; days for retention, as INTERFACE.md has it).
 */
export function parseDuration(text: string, what: string, bareUnit: 's' | 'd' = 's'): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(String(text).trim());
  if (!m) throw new UsageError(`${what} must be a duration like 30s, 5m, 12h or 7d${bareUnit === 'd' ? ' (a plain number is days)' : ''}, got "${text}"`);
  return Number(m[1]) * UNITS[m[2] ?? bareUnit]!;
}

/** A duration as people read it: "30s", "5m", "12h", "7d" (whole units where possible). */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['d', UNITS.d!], ['h', UNITS.h!], ['m', UNITS.m!], ['s', UNITS.s!]] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)}s` : `${ms}ms`;
}

/** moi's date layout in local time, as every human output prints times: "2026-12-01 15:46:49.977". */
export function formatLocalTime(ms: number | null): string {
  if (ms === null) return 'None';
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

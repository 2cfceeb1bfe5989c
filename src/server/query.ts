import { UsageError } from '../environ/index.js';

/**
 * Reading a request's query string, each parameter checked at once: a mistyped value is a 400
 * naming it, never ignored. Repeated parameters are refused (which one would win is a guess).
 */
export class Query {
  constructor(private readonly raw: Record<string, unknown>) {}

  text(name: string, max = 1000): string | undefined {
    const value = this.raw[name];
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw new UsageError(`${name}: give it once`);
    if (value.length > max) throw new UsageError(`${name}: at most ${max} characters`);
    return value;
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const value = this.text(name);
    if (value === undefined) return undefined;
    const found = allowed.find((a) => a.toLowerCase() === value.toLowerCase());
    if (!found) throw new UsageError(`${name} must be one of ${allowed.join(', ')}, got "${value}"`);
    return found;
  }

  number(name: string, min: number, max: number, integer = false): number | undefined {
    const value = this.text(name);
    if (value === undefined) return undefined;
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
      throw new UsageError(`${name} must be a ${integer ? 'whole ' : ''}number from ${min} to ${max}, got "${value}"`);
    }
    return n;
  }

  bool(name: string): boolean {
    const value = this.text(name);
    if (value === undefined) return false;
    if (['1', 'true', 'yes', ''].includes(value.toLowerCase())) return true;
    if (['0', 'false', 'no'].includes(value.toLowerCase())) return false;
    throw new UsageError(`${name} must be true or false, got "${value}"`);
  }

  /** A time: ISO-8601, or ms since the epoch. */
  time(name: string): number | undefined {
    const value = this.text(name);
    if (value === undefined) return undefined;
    const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
    if (!Number.isFinite(ms)) throw new UsageError(`${name} must be a time (ISO-8601, e.g. 2026-12-01T09:00:00Z), got "${value}"`);
    return ms;
  }
}

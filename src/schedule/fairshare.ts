/**
 * Slurm's classic fair-share factor, normalised over the active owners:
 *
 *     F = 2^(−U/S)   U = the owner's usage / the total usage of the active owners
 *                    S = the owner's share / the total shares of the active owners
 *
 * F is 1 for an owner with no usage, 0.5 for an owner exactly on target (U = S), and falls towards 0
 * the more an owner has used beyond its share. An owner's usage is its decayed charged seconds
 * (`usage.ts`) plus a provisional charge for the units it is running right now.
 */
import { UsageError } from '../environ/errors.js';
import { CLASS_CHARGE, type PriorityClass } from './classes.js';
import type { Policy } from './order.js';
import { decayed, type Usage } from './usage.js';

export interface OwnerState {
  owner: string;
  /** The owner's share (any positive number; only ratios matter). Default `DEFAULT_SHARE`. */
  share: number;
  /** Decayed charged seconds of finished units. */
  usage: Usage;
  /**
   * Provisional charge of the owner's running units: the sum over them of
   * max(elapsed, estimate) × CLASS_CHARGE[class], in seconds (see `runningSeconds()`).
   */
  runningSeconds: number;
  /** The provisional charge of a unit it starts now (before the class charge), seconds; default `policy.estimateSeconds`. */
  estimateSeconds?: number;
  /** Strict rank (default 0): `planClaims` serves owners of a higher rank first (sioworkersd's contest_priority). */
  rank?: number;
}

/** The share of an owner nobody set a share for. */
export const DEFAULT_SHARE = 1;

/** A running unit, as `runningSeconds()` needs it. */
export interface RunningUnit {
  class: PriorityClass;
  /** When it was claimed (ms since the epoch). */
  startedAt: number;
}

/**
 * The provisional charge of running units: each counts max(elapsed seconds, `policy.estimateSeconds`)
 * times its class's charge, so a unit weighs on its owner from the moment it is claimed and a long one
 * weighs more as it runs. When it finishes, drop it from here and `charge()` its real seconds instead.
 */
export function runningSeconds(units: Iterable<RunningUnit>, now: number, policy: Pick<Policy, 'estimateSeconds'>): number {
  let sum = 0;
  for (const u of units) sum += Math.max((now - u.startedAt) / 1000, policy.estimateSeconds) * CLASS_CHARGE[u.class];
  return sum;
}

/** How much one finished unit moves an owner's learned unit length (`learnUnitSeconds`). */
export const UNIT_SECONDS_WEIGHT = 0.2;

/**
 * An owner's typical unit length, learned from its finished units: the first one sets it, each later
 * one moves it by `UNIT_SECONDS_WEIGHT` (a decayed mean, so it follows an owner whose work changes).
 * It replaces the policy's fixed estimate as the provisional charge of the owner's running units, so
 * that short units are not charged a minute each while they run.
 * `units` finished units with a mean of `meanSeconds` count as that many observations.
 */
export function learnUnitSeconds(previous: number | null, meanSeconds: number, units = 1): number {
  if (!Number.isFinite(meanSeconds) || meanSeconds < 0 || !(units >= 1)) throw new RangeError(`a unit length must be a finite number of seconds >= 0 over at least one unit, got ${meanSeconds} over ${units}`);
  if (previous === null) return meanSeconds;
  const keep = (1 - UNIT_SECONDS_WEIGHT) ** units;
  return previous * keep + meanSeconds * (1 - keep);
}

/** Parses an owner's share: a positive finite number (text or number); a clear `UsageError` otherwise. */
export function parseShare(value: string | number): number {
  const n = typeof value === 'number' ? value : String(value).trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`invalid share ${JSON.stringify(value)}: expected a positive number (the default is ${DEFAULT_SHARE}; only ratios between owners matter)`);
  return n;
}

/** Throws a RangeError unless the owner's share is a positive finite number. */
export function checkShare(o: Pick<OwnerState, 'owner' | 'share'>): void {
  if (!(o.share > 0) || !Number.isFinite(o.share)) throw new RangeError(`owner "${o.owner}" has share ${o.share}; a share must be a positive finite number (validate with parseShare)`);
}

/** Decayed usage plus running charge as of `now`, never negative. */
export function ownerSeconds(o: OwnerState, now: number, halfLifeMs: number): number {
  const s = decayed(o.usage, now, halfLifeMs) + o.runningSeconds;
  return s > 0 ? s : 0;
}

/**
 * The fair-share factor of each of the given owners, who should be the active ones (with queued or
 * running units): `2^(−U/S)` as above. All factors are 1 when their total usage is 0.
 * Throws a RangeError on a duplicate owner or an invalid share.
 */
export function ownerFactors(owners: readonly OwnerState[], now: number, policy: Pick<Policy, 'halfLifeMs'>): Map<string, number> {
  let shareSum = 0;
  let usedSum = 0;
  const used = new Float64Array(owners.length);
  const factors = new Map<string, number>();
  owners.forEach((o, i) => {
    factors.set(o.owner, 1);
    if (factors.size === i) throw new RangeError(`owner "${o.owner}" appears twice`);
    checkShare(o);
    const s = ownerSeconds(o, now, policy.halfLifeMs);
    used[i] = s;
    usedSum += s;
    shareSum += o.share;
  });
  if (usedSum > 0) {
    // 2^(−U/S) = exp(−ln2 × (used/usedSum) / (share/shareSum))
    const k = (-Math.LN2 * shareSum) / usedSum;
    owners.forEach((o, i) => factors.set(o.owner, Math.exp((k * (used[i] as number)) / o.share)));
  }
  return factors;
}

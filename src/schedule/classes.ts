/**
 * Priority classes. A unit's class multiplies its owner's fair-share order (`CLASS_WEIGHT`) and the
 * usage its seconds cost the owner (`CLASS_CHARGE`). "The default priority is free": `normal` has
 * weight 1 and charge 1. `urgent` goes first and is paid for later in fair share; `nice` soaks up idle
 * capacity (HTCondor's nice_user) and costs less.
 */
import { UsageError } from '../environ/errors.js';

export type PriorityClass = 'nice' | 'normal' | 'urgent';

/** Every class, from the lowest to the highest. */
export const PRIORITY_CLASSES: readonly PriorityClass[] = Object.freeze(['nice', 'normal', 'urgent'] as const);

/** The class of a unit submitted without one. */
export const DEFAULT_CLASS: PriorityClass = 'normal';

/**
 * Multiplier of a queue's score. With the same owner factor and the same time in queue, an urgent
 * queue is served before a normal one and a normal one before a nice one. A nice queue overtakes a
 * normal one of the same owner only once its time-in-queue term is 10× the normal queue's, i.e. after
 * about 9 × `ageMs` when the normal queue is being served (see `order.ts`).
 */
export const CLASS_WEIGHT: Readonly<Record<PriorityClass, number>> = Object.freeze({ nice: 0.1, normal: 1, urgent: 10 });

/**
 * Multiplier of the usage a unit's seconds add to its owner. Urgent work costs double, so an owner
 * who marks everything urgent soon falls behind others in fair share; nice work costs half, a reward
 * for using capacity nobody else wanted.
 */
export const CLASS_CHARGE: Readonly<Record<PriorityClass, number>> = Object.freeze({ nice: 0.5, normal: 1, urgent: 2 });

/** Rank of a class for tie-breaking: higher goes first. */
export const CLASS_RANK: Readonly<Record<PriorityClass, number>> = Object.freeze({ nice: 0, normal: 1, urgent: 2 });

export function isPriorityClass(value: unknown): value is PriorityClass {
  return value === 'nice' || value === 'normal' || value === 'urgent';
}

/** Parses a class name (case and surrounding spaces ignored); a clear `UsageError` otherwise. */
export function parseClass(text: string): PriorityClass {
  const name = String(text).trim().toLowerCase();
  if (isPriorityClass(name)) return name;
  throw new UsageError(`unknown priority class "${text}": expected one of ${PRIORITY_CLASSES.join(', ')} (default ${DEFAULT_CLASS})`);
}

/**
 * Decaying usage (Slurm's `PriorityDecayHalfLife`, HTCondor's `PRIORITY_HALFLIFE`): an owner's usage is
 * the seconds it consumed, each second weighing `0.5^(age / halfLife)`. It is stored as one value and the
 * time it was last brought up to date, so decaying it is one multiplication and nothing needs a timer.
 */

/** Decayed seconds as of `at` (ms since the epoch). */
export interface Usage {
  value: number;
  at: number;
}

/** No usage yet. */
export const NO_USAGE: Usage = Object.freeze({ value: 0, at: 0 });

/**
 * The factor by which usage shrinks over `elapsedMs`: `0.5^(elapsedMs / halfLifeMs)`.
 * A negative interval (a clock that went backwards) does not grow usage: the factor is then 1.
 * `halfLifeMs = Infinity` means no decay.
 */
export function decayFactor(elapsedMs: number, halfLifeMs: number): number {
  if (!(halfLifeMs > 0)) throw new RangeError(`the usage half-life must be a positive number of ms, got ${halfLifeMs}`);
  if (!(elapsedMs > 0)) return 1;
  return Math.exp((-Math.LN2 * elapsedMs) / halfLifeMs); // = 0.5^(elapsed/halfLife); exp is several times faster than pow
}

/** The usage value as of `now`. */
export function decayed(u: Usage, now: number, halfLifeMs: number): number {
  if (u.value === 0) return 0;
  return u.value * decayFactor(now - u.at, halfLifeMs);
}

/**
 * Decays `u` to `now`, then adds `seconds` (already multiplied by the class's charge, see `CLASS_CHARGE`).
 * Returns a new value; `u` is not changed. A charge stamped earlier than `u.at` (clocks of two
 * machines) is added without moving `at` backwards.
 */
export function charge(u: Usage, seconds: number, now: number, halfLifeMs: number): Usage {
  if (!Number.isFinite(seconds) || seconds < 0) throw new RangeError(`a usage charge must be a finite number of seconds >= 0, got ${seconds}`);
  const at = Math.max(now, u.at);
  return { value: decayed(u, at, halfLifeMs) + seconds, at };
}

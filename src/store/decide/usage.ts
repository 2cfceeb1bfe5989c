import { charge, learnUnitSeconds } from '../../schedule/index.js';
import type { OwnerRow } from '../driver.js';

/** What finished units of one owner used: their charged seconds, and their lengths to learn from. */
export interface OwnerUse {
  charge: number;
  seconds: number;
  units: number;
}

/** Owners' usage after finished units: decayed to now, plus the charge; their typical unit length learned (schedule/). */
export function chargedOwners(stored: OwnerRow[], used: Map<string, OwnerUse>, now: number, halfLifeMs: number): Array<Omit<OwnerRow, 'share' | 'rank'>> {
  const byName = new Map(stored.map((o) => [o.owner, o]));
  return [...used].map(([owner, u]) => {
    const old = byName.get(owner);
    const usage = charge({ value: old?.usage ?? 0, at: old?.usageAt ?? now }, u.charge, now, halfLifeMs);
    const unitSeconds = u.units ? learnUnitSeconds(old?.unitSeconds ?? null, u.seconds / u.units, u.units) : (old?.unitSeconds ?? null);
    return { owner, usage: usage.value, usageAt: usage.at, unitSeconds };
  });
}

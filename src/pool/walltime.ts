import { parseDuration, UsageError } from '../environ/index.js';

/**
 * A walltime as `sluice pool slurm --time` takes it: Sluice's durations (`90m`, `2h`, `1.5d`) or
 * Slurm's own forms (a plain number is minutes, `MM:SS`, `HH:MM:SS`, `D-HH`, `D-HH:MM`,
 * `D-HH:MM:SS`), so that a line copied from an existing sbatch script works. Returns ms.
 */
export function parseWalltime(text: string, what = '--time'): number {
  const t = text.trim();
  let ms: number | undefined;
  let m: RegExpExecArray | null;
  if (/^\d+$/.test(t)) ms = Number(t) * 60_000;
  else if ((m = /^(\d+):(\d\d)$/.exec(t))) ms = (Number(m[1]) * 60 + Number(m[2])) * 1000;
  else if ((m = /^(\d+):(\d\d):(\d\d)$/.exec(t))) ms = (Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])) * 1000;
  else if ((m = /^(\d+)-(\d+)(?::(\d\d)(?::(\d\d))?)?$/.exec(t))) {
    ms = (((Number(m[1]) * 24 + Number(m[2])) * 60 + Number(m[3] ?? 0)) * 60 + Number(m[4] ?? 0)) * 1000;
  } else if (/^\d+(\.\d+)?(s|m|h|d)$/.test(t)) ms = parseDuration(t, what);
  if (ms === undefined || ms <= 0) {
    throw new UsageError(`${what} must be a walltime like 2h, 90m, 1-12:00:00 or 30 (minutes, as in sbatch), got "${text}"`);
  }
  return ms;
}

/** ms as Slurm's `D-HH:MM:SS` (seconds rounded up: Slurm counts whole ones, and more time never hurts a pool). */
export function slurmWalltime(ms: number): string {
  let s = Math.ceil(ms / 1000);
  const days = Math.floor(s / 86_400);
  s -= days * 86_400;
  const p = (n: number) => String(n).padStart(2, '0');
  const hms = `${p(Math.floor(s / 3600))}:${p(Math.floor((s % 3600) / 60))}:${p(s % 60)}`;
  return days ? `${days}-${hms}` : hms;
}

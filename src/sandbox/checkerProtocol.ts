import { parseFraction } from './fraction.js';
import { capResultString, decodeLossy } from './text.js';

/**
 * What a custom checker (`chk in out hint`) said, read as sioworkers does (notes §3.3):
 * line 1 exactly `OK` or anything else (WA); line 2 a comment (the result_string); line 3 the
 * percentage of full marks (an integer, a decimal or a fraction; empty means 100).
 */
export type CheckerVerdict =
  | { result: 'OK' | 'WA'; comment: string; percentage: [number, number] }
  | { result: 'SE'; reason: string };

/** Reads the checker's stdout; `exitCode` 0 or 1 are answers, anything else is the checker's failure. */
export function readCheckerOutput(stdout: Uint8Array, exitCode: number): CheckerVerdict {
  if (exitCode !== 0 && exitCode !== 1) return { result: 'SE', reason: `checker exited with code ${exitCode}` };
  const lines = decodeLossy(stdout).split('\n');
  const [first = '', second = '', third = ''] = lines;
  const comment = capResultString(second);
  if (first !== 'OK') return { result: 'WA', comment, percentage: [0, 1] };
  if (third.trim() === '') return { result: 'OK', comment, percentage: [100, 1] };
  const percentage = parseFraction(third);
  if (!percentage) return { result: 'SE', reason: `checker printed a percentage that is not a number: ${JSON.stringify(capResultString(third, 100))}` };
  return { result: 'OK', comment, percentage };
}

/**
 * A checker's percentage, parsed like Python's `Fraction(str)` (as sioworkers does): an integer,
 * a decimal with an optional exponent, or `a/b`; reduced; whitespace around it allowed.
 * Returns undefined for anything else (`42 2`, `42/`, `42/0`, `abc`, `42/2.1`).
 */
const FRACTION = /^\s*([+-]?)(?=\d|\.\d)(\d*)(?:\/(\d+)|(?:\.(\d*))?(?:[eE]([+-]?\d+))?)\s*$/;

export function parseFraction(text: string): [number, number] | undefined {
  const m = FRACTION.exec(text);
  if (!m) return undefined;
  const [, sign, whole = '', denom, decimals, exponent] = m;
  let num = BigInt(whole || '0');
  let den = 1n;
  if (denom !== undefined) {
    den = BigInt(denom);
    if (den === 0n) return undefined;
  } else {
    if (decimals) {
      num = num * 10n ** BigInt(decimals.length) + BigInt(decimals);
      den = 10n ** BigInt(decimals.length);
    }
    if (exponent !== undefined) {
      const e = Number(exponent);
      if (Math.abs(e) > 400) return undefined;
      if (e >= 0) num *= 10n ** BigInt(e);
      else den *= 10n ** BigInt(-e);
    }
  }
  if (sign === '-') num = -num;
  const g = gcd(num < 0n ? -num : num, den);
  const [n, d] = [num / g, den / g];
  if (!Number.isSafeInteger(Number(n)) || !Number.isSafeInteger(Number(d))) return undefined;
  return [Number(n), Number(d)];
}

function gcd(a: bigint, b: bigint): bigint {
  while (b) [a, b] = [b, a % b];
  return a || 1n;
}

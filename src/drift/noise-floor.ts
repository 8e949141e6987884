import { chi2Sf } from './special.js';

/**
 * How large PSI and the Jensen–Shannon distance get by chance alone when a window of n rows comes
 * from the reference's own distribution (N rows), so a fixed threshold can be raised for small
 * windows instead of firing on noise. For small differences both are chi-square statistics in
 * disguise: PSI = Σ (q − p) ln(q/p) ≈ Σ (q − p)²/p, and with q estimated from n rows and p from N,
 * Σ (q − p)²/p ≈ χ²(k − 1) · (1/n + 1/N). The Jensen–Shannon divergence is an eighth of that
 * (in nats), the distance its square root in bits. Checked against simulation in the tests.
 */

/** The chi-square quantile: the x with P(χ²(k) > x) = 1 − level (bisection on scipy-checked chi2Sf). */
export function chi2Quantile(level: number, k: number): number {
  if (!(level > 0 && level < 1) || !(k > 0)) throw new RangeError(`chi2Quantile needs 0 < level < 1 and k > 0, got ${level}, ${k}`);
  let lo = 0;
  let hi = Math.max(1, k);
  while (chi2Sf(hi, k) > 1 - level) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * hi; i++) {
    const mid = (lo + hi) / 2;
    if (chi2Sf(mid, k) > 1 - level) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** PSI that a window of n rows from the reference exceeds with probability 1 − level, for `bins` bins. */
export function psiNoiseFloor(n: number, referenceN: number, bins: number, level = 0.99): number {
  if (!(n > 0) || !(referenceN > 0) || !(bins >= 2)) return Number.POSITIVE_INFINITY;
  return chi2Quantile(level, bins - 1) * (1 / n + 1 / referenceN);
}

/** Jensen–Shannon distance (base 2) a window of n rows from the reference exceeds with probability 1 − level. */
export function jensenShannonNoiseFloor(n: number, referenceN: number, categories: number, level = 0.99): number {
  if (!(n > 0) || !(referenceN > 0)) return Number.POSITIVE_INFINITY;
  if (categories < 2) return 0;
  return Math.sqrt((chi2Quantile(level, categories - 1) * (1 / n + 1 / referenceN)) / (8 * Math.LN2));
}

/**
 * Drift statistics for categorical distributions given as counts per category
 * (Record<string, number> or Map<string, number>). Both work over the union
 * of categories, so a category that appears only in the current data, or
 * vanishes from it, contributes to the score.
 */
import { DriftInputError } from './errors.js';
import { chi2Sf } from './special.js';

export type CategoryCounts = Record<string, number> | Map<string, number>;

/**
 * Pseudo-count added to every reference category, only when some category of
 * the current data was never seen in the reference. Without it the expected
 * frequency of a new category is 0 and Pearson's statistic is Infinity
 * (scipy returns inf and p = 0); with it the statistic is large but finite,
 * grows with how often the new category occurs, and stays comparable between
 * runs. When every current category exists in the reference nothing is
 * smoothed and the result is exactly scipy.stats.chisquare.
 */
export const CHI_SQUARE_PSEUDO_COUNT = 0.5;

function entries(counts: CategoryCounts, argument: string): Array<[string, number]> {
  if (counts == null || typeof counts !== 'object') throw new DriftInputError(argument, 'expected a Record or Map of counts');
  const list: Array<[string, number]> = counts instanceof Map ? Array.from(counts.entries()) : Object.entries(counts);
  for (const [k, v] of list) {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new DriftInputError(argument, `count for category ${JSON.stringify(k)} must be a finite number >= 0, got ${String(v)}`);
    }
  }
  return list;
}

/**
 * Aligns two count tables over the union of categories (reference order
 * first, then categories new in current), dropping categories that are zero
 * in both. Throws DriftInputError when a side has no observations.
 */
export function alignCounts(
  referenceCounts: CategoryCounts,
  currentCounts: CategoryCounts,
): { categories: string[]; reference: Float64Array; current: Float64Array; referenceTotal: number; currentTotal: number } {
  const ref = entries(referenceCounts, 'referenceCounts');
  const cur = entries(currentCounts, 'currentCounts');
  const index = new Map<string, number>();
  const categories: string[] = [];
  const r: number[] = [];
  const c: number[] = [];
  for (const [k, v] of ref) {
    let i = index.get(k);
    if (i === undefined) { i = categories.length; index.set(k, i); categories.push(k); r.push(0); c.push(0); }
    r[i] += v;
  }
  for (const [k, v] of cur) {
    let i = index.get(k);
    if (i === undefined) { i = categories.length; index.set(k, i); categories.push(k); r.push(0); c.push(0); }
    c[i] += v;
  }
  const keep: number[] = [];
  for (let i = 0; i < categories.length; i++) if (r[i] > 0 || c[i] > 0) keep.push(i);
  const reference = Float64Array.from(keep, (i) => r[i]);
  const current = Float64Array.from(keep, (i) => c[i]);
  let referenceTotal = 0;
  let currentTotal = 0;
  for (let i = 0; i < reference.length; i++) { referenceTotal += reference[i]; currentTotal += current[i]; }
  if (!(referenceTotal > 0)) throw new DriftInputError('referenceCounts', 'has no observations (empty or all zero)');
  if (!(currentTotal > 0)) throw new DriftInputError('currentCounts', 'has no observations (empty or all zero)');
  return { categories: keep.map((i) => categories[i]), reference, current, referenceTotal, currentTotal };
}

/** scipy.special.rel_entr for non-negative arguments. */
function relEntr(x: number, y: number): number {
  if (x > 0 && y > 0) return x * Math.log(x / y);
  if (x === 0 && y >= 0) return 0;
  return Infinity;
}

export interface JensenShannonOptions {
  /** Logarithm base; 2 (default) bounds the distance to [0, 1]. */
  base?: number;
}

/** Jensen-Shannon distance of two probability vectors that each sum to 1. */
export function jensenShannonFromProportions(p: ArrayLike<number>, q: ArrayLike<number>, base = 2): number {
  let left = 0;
  let right = 0;
  for (let i = 0; i < p.length; i++) {
    const m = (p[i] + q[i]) / 2;
    left += relEntr(p[i], m);
    right += relEntr(q[i], m);
  }
  let js = left + right;
  js /= Math.log(base);
  // Rounding can leave a tiny negative divergence for identical inputs; the
  // distance is 0 there (scipy would return NaN from sqrt of a negative).
  return Math.sqrt(Math.max(js / 2, 0));
}

/**
 * scipy.spatial.distance.jensenshannon(p, q, base) with p, q the count tables
 * normalised to probabilities over the union of categories. In base 2 the
 * result lies in [0, 1]: 0 identical, 1 disjoint supports.
 */
export function jensenShannon(
  referenceCounts: CategoryCounts,
  currentCounts: CategoryCounts,
  options: JensenShannonOptions = {},
): number {
  const base = options.base ?? 2;
  if (!(base > 0) || base === 1) throw new DriftInputError('base', `must be > 0 and != 1, got ${base}`);
  const { reference, current, referenceTotal, currentTotal } = alignCounts(referenceCounts, currentCounts);
  const p = reference.map((v) => v / referenceTotal);
  const q = current.map((v) => v / currentTotal);
  return jensenShannonFromProportions(p, q, base);
}

export interface ChiSquareResult {
  statistic: number;
  pValue: number;
  /** Degrees of freedom: number of categories in the union minus 1. */
  dof: number;
  /** True when the reference was smoothed because current has unseen categories. */
  smoothed: boolean;
}

/**
 * Pearson goodness of fit of the current counts against the reference
 * proportions: expected_i = referenceProportion_i * currentTotal, statistic
 * sum (observed - expected)^2 / expected, p-value chi2.sf(statistic, k - 1)
 * (scipy.stats.chisquare(current, f_exp=expected)). Categories absent from the
 * reference: see CHI_SQUARE_PSEUDO_COUNT. With a single category there is
 * nothing to test: statistic 0, p-value 1.
 */
export function chiSquare(referenceCounts: CategoryCounts, currentCounts: CategoryCounts): ChiSquareResult {
  const { reference, current, referenceTotal, currentTotal } = alignCounts(referenceCounts, currentCounts);
  const k = reference.length;
  let smoothed = false;
  for (let i = 0; i < k; i++) if (reference[i] === 0) smoothed = true;
  const alpha = smoothed ? CHI_SQUARE_PSEUDO_COUNT : 0;
  const denom = referenceTotal + alpha * k;
  let stat = 0;
  for (let i = 0; i < k; i++) {
    const expected = ((reference[i] + alpha) / denom) * currentTotal;
    const d = current[i] - expected;
    stat += (d * d) / expected;
  }
  if (k < 2) return { statistic: 0, pValue: 1, dof: 0, smoothed };
  return { statistic: stat, pValue: chi2Sf(stat, k - 1), dof: k - 1, smoothed };
}

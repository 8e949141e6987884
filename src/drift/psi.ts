/**
 * Population Stability Index with reference-quantile bins, matching
 *   edges = np.percentile(ref, np.linspace(0, 100, bins + 1)); edges[0] = -inf; edges[-1] = inf
 *   e = np.histogram(ref, edges)[0] / len(ref); a = np.histogram(cur, edges)[0] / len(cur)
 *   e, a = np.where(e == 0, 1e-10, e), np.where(a == 0, 1e-10, a)
 *   psi = sum((a - e) * ln(a / e))
 * Ties in the reference produce duplicate edges; np.histogram then gives the
 * zero-width bin a count of 0 (bins are [e_i, e_{i+1}) and only the last bin
 * is closed), so a value equal to a repeated edge lands in the bin to the
 * right of the last copy of that edge. binCounts() implements exactly that.
 */
import { requireFinite, type NumericInput } from './data.js';
import { DriftInputError } from './errors.js';
import { psiQuantileLevels, quantileDetails, type QuantileDetails } from './quantiles.js';
import { Binner } from './binner.js';

export const PSI_EPSILON = 1e-10;

export interface PsiOptions {
  bins?: number;
}

function checkBins(bins: number): void {
  if (!Number.isInteger(bins) || bins < 1) throw new DriftInputError('bins', `must be a positive integer, got ${bins}`);
}

/**
 * The bins + 1 PSI edges of finite reference values, outer edges -Infinity and
 * +Infinity (so every finite current value is counted).
 */
export function psiBinEdgesOf(reference: Float64Array, bins = 10): Float64Array {
  return referenceHistogram(reference, bins).edges;
}

/**
 * PSI edges and np.histogram counts of the reference itself. The counts come
 * from the order statistics when possible: an edge strictly between a[r] and
 * a[r+1] has exactly r + 1 values below it, so no binning pass is needed.
 * Edges that coincide with a data value (ties) fall back to binCounts().
 */
export function referenceHistogram(
  reference: Float64Array,
  bins = 10,
  details?: QuantileDetails,
): { edges: Float64Array; counts: Float64Array } {
  checkBins(bins);
  // Only the interior quantiles matter: the outer edges become ±Infinity.
  const d = details ?? quantileDetails(reference, psiQuantileLevels(bins).slice(1, bins));
  const edges = new Float64Array(bins + 1);
  edges.set(d.values.subarray(0, bins - 1), 1);
  edges[0] = -Infinity;
  edges[bins] = Infinity;
  const n = reference.length;
  const less = new Float64Array(bins + 1); // #(x < edge)
  less[bins] = n;
  for (let i = 0; i < bins - 1; i++) {
    const e = d.values[i];
    if (!(d.lower[i] < e && e < d.upper[i])) return { edges, counts: binCounts(reference, edges) };
    less[i + 1] = d.lowerRank[i] + 1;
  }
  const counts = new Float64Array(bins);
  for (let i = 0; i < bins; i++) counts[i] = less[i + 1] - less[i];
  return { edges, counts };
}

/** psiBinEdgesOf() for raw input (missing values ignored). */
export function psiBinEdges(reference: NumericInput, bins = 10): Float64Array {
  return psiBinEdgesOf(requireFinite(reference, 'reference'), bins);
}

/**
 * np.histogram(values, edges)[0] for finite values and non-decreasing edges:
 * count in bin i = #(x < e[i+1]) - #(x < e[i]), the last bin also taking
 * x == e[last]. Values outside [e[0], e[last]] are not counted.
 */
export function binCounts(values: Float64Array, edges: ArrayLike<number>): Float64Array {
  const nb = edges.length - 1;
  const counts = new Float64Array(nb);
  if (nb < 1) return counts;
  // bin index = number of interior-or-first edges <= x, minus 1; values below
  // e[0] go to slot 0 and are dropped, the closed last bin is patched below.
  const binner = new Binner(Array.from(edges).slice(0, nb));
  const raw = new Float64Array(binner.size + 1);
  binner.countInto(values, raw);
  for (let i = 0; i < nb; i++) counts[i] = raw[i + 1];
  const last = edges[nb];
  if (last !== Infinity) {
    // x >= e[last] landed in the last bin; keep x == e[last], drop x > e[last]
    let above = 0;
    for (let i = 0; i < values.length; i++) if (values[i] > last) above++;
    counts[nb - 1] -= above;
  }
  return counts;
}

/** Proportions count / total with zeros replaced by PSI_EPSILON. */
export function flooredProportions(counts: ArrayLike<number>, total: number): Float64Array {
  const p = new Float64Array(counts.length);
  for (let i = 0; i < counts.length; i++) {
    const v = counts[i] / total;
    p[i] = v === 0 ? PSI_EPSILON : v;
  }
  return p;
}

/** PSI from already-floored reference (expected) and current (actual) proportions. */
export function psiFromProportions(expected: ArrayLike<number>, actual: ArrayLike<number>): number {
  if (expected.length !== actual.length) throw new DriftInputError('actual', 'must have as many bins as expected');
  let s = 0;
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i];
    const a = actual[i];
    s += (a - e) * Math.log(a / e);
  }
  return s;
}

/** PSI of current against reference (see module comment). Missing values are ignored. */
export function psi(reference: NumericInput, current: NumericInput, options: PsiOptions = {}): number {
  const bins = options.bins ?? 10;
  checkBins(bins);
  const ref = requireFinite(reference, 'reference');
  const cur = requireFinite(current, 'current');
  const { edges, counts } = referenceHistogram(ref, bins);
  const e = flooredProportions(counts, ref.length);
  const a = flooredProportions(binCounts(cur, edges), cur.length);
  return psiFromProportions(e, a);
}

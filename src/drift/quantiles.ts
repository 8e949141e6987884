/**
 * numpy.percentile / numpy.quantile with the default method='linear'
 * (Hyndman & Fan type 7), reproduced operation for operation so that PSI bin
 * edges are bit-identical to numpy's: a value equal to an edge must fall in
 * the same bin in both implementations.
 */
import { requireFinite, type NumericInput } from './data.js';
import { selectRanks } from './sort.js';

/** Quantiles with the order statistics they were interpolated from. */
export interface QuantileDetails {
  values: Float64Array;
  /** 0-based rank of the lower neighbour, and the neighbours' values. */
  lowerRank: Int32Array;
  lower: Float64Array;
  upper: Float64Array;
}

/**
 * Quantiles (fractions in [0, 1]) of finite values, numpy's linear method.
 * `sorted` may be passed when the values are already sorted ascending.
 */
export function quantileDetails(values: Float64Array, qs: ArrayLike<number>, sorted = false): QuantileDetails {
  const n = values.length;
  const m = qs.length;
  const out: QuantileDetails = {
    values: new Float64Array(m), lowerRank: new Int32Array(m), lower: new Float64Array(m), upper: new Float64Array(m),
  };
  if (n === 0) {
    out.values.fill(NaN);
    return out;
  }
  // numpy: virtual index (n - 1) * q; neighbours floor(vi) and floor(vi) + 1,
  // both clamped to the last element once vi >= n - 1.
  const prev: number[] = [];
  const next: number[] = [];
  const gamma: number[] = [];
  for (let i = 0; i < m; i++) {
    const vi = (n - 1) * qs[i];
    let p = Math.floor(vi);
    let nx = p + 1;
    if (vi >= n - 1) { p = n - 1; nx = n - 1; }
    if (vi < 0) { p = 0; nx = 0; }
    prev.push(p);
    next.push(nx);
    gamma.push(vi - Math.floor(vi));
  }
  let lookup: (r: number) => number;
  if (sorted) {
    lookup = (r) => values[r];
  } else {
    const ranks = Array.from(new Set([...prev, ...next])).sort((a, b) => a - b);
    const vals = selectRanks(values, ranks);
    const found = new Map<number, number>();
    ranks.forEach((r, i) => found.set(r, vals[i]));
    lookup = (r) => found.get(r) as number;
  }
  for (let i = 0; i < m; i++) {
    const a = lookup(prev[i]);
    const b = lookup(next[i]);
    const g = gamma[i];
    // numpy._lerp: a + (b-a)*t, but b - (b-a)*(1-t) when t >= 0.5 (keeps monotonicity)
    const d = b - a;
    out.values[i] = g >= 0.5 ? b - d * (1 - g) : a + d * g;
    out.lowerRank[i] = prev[i];
    out.lower[i] = a;
    out.upper[i] = b;
  }
  return out;
}

/** Quantiles (fractions in [0, 1]) of finite values, numpy's linear method. */
export function quantilesOf(values: Float64Array, qs: ArrayLike<number>, sorted = false): Float64Array {
  return quantileDetails(values, qs, sorted).values;
}

/** numpy.percentile(values, q) for q in [0, 100]; missing values are ignored. */
export function percentile(values: NumericInput, q: ArrayLike<number>): Float64Array {
  const v = requireFinite(values, 'values');
  // numpy divides by 100 first (np.true_divide(q, 100)), then interpolates.
  const qs = Array.from(q, (x) => x / 100);
  return quantilesOf(v, qs);
}

/**
 * The q values numpy.linspace(0, 100, bins + 1) produces, divided by 100 as
 * numpy.percentile does: i * (100 / bins) / 100, with the last forced to 1.
 */
export function psiQuantileLevels(bins: number): number[] {
  const step = 100 / bins;
  const qs: number[] = [];
  for (let i = 0; i <= bins; i++) qs.push((i === bins ? 100 : i * step) / 100);
  return qs;
}

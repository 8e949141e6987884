/**
 * 1-D Wasserstein-1 (earth mover's) distance between two unweighted samples,
 * as scipy.stats.wasserstein_distance: the integral of |F_u - F_v| over the
 * pooled sorted values, i.e. sum over consecutive pooled values of
 * |F_u(x_k) - F_v(x_k)| * (x_{k+1} - x_k) with right-continuous ECDFs.
 * All terms are >= 0, so there is no cancellation.
 */
import { requireFinite, type NumericInput } from './data.js';
import { sortedCopy } from './sort.js';

/** Wasserstein-1 distance of two ascending-sorted finite samples (linear merge). */
export function wassersteinSorted(u: Float64Array, v: Float64Array): number {
  const n1 = u.length;
  const n2 = v.length;
  let i = 0;
  let j = 0;
  // Terms are >= 0: block partial sums keep the rounding error near numpy's
  // pairwise summation without a compensated (branchy) sum.
  let total = 0;
  let block = 0;
  let inBlock = 0;
  // Current pooled value x and the ECDFs just after it (i / n1, j / n2).
  let x = u[0] <= v[0] ? u[0] : v[0];
  while (i < n1 && u[i] === x) i++;
  while (j < n2 && v[j] === x) j++;
  while (i < n1 && j < n2) {
    const a = u[i];
    const b = v[j];
    const nx = a <= b ? a : b;
    const diff = i / n1 - j / n2;
    block += (diff < 0 ? -diff : diff) * (nx - x);
    if (++inBlock === 1024) { total += block; block = 0; inBlock = 0; }
    x = nx;
    while (i < n1 && u[i] === x) i++;
    while (j < n2 && v[j] === x) j++;
  }
  // One sample is exhausted: its ECDF is 1 from here on.
  for (; i < n1; ) {
    const nx = u[i];
    block += (1 - i / n1) * (nx - x); // j === n2: |i/n1 - 1|
    x = nx;
    while (i < n1 && u[i] === x) i++;
    if (++inBlock === 1024) { total += block; block = 0; inBlock = 0; }
  }
  for (; j < n2; ) {
    const nx = v[j];
    block += (1 - j / n2) * (nx - x);
    x = nx;
    while (j < n2 && v[j] === x) j++;
    if (++inBlock === 1024) { total += block; block = 0; inBlock = 0; }
  }
  return total + block;
}

/**
 * scipy.stats.wasserstein_distance(reference, current). Missing values are
 * ignored; an argument with no finite value throws DriftInputError.
 */
export function wasserstein(reference: NumericInput, current: NumericInput): number {
  const u = sortedCopy(requireFinite(reference, 'reference'));
  const v = sortedCopy(requireFinite(current, 'current'));
  return wassersteinSorted(u, v);
}

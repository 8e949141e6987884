/**
 * Two-sample Kolmogorov-Smirnov test, a port of scipy.stats.ks_2samp with its
 * defaults (alternative='two-sided', method='auto'):
 *  - statistic: sup |F1 - F2| over the pooled sample, ECDFs evaluated with
 *    side='right' so ties are handled as scipy does;
 *  - 'auto' tries the exact null distribution when max(n1, n2) <= 10000
 *    (Hodges' lattice-path counting: a closed form when n1 == n2, Viehmann's
 *    stable "inside" recursion otherwise), with the statistic snapped to the
 *    lattice h / lcm(n1, n2);
 *  - if the exact computation is not attempted or yields a value outside
 *    [0, 1], it falls back to the asymptotic p-value kstwo.sf(d, round(n1 n2 / (n1 + n2))).
 */
import { requireFinite, roundHalfEven, type NumericInput } from './data.js';
import { kolmogorovSmirnovSf } from './kolmogorov.js';
import { Binner } from './binner.js';
import { mulberry32 } from './random.js';
import { nextUp, sortedCopy } from './sort.js';

export interface KsResult {
  statistic: number;
  pValue: number;
  /** Which null distribution produced the p-value (scipy's 'auto' choice). */
  method: 'exact' | 'asymp';
}

const MAX_AUTO_N = 10000;

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** scipy's statistic from the two extreme ECDF differences. */
function pickStatistic(maxDiff: number, minDiff: number): number {
  const minS = Math.min(Math.max(-minDiff, 0), 1);
  return minS > maxDiff ? minS : maxDiff;
}

/** KS statistic of two ascending-sorted finite samples (linear merge). */
export function ksStatisticSorted(a: Float64Array, b: Float64Array): number {
  const n1 = a.length;
  const n2 = b.length;
  let i = 0;
  let j = 0;
  let maxDiff = 0;
  let minDiff = 0;
  while (i < n1 && j < n2) {
    const v = a[i] <= b[j] ? a[i] : b[j];
    while (i < n1 && a[i] === v) i++;
    while (j < n2 && b[j] === v) j++;
    const d = i / n1 - j / n2;
    if (d > maxDiff) maxDiff = d;
    else if (d < minDiff) minDiff = d;
  }
  // Once one sample is exhausted the difference moves monotonically to 0,
  // so the remaining points cannot set a new extreme.
  return pickStatistic(maxDiff, minDiff);
}

/** P(D_{n,n} >= h/n), scipy's Horner-like alternating sum. */
function probOutsideSquare(n: number, h: number): number {
  let P = 0;
  let k = Math.floor(n / h);
  while (k >= 0) {
    let p1 = 1;
    for (let j = 0; j < h; j++) p1 = ((n - k * h - j) * p1) / (n + k * h + j + 1);
    P = p1 * (1 - P);
    k -= 1;
  }
  return 2 * P;
}

/**
 * Proportion of lattice paths from (0,0) to (m,n) that leave the band
 * |x/m - y/n| < h/lcm (Viehmann's recursion for 1 - p, sliding window).
 */
function outerProbInside(m0: number, n0: number, g: number, h: number): number {
  let m = m0;
  let n = n0;
  if (m < n) [m, n] = [n, m];
  const mg = m / g;
  const ng = n / g;
  let minj = 0;
  let maxj = Math.min(Math.ceil(h / mg), n + 1);
  let curlen = maxj - minj;
  const lenA = Math.min(2 * maxj + 2, n + 1);
  const A = new Float64Array(lenA).fill(1);
  for (let q = minj; q < Math.min(maxj, lenA); q++) A[q] = 0;
  for (let i = 1; i <= m; i++) {
    const lastminj = minj;
    const lastlen = curlen;
    minj = Math.min(Math.max(Math.floor((ng * i - h) / mg) + 1, 0), n);
    maxj = Math.min(Math.ceil((ng * i + h) / mg), n + 1);
    if (maxj <= minj) return 1;
    let val = minj === 0 ? 0 : 1;
    const shift = minj - lastminj;
    for (let jj = 0; jj < maxj - minj; jj++) {
      const j = jj + minj;
      val = (A[jj + shift] * i + val * j) / (i + j);
      A[jj] = val;
    }
    curlen = maxj - minj;
    if (lastlen > curlen) {
      const end = Math.min(curlen + (lastlen - curlen), lenA);
      for (let q = curlen; q < end; q++) A[q] = 1;
    }
  }
  return A[maxj - minj - 1];
}

/**
 * ks_2samp's p-value for sample sizes n1, n2 and raw statistic d.
 * Returns the (possibly lattice-snapped) statistic with the p-value.
 */
export function ksPValue(n1: number, n2: number, d: number): KsResult {
  let stat = d;
  if (Math.max(n1, n2) <= MAX_AUTO_N) {
    const g = gcd(n1, n2);
    const lcm = (n1 / g) * n2;
    const h = roundHalfEven(d * lcm);
    stat = h / lcm;
    if (h === 0) return { statistic: stat, pValue: 1, method: 'exact' };
    const prob = n1 === n2 ? probOutsideSquare(n1, h) : outerProbInside(n1, n2, g, h);
    if (prob >= 0 && prob <= 1) return { statistic: stat, pValue: prob, method: 'exact' };
    // scipy: "Exact calculation unsuccessful. Switching to method=asymp"
  }
  const m = Math.max(n1, n2);
  const n = Math.min(n1, n2);
  const en = (m * n) / (m + n);
  const p = kolmogorovSmirnovSf(roundHalfEven(en), stat);
  return { statistic: stat, pValue: Math.min(Math.max(p, 0), 1), method: 'asymp' };
}

/**
 * KS statistic of two unsorted finite samples, without sorting them. The
 * pooled data is cut into ~4000 buckets at sample quantiles (each splitter
 * value getting a bucket of its own, so ties are exact); one branch-free pass
 * per sample counts bucket sizes. At each bucket's last pooled value the ECDF
 * difference is known exactly, and inside a bucket it is bounded by the
 * bucket's mass; only buckets whose bound beats the best exact value found are
 * sorted and merged. The candidates are the same values scipy evaluates
 * (i/n1 - j/n2 at pooled points), so the result is identical, just cheaper
 * than two full sorts.
 */
export function ksStatisticUnsorted(a: Float64Array, b: Float64Array): number {
  const n1 = a.length;
  const n2 = b.length;
  if (n1 + n2 < 65536) return ksStatisticSorted(sortedCopy(a), sortedCopy(b));
  // Splitters: quantiles of a pooled random sample, deduplicated.
  const s = 16384;
  const rnd = mulberry32(0x5eed5);
  const raw = new Float64Array(s);
  for (let i = 0; i < s; i++) {
    const k = Math.floor(rnd() * (n1 + n2));
    raw[i] = k < n1 ? a[k] : b[k - n1];
  }
  const sample = sortedCopy(raw);
  const splitters: number[] = [];
  for (let i = 8; i < s; i += 8) { // 2047 splitters: 4094 bounds, the two-level Binner width
    const v = sample[i];
    if (splitters.length === 0 || splitters[splitters.length - 1] !== v) splitters.push(v);
  }
  // Bucket 2k+1 holds exactly splitters[k]; bucket 2k the open gap before it.
  const bounds = new Float64Array(2 * splitters.length);
  for (let k = 0; k < splitters.length; k++) {
    bounds[2 * k] = splitters[k];
    bounds[2 * k + 1] = nextUp(splitters[k]);
  }
  const binner = new Binner(bounds);
  const nb = bounds.length + 1;
  const ca = new Float64Array(binner.size + 1);
  const cb = new Float64Array(binner.size + 1);
  const ba = new Uint16Array(n1);
  const bb = new Uint16Array(n2);
  binner.indexInto(a, ba, ca);
  binner.indexInto(b, bb, cb);
  // The statistic is max(max diff, -min diff) (scipy's pick), so one running
  // maximum of |diff| suffices. Exact value at the last pooled point of every
  // non-empty bucket first.
  let D = 0;
  let A = 0;
  let B = 0;
  for (let p = 0; p < nb; p++) {
    if (ca[p] + cb[p] === 0) continue;
    A += ca[p];
    B += cb[p];
    const d = A / n1 - B / n2;
    D = Math.max(D, d, -d);
  }
  // Inside a gap bucket the difference moves from its start value to its end
  // value, rising by at most ca/n1 and falling by at most cb/n2 on the way;
  // only buckets whose bound could beat D get the exact merge. (The 1e-12
  // margin covers rounding in the bounds; refining more never hurts.)
  const refine = new Uint8Array(nb);
  const startA = new Float64Array(nb);
  const startB = new Float64Array(nb);
  let any = false;
  A = 0;
  B = 0;
  for (let p = 0; p < nb; p++) {
    startA[p] = A;
    startB[p] = B;
    const ka = ca[p];
    const kb = cb[p];
    if ((p & 1) === 0 && ka + kb > 1) {
      const start = A / n1 - B / n2;
      const end = (A + ka) / n1 - (B + kb) / n2;
      const hi = Math.min(start + ka / n1, end + kb / n2);
      const lo = Math.max(start - kb / n2, end - ka / n1);
      if (Math.max(hi, -lo) + 1e-12 > D) { refine[p] = 1; any = true; }
    }
    A += ka;
    B += kb;
  }
  if (!any) return D;
  // Gather the refined buckets' values, sort them per bucket, and merge.
  const offA = new Int32Array(nb + 1);
  const offB = new Int32Array(nb + 1);
  for (let p = 0; p < nb; p++) {
    offA[p + 1] = offA[p] + (refine[p] ? ca[p] : 0);
    offB[p + 1] = offB[p] + (refine[p] ? cb[p] : 0);
  }
  const ga = new Float64Array(offA[nb]);
  const gb = new Float64Array(offB[nb]);
  const posA = offA.slice(0, nb);
  const posB = offB.slice(0, nb);
  for (let i = 0; i < n1; i++) { const p = ba[i]; if (refine[p]) ga[posA[p]++] = a[i]; }
  for (let i = 0; i < n2; i++) { const p = bb[i]; if (refine[p]) gb[posB[p]++] = b[i]; }
  // Buckets are value-ordered and laid out in bucket order, so one sort of the
  // gathered values sorts every bucket's segment in place.
  const sa = sortedCopy(ga);
  const sb = sortedCopy(gb);
  for (let p = 0; p < nb; p++) {
    if (!refine[p]) continue;
    const xa = sa.subarray(offA[p], offA[p + 1]);
    const xb = sb.subarray(offB[p], offB[p + 1]);
    let i = 0;
    let j = 0;
    const a0 = startA[p];
    const b0 = startB[p];
    while (i < xa.length || j < xb.length) {
      const v = j >= xb.length || (i < xa.length && xa[i] <= xb[j]) ? xa[i] : xb[j];
      while (i < xa.length && xa[i] === v) i++;
      while (j < xb.length && xb[j] === v) j++;
      const d = (a0 + i) / n1 - (b0 + j) / n2;
      D = Math.max(D, d, -d);
    }
  }
  return D;
}

/**
 * Two-sample KS test equal to scipy.stats.ks_2samp(reference, current).
 * Missing values (null, undefined, NaN, ±Infinity) are ignored; an argument
 * with no finite value throws DriftInputError.
 */
export function ksTest(reference: NumericInput, current: NumericInput): KsResult {
  const a = requireFinite(reference, 'reference');
  const b = requireFinite(current, 'current');
  return ksPValue(a.length, b.length, ksStatisticUnsorted(a, b));
}

/**
 * ks_2samp(sortedReference, current) without sorting `current` (finite
 * values): the supremum is attained either at a reference value or just
 * before one, so per distinct reference value we only need #(current < u)
 * and #(current <= u), which one branch-free binning pass provides.
 */
export function ksAgainstSortedReference(sortedReference: Float64Array, current: Float64Array): KsResult {
  const n1 = sortedReference.length;
  const n2 = current.length;
  const distinct: number[] = [];
  const cum: number[] = []; // #(ref <= u_k)
  for (let i = 0; i < n1; i++) {
    const v = sortedReference[i];
    if (distinct.length === 0 || distinct[distinct.length - 1] !== v) {
      distinct.push(v);
      cum.push(i + 1);
    } else {
      cum[cum.length - 1] = i + 1;
    }
  }
  const K = distinct.length;
  const bounds = new Float64Array(2 * K);
  for (let k = 0; k < K; k++) {
    bounds[2 * k] = distinct[k];
    bounds[2 * k + 1] = nextUp(distinct[k]);
  }
  const binner = new Binner(bounds);
  const counts = new Float64Array(binner.size + 1);
  binner.countInto(current, counts);
  let maxDiff = 0;
  let minDiff = 0;
  let below = 0; // #(current < u_k)
  let prevCum = 0;
  for (let k = 0; k < K; k++) {
    below += counts[2 * k]; // the gap before u_k
    const left = prevCum / n1 - below / n2; // at the last current value before u_k
    const le = below + counts[2 * k + 1];
    const at = cum[k] / n1 - le / n2; // at u_k itself
    if (left > maxDiff) maxDiff = left;
    if (left < minDiff) minDiff = left;
    if (at > maxDiff) maxDiff = at;
    if (at < minDiff) minDiff = at;
    below = le;
    prevCum = cum[k];
  }
  return ksPValue(n1, n2, pickStatistic(maxDiff, minDiff));
}

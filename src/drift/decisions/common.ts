/**
 * Small shared pieces of the decision building blocks: input checks that
 * throw one DriftInputError naming the argument, the standard normal
 * quantile, the Wilson interval, and seeded shuffling.
 */
import { DriftInputError } from '../errors.js';
import { mulberry32 } from '../random.js';

export { DriftInputError };

export function requireNumber(value: unknown, argument: string, check: { min?: number; max?: number; integer?: boolean; openMin?: boolean; openMax?: boolean } = {}): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new DriftInputError(argument, `must be a finite number, got ${String(value)}`);
  if (check.integer && !Number.isInteger(value)) throw new DriftInputError(argument, `must be an integer, got ${value}`);
  const { min, max } = check;
  if (min !== undefined && (check.openMin ? !(value > min) : !(value >= min))) {
    throw new DriftInputError(argument, `must be ${check.openMin ? '>' : '>='} ${min}, got ${value}`);
  }
  if (max !== undefined && (check.openMax ? !(value < max) : !(value <= max))) {
    throw new DriftInputError(argument, `must be ${check.openMax ? '<' : '<='} ${max}, got ${value}`);
  }
  return value;
}

/** A probability in the open interval (0, 1), e.g. a confidence level or a quantile. */
export function requireOpenUnit(value: unknown, argument: string): number {
  return requireNumber(value, argument, { min: 0, max: 1, openMin: true, openMax: true });
}

export function requireArrayLike(value: unknown, argument: string, what = 'an array'): ArrayLike<unknown> {
  if (value == null || typeof value !== 'object' || typeof (value as ArrayLike<unknown>).length !== 'number') {
    throw new DriftInputError(argument, `expected ${what}`);
  }
  return value as ArrayLike<unknown>;
}

/** Copies numbers into a Float64Array, rejecting anything non-finite or outside [min, max]. */
export function requireNumbers(value: unknown, argument: string, range: { min?: number; max?: number; nonEmpty?: boolean } = {}): Float64Array {
  const a = requireArrayLike(value, argument, 'an array of numbers');
  if (range.nonEmpty !== false && a.length === 0) throw new DriftInputError(argument, 'is empty');
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) throw new DriftInputError(argument, `value at index ${i} is not a finite number (${String(x)})`);
    if ((range.min !== undefined && x < range.min) || (range.max !== undefined && x > range.max)) {
      throw new DriftInputError(argument, `value at index ${i} is outside [${range.min ?? '-inf'}, ${range.max ?? 'inf'}] (${x})`);
    }
    out[i] = x;
  }
  return out;
}

/**
 * Standard normal quantile (scipy.stats.norm.ppf), Wichura's AS 241
 * (PPND16): relative error about 1e-16 over (0, 1), no refinement needed.
 */
export function normalQuantile(p: number): number {
  requireOpenUnit(p, 'p');
  const q = p - 0.5;
  if (Math.abs(q) <= 0.425) {
    const r = 0.180625 - q * q;
    return (q * (((((((2509.0809287301226727 * r + 33430.575583588128105) * r + 67265.770927008700853) * r
      + 45921.953931549871457) * r + 13731.693765509461125) * r + 1971.5909503065514427) * r + 133.14166789178437745) * r
      + 3.387132872796366608))
      / (((((((5226.495278852545925 * r + 28729.085735721942674) * r + 39307.89580009271061) * r
      + 21213.794301586595867) * r + 5394.1960214247511077) * r + 687.1870074920579083) * r + 42.313330701600911252) * r + 1);
  }
  let r = Math.sqrt(-Math.log(q < 0 ? p : 1 - p));
  let x: number;
  if (r <= 5) {
    r -= 1.6;
    x = (((((((7.7454501427834140764e-4 * r + 0.0227238449892691845833) * r + 0.24178072517745061177) * r
      + 1.27045825245236838258) * r + 3.64784832476320460504) * r + 5.7694972214606914055) * r + 4.6303378461565452959) * r
      + 1.42343711074968357734)
      / (((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r + 0.0151986665636164571966) * r
      + 0.14810397642748007459) * r + 0.68976733498510000455) * r + 1.6763848301838038494) * r + 2.05319162663775882187) * r + 1);
  } else {
    r -= 5;
    x = (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 0.0012426609473880784386) * r
      + 0.026532189526576123093) * r + 0.29656057182850489123) * r + 1.7848265399172913358) * r + 5.4637849111641143699) * r
      + 6.6579046435011037772)
      / (((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r + 1.8463183175100546818e-5) * r
      + 7.868691311456132591e-4) * r + 0.0148753612908506148525) * r + 0.13692988092273580531) * r + 0.59983220655588793769) * r + 1);
  }
  return q < 0 ? -x : x;
}

/** Two-sided z for a confidence level, e.g. 0.95 -> 1.959963984540054. */
export function zFor(confidence: number): number {
  requireOpenUnit(confidence, 'confidence');
  return normalQuantile(1 - (1 - confidence) / 2);
}

/**
 * Wilson score interval for `successes` out of `n` (n may be fractional, an
 * effective sample size). Unlike the Wald interval it stays inside [0, 1]
 * and is sensible near 0 and 1, where error rates of good models live.
 * n = 0 gives the uninformative [0, 1].
 */
export function wilsonInterval(successes: number, n: number, confidence = 0.95): { lower: number; upper: number } {
  requireNumber(n, 'n', { min: 0 });
  requireNumber(successes, 'successes', { min: 0, max: n });
  const z = zFor(confidence);
  if (n === 0) return { lower: 0, upper: 1 };
  const p = successes / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { lower: Math.max(0, centre - half), upper: Math.min(1, centre + half) };
}

/** FNV-1a of a string: independent seeds per feature name, whatever the feature order. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A seeded generator derived from a seed and a label. */
export function seededRandom(seed: number, label = ''): () => number {
  return mulberry32((seed ^ hashString(label)) >>> 0);
}

/**
 * Moves a uniform random choice of `k` of the n indices into perm[0 .. k)
 * (partial Fisher-Yates); k = n gives a full permutation.
 */
export function partialShuffle(perm: Int32Array, k: number, random: () => number): void {
  const n = perm.length;
  for (let i = 0; i < k && i < n - 1; i++) {
    const j = i + Math.floor(random() * (n - i));
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
}

/** numpy.quantile(values, q) with the default linear method; `values` is sorted in place. */
export function linearQuantile(values: Float64Array, q: number): number {
  values.sort();
  const h = (values.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, values.length - 1);
  return values[lo] + (values[hi] - values[lo]) * (h - lo);
}

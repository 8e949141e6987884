import { DriftInputError } from './errors.js';

/** Anything array-like holding numbers; null/undefined/NaN/±Infinity count as missing. */
export type NumericInput = ArrayLike<number | null | undefined>;

/** A numeric column with the missing entries removed, plus how many were removed. */
export interface FiniteValues {
  values: Float64Array;
  missing: number;
}

/**
 * The finite entries of `input` as a Float64Array, plus how many were dropped.
 * Missing values are never turned into NaN scores downstream: they are
 * dropped here and counted, so callers can report the missing rate.
 * A Float64Array without missing values is returned as is (no copy): treat
 * the result as read-only. (`x - x === 0` is true exactly for finite numbers
 * and rejects null/undefined/strings, whose difference is NaN.)
 */
export function finiteValues(input: NumericInput): FiniteValues {
  const n = input.length;
  if (input instanceof Float64Array) {
    let bad = 0;
    for (let i = 0; i < n; i++) {
      const x = input[i];
      bad += (x - x !== 0) as unknown as number;
    }
    if (bad === 0) return { values: input, missing: 0 };
    const out = new Float64Array(n - bad);
    for (let i = 0, k = 0; i < n; i++) {
      const x = input[i];
      if (x - x === 0) out[k++] = x;
    }
    return { values: out, missing: bad };
  }
  const out = new Float64Array(n);
  let k = 0;
  for (let i = 0; i < n; i++) {
    const x = input[i];
    if (typeof x === 'number' && x - x === 0) out[k++] = x;
  }
  return { values: k === n ? out : out.slice(0, k), missing: n - k };
}

/** finiteValues() that throws a DriftInputError naming `argument` when nothing is left. */
export function requireFinite(input: NumericInput | null | undefined, argument: string): Float64Array {
  if (input == null || typeof (input as ArrayLike<unknown>).length !== 'number') {
    throw new DriftInputError(argument, 'expected an array of numbers');
  }
  const { values, missing } = finiteValues(input);
  if (values.length === 0) {
    throw new DriftInputError(
      argument,
      input.length === 0
        ? 'is empty'
        : `has no finite values (${missing} missing: null, undefined, NaN or ±Infinity)`,
    );
  }
  return values;
}

/**
 * Sum with bounded error: exact-enough block sums folded into a running total
 * (the error grows like eps * (BLOCK + n / BLOCK) instead of eps * n), close to
 * numpy's pairwise summation at plain-loop speed.
 */
export function blockSum(a: ArrayLike<number>, from = 0, to = a.length): number {
  const BLOCK = 1024;
  let total = 0;
  for (let start = from; start < to; start += BLOCK) {
    const end = Math.min(to, start + BLOCK);
    let s = 0;
    for (let i = start; i < end; i++) s += a[i];
    total += s;
  }
  return total;
}

/** Mean and population standard deviation (numpy.std default ddof=0), two-pass for accuracy. */
export function meanStd(a: Float64Array): { mean: number; std: number } {
  const n = a.length;
  if (n === 0) return { mean: NaN, std: NaN };
  const mean = blockSum(a) / n;
  const BLOCK = 1024;
  let ss = 0;
  for (let start = 0; start < n; start += BLOCK) {
    const end = Math.min(n, start + BLOCK);
    let s = 0;
    for (let i = start; i < end; i++) {
      const d = a[i] - mean;
      s += d * d;
    }
    ss += s;
  }
  return { mean, std: Math.sqrt(ss / n) };
}

/** Round half to even, as numpy.round does (matters when a value sits on .5 exactly). */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  if (Math.abs(x % 1) === 0.5 && r % 2 !== 0) return r - 1;
  return r;
}

/**
 * The reference profile: everything compareToProfile needs to judge drift,
 * computed once from the training data and stored as plain JSON next to the
 * model (so drift checks do not need the training set).
 *
 * Encoding decisions (all JSON-safe, no typed arrays, no NaN/Infinity):
 *  - PSI edges are stored with `null` at both ends, meaning -Infinity (first)
 *    and +Infinity (last); decode with decodeEdges().
 *  - The numerical reference sample (sorted ascending, for KS/Wasserstein) is
 *    stored as base64 of little-endian float64 bytes: exact, and ~11 KB per
 *    1000 values instead of ~19 KB as JSON numbers. Decode with decodeSample().
 *  - Category tables are parallel arrays (categories[i] has counts[i]) rather
 *    than objects, so any category string, even "__proto__", is safe.
 *
 * Sampling: reservoir sampling (Li's Algorithm L) over the finite values with
 * mulberry32 seeded by seed XOR FNV-1a(column name), so a column's sample
 * depends only on its data, its name and the seed (not on other columns),
 * and rebuilding a profile reproduces it byte for byte.
 * Categorical values: strings as they are; finite numbers and booleans via
 * String(); null, undefined, NaN and ±Infinity are missing. At most
 * maxCategories categories are kept (most frequent first); the rest are
 * summed into __other__.
 */
import { finiteValues, meanStd, type NumericInput } from './data.js';
import { DriftInputError } from './errors.js';
import { referenceHistogram } from './psi.js';
import { psiQuantileLevels, quantileDetails } from './quantiles.js';
import { mulberry32, reservoirSample } from './random.js';

export const PROFILE_VERSION = 1 as const;
/** Bucket for reference categories beyond the kept top-N. */
export const OTHER_CATEGORY = '__other__';
export const SUMMARY_QUANTILES = [0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99] as const;

export type ColumnValues = NumericInput | Float64Array | ArrayLike<string | number | boolean | null | undefined>;
export type Columns = Record<string, ColumnValues>;

export interface FeatureSpec {
  name: string;
  type: 'numerical' | 'categorical';
}

export interface LabelSpec {
  name: string;
  type: 'binary' | 'categorical' | 'numerical';
}

export interface ProfileSpec {
  features: FeatureSpec[];
  label?: LabelSpec;
  /** PSI bins per numerical column (default 10). */
  bins?: number;
  /**
   * Size of the reference sample kept for KS/Wasserstein (default 1000: ~11 KB
   * per numerical column, so 50 columns stay around half a megabyte; 5000 would
   * give ~2.7 MB).
   */
  sampleSize?: number;
  /** Seed for the reservoir sample (default 42). */
  seed?: number;
  /** Categories kept per categorical column before lumping into __other__ (default 200). */
  maxCategories?: number;
}

export interface NumericalSummary {
  min: number;
  max: number;
  mean: number;
  /** Population standard deviation (ddof = 0, numpy's default). */
  std: number;
  quantileLevels: number[];
  quantiles: number[];
}

export interface NumericalProfile {
  name: string;
  type: 'numerical';
  /** Finite values seen. */
  count: number;
  /** null, undefined, NaN and ±Infinity entries. */
  missingCount: number;
  summary: NumericalSummary | null;
  /** PSI bins: edges has bins + 1 entries, null ends = -Infinity / +Infinity. */
  histogram: { edges: Array<number | null>; counts: number[]; proportions: number[] } | null;
  /** Uniform sample of the finite values, sorted, float64 little-endian base64. */
  sample: { size: number; encoding: 'float64le-base64'; data: string } | null;
}

export interface CategoricalProfile {
  name: string;
  type: 'categorical';
  count: number;
  missingCount: number;
  /** Distinct categories in the reference (before truncation). */
  distinct: number;
  /** Sorted by count descending, then name; may end with __other__. */
  categories: string[];
  counts: number[];
  /** True when categories beyond maxCategories were lumped into __other__. */
  truncated: boolean;
}

export type FeatureProfile = NumericalProfile | CategoricalProfile;

/**
 * Each feature's importance to the model the profile belongs to: permutation importance
 * (./decisions/importance.ts) measured when the version was registered
 * (src/backends/training/reference.ts). Optional: profiles built before it have none, and
 * everything reading it treats it as absent then.
 */
export interface ModelImportance {
  /** The higher-is-better metric whose drop was measured: "neg_log_loss" (binary) or "neg_rmse" (regression). */
  metric: string;
  /** Shuffles per feature. */
  repeats: number;
  /** Rows scored. */
  rows: number;
  /** Where those rows came from: the validation split, or a training sample when there was none. */
  split?: 'validation' | 'train';
  /** The metric on the rows as they are. */
  baseline?: number;
  /** By feature name: the mean metric drop when the feature is shuffled, its share of the total positive drop, the drop's std over repeats. */
  features: Record<string, { importance: number; share: number; std?: number }>;
}

export interface DriftProfile {
  version: typeof PROFILE_VERSION;
  settings: { bins: number; sampleSize: number; seed: number; maxCategories: number };
  features: FeatureProfile[];
  label: (FeatureProfile & { labelType: LabelSpec['type'] }) | null;
  importance?: ModelImportance;
  /**
   * Binary classifiers: isotonic calibration of the model's scores against the labels of its
   * validation split, so the label-free performance estimate (CBPE, which assumes calibrated
   * probabilities) reads calibrated scores. Absent in older profiles: the raw scores are used.
   */
  calibration?: { kind: 'isotonic'; x: number[]; y: number[]; rows: number; split: 'validation' | 'train' };
  /**
   * What the reference's time structure (a daily or weekly cycle a monitor window sees only part
   * of) adds to each feature's drift distance, for windows of the monitor's length: see
   * decisions/seasonal.ts. Absent in older profiles and for references without timestamps.
   */
  seasonality?: {
    /** The monitor window's length the allowances were measured for, and the rows it held on average. */
    windowMs: number;
    windowRows: number;
    features: Record<string, { statistic: 'psi' | 'jensen_shannon'; windowSize: number; contiguous: number; random: number; excess: number }>;
  };
}

/** FNV-1a, to derive an independent sample seed per column from its name. */
function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export function encodeSample(sorted: Float64Array): string {
  const buf = Buffer.alloc(sorted.length * 8);
  for (let i = 0; i < sorted.length; i++) buf.writeDoubleLE(sorted[i], i * 8);
  return buf.toString('base64');
}

export function decodeSample(data: string): Float64Array {
  const buf = Buffer.from(data, 'base64');
  const out = new Float64Array(buf.length / 8);
  for (let i = 0; i < out.length; i++) out[i] = buf.readDoubleLE(i * 8);
  return out;
}

/** Profile edges (null ends) back to numbers with ±Infinity. */
export function decodeEdges(edges: Array<number | null>): Float64Array {
  return Float64Array.from(edges, (e, i) => (e === null ? (i === 0 ? -Infinity : Infinity) : e));
}

export function profileNumerical(
  name: string,
  column: NumericInput,
  opts: { bins: number; sampleSize: number; seed: number },
): NumericalProfile {
  const { values, missing } = finiteValues(column);
  const n = values.length;
  const base: NumericalProfile = { name, type: 'numerical', count: n, missingCount: missing, summary: null, histogram: null, sample: null };
  if (n === 0) return base;
  const levels = psiQuantileLevels(opts.bins);
  // One selection pass for the PSI edges (interior levels first) and the summary.
  const all = [...levels.slice(1, opts.bins), 0, 1, ...SUMMARY_QUANTILES];
  const d = quantileDetails(values, all);
  const { edges, counts } = referenceHistogram(values, opts.bins, d);
  const q = d.values;
  const nInterior = opts.bins - 1;
  const { mean, std } = meanStd(values);
  const sample = reservoirSample(values, opts.sampleSize, mulberry32((opts.seed ^ hashName(name)) >>> 0)).sort();
  return {
    ...base,
    summary: {
      min: q[nInterior],
      max: q[nInterior + 1],
      mean,
      std,
      quantileLevels: [...SUMMARY_QUANTILES],
      quantiles: Array.from(q.subarray(nInterior + 2)),
    },
    histogram: {
      edges: Array.from(edges, (e) => (Number.isFinite(e) ? e : null)),
      counts: Array.from(counts),
      proportions: Array.from(counts, (c) => c / n),
    },
    sample: { size: sample.length, encoding: 'float64le-base64', data: encodeSample(sample) },
  };
}

/** Category key of a raw value, or null when missing (null, undefined, NaN, ±Infinity). */
export function categoryKey(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : null;
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return null;
}

/** Counts per category plus the number of missing entries. */
export function countCategories(column: ArrayLike<unknown>): { counts: Map<string, number>; missing: number } {
  // One Map lookup per row (category -> slot), counts in a typed array.
  const slot = new Map<string, number>();
  let cnt = new Float64Array(64);
  let missing = 0;
  for (let i = 0; i < column.length; i++) {
    const v = column[i];
    const k = typeof v === 'string' ? v : categoryKey(v);
    if (k === null) { missing++; continue; }
    let j = slot.get(k);
    if (j === undefined) {
      j = slot.size;
      slot.set(k, j);
      if (j >= cnt.length) {
        const grown = new Float64Array(cnt.length * 2);
        grown.set(cnt);
        cnt = grown;
      }
    }
    cnt[j]++;
  }
  const counts = new Map<string, number>();
  for (const [k, j] of slot) counts.set(k, cnt[j]);
  return { counts, missing };
}

export function profileCategorical(name: string, column: ArrayLike<unknown>, maxCategories: number): CategoricalProfile {
  const { counts, missing } = countCategories(column);
  const sorted = Array.from(counts.entries()).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  let total = 0;
  for (const [, c] of sorted) total += c;
  const kept = sorted.slice(0, maxCategories);
  const truncated = sorted.length > maxCategories;
  const categories = kept.map(([k]) => k);
  const cnts = kept.map(([, c]) => c);
  if (truncated) {
    let rest = 0;
    for (const [, c] of sorted.slice(maxCategories)) rest += c;
    categories.push(OTHER_CATEGORY);
    cnts.push(rest);
  }
  return { name, type: 'categorical', count: total, missingCount: missing, distinct: sorted.length, categories, counts: cnts, truncated };
}

function getColumn(columns: Columns, name: string): ColumnValues {
  const col = columns[name];
  if (col == null || typeof (col as ArrayLike<unknown>).length !== 'number') {
    throw new DriftInputError('columns', `no column named ${JSON.stringify(name)}`);
  }
  return col;
}

/**
 * Builds the reference profile of a dataset given column-major data.
 * Throws DriftInputError for a malformed spec or a column that does not exist;
 * an empty or all-missing column is recorded with count 0 (compareToProfile
 * then reports insufficient_data for it).
 */
export function buildProfile(columns: Columns, spec: ProfileSpec): DriftProfile {
  if (columns == null || typeof columns !== 'object') throw new DriftInputError('columns', 'expected an object of columns');
  if (spec == null || !Array.isArray(spec.features)) throw new DriftInputError('spec', 'expected { features: [...] }');
  const bins = spec.bins ?? 10;
  const sampleSize = spec.sampleSize ?? 1000;
  const seed = spec.seed ?? 42;
  const maxCategories = spec.maxCategories ?? 200;
  if (!Number.isInteger(bins) || bins < 1) throw new DriftInputError('spec.bins', `must be a positive integer, got ${bins}`);
  if (!Number.isInteger(sampleSize) || sampleSize < 0) throw new DriftInputError('spec.sampleSize', `must be an integer >= 0, got ${sampleSize}`);
  if (!Number.isInteger(seed)) throw new DriftInputError('spec.seed', `must be an integer, got ${seed}`);
  if (!Number.isInteger(maxCategories) || maxCategories < 1) throw new DriftInputError('spec.maxCategories', `must be a positive integer, got ${maxCategories}`);
  const seen = new Set<string>();
  const opts = { bins, sampleSize, seed };
  const features: FeatureProfile[] = spec.features.map((f) => {
    if (seen.has(f.name)) throw new DriftInputError('spec.features', `duplicate feature ${JSON.stringify(f.name)}`);
    seen.add(f.name);
    const col = getColumn(columns, f.name);
    if (f.type === 'numerical') return profileNumerical(f.name, col as NumericInput, opts);
    if (f.type === 'categorical') return profileCategorical(f.name, col as ArrayLike<unknown>, maxCategories);
    throw new DriftInputError('spec.features', `unknown type ${JSON.stringify((f as FeatureSpec).type)} for ${JSON.stringify(f.name)}`);
  });
  let label: DriftProfile['label'] = null;
  if (spec.label) {
    const l = spec.label;
    const col = getColumn(columns, l.name);
    const p = l.type === 'numerical' ? profileNumerical(l.name, col as NumericInput, opts) : profileCategorical(l.name, col as ArrayLike<unknown>, maxCategories);
    label = { ...p, labelType: l.type };
  }
  return { version: PROFILE_VERSION, settings: { bins, sampleSize, seed, maxCategories }, features, label };
}

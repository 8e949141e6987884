/**
 * compareToProfile: the drift report a retraining decision is based on.
 *
 * Verdict rules (per feature):
 *  - 'insufficient_data' when the column is absent from the current data, or
 *    either side has fewer than minSamples non-missing values (the score is
 *    still given, as information, whenever both sides have data);
 *  - distances (psi, wasserstein, jensen_shannon): 'drift' when score > threshold;
 *  - tests (ks, chi_square): score is the p-value, 'drift' when score < threshold.
 * Dataset drift: driftShare = drifted / evaluated features (insufficient ones
 * excluded), datasetDrift when evaluated > 0 and driftShare >= thresholds.driftShare.
 *
 * Missing values (null, undefined, NaN, ±Infinity) are never scored; they are
 * counted and reported as missingRate next to referenceMissingRate.
 *
 * What each metric compares: 'psi' uses the profile's stored bins and
 * reference counts (exactly psi(reference, current)); 'ks' and 'wasserstein'
 * compare the profile's reference sample (spec.sampleSize values) with all
 * current values, i.e. exactly ks_2samp / wasserstein_distance(sample,
 * current); categorical metrics use the stored category counts. Label shift
 * is Jensen-Shannon on the label's category counts, or on its PSI-bin
 * proportions for a numerical label.
 */
import { chiSquare, jensenShannonFromProportions } from './categorical.js';
import { finiteValues, type NumericInput } from './data.js';
import { DriftInputError } from './errors.js';
import { ksAgainstSortedReference } from './ks.js';
import {
  countCategories, decodeEdges, decodeSample, OTHER_CATEGORY, PROFILE_VERSION,
  type CategoricalProfile, type ColumnValues, type Columns, type DriftProfile, type NumericalProfile,
} from './profile.js';
import { binCounts, flooredProportions, psiFromProportions } from './psi.js';
import { sortedCopy } from './sort.js';
import { wassersteinSorted } from './wasserstein.js';

export type NumericalMethod = 'psi' | 'ks' | 'wasserstein';
export type CategoricalMethod = 'jensen_shannon' | 'chi_square';
export type DriftMetric = NumericalMethod | CategoricalMethod;
export type Verdict = 'drift' | 'ok' | 'insufficient_data';

/** Per-feature settings; every field optional, defaults in DEFAULT_DRIFT_THRESHOLDS. */
export interface FeatureThresholds {
  numericalMethod?: NumericalMethod;
  psi?: number;
  jensenShannon?: number;
  ksPValue?: number;
  /** Absolute Wasserstein threshold; if unset, 0.1 x the reference standard deviation. */
  wasserstein?: number;
  categoricalMethod?: CategoricalMethod;
  chiSquarePValue?: number;
  minSamples?: number;
}

export interface DriftThresholds extends FeatureThresholds {
  driftShare?: number;
  perFeature?: Record<string, FeatureThresholds>;
}

export const DEFAULT_DRIFT_THRESHOLDS: Readonly<{
  numericalMethod: NumericalMethod;
  psi: number;
  jensenShannon: number;
  ksPValue: number;
  categoricalMethod: CategoricalMethod;
  chiSquarePValue: number;
  minSamples: number;
  driftShare: number;
}> = Object.freeze({
  numericalMethod: 'psi',
  psi: 0.15,
  jensenShannon: 0.15,
  ksPValue: 0.01,
  categoricalMethod: 'jensen_shannon',
  chiSquarePValue: 0.01,
  minSamples: 1000,
  driftShare: 0.5,
});

/** Relative Wasserstein threshold (in reference standard deviations) when none is given. */
export const DEFAULT_WASSERSTEIN_STD_FRACTION = 0.1;

interface FeatureDriftBase {
  feature: string;
  metric: DriftMetric;
  /** Distance, or p-value for ks / chi_square; null when a side has no data. */
  score: number | null;
  threshold: number;
  verdict: Verdict;
  /** Why the verdict is insufficient_data. */
  reason?: string;
  columnPresent: boolean;
  /** Current non-missing values. */
  count: number;
  missingCount: number;
  missingRate: number | null;
  referenceCount: number;
  referenceMissingRate: number | null;
  /** Test statistic for ks / chi_square (score holds the p-value). */
  statistic?: number;
  pValue?: number;
}

export interface NumericalFeatureDrift extends FeatureDriftBase {
  type: 'numerical';
  /** Reference PSI bins (null ends = ±Infinity) and both sides' proportions, for charts. */
  binEdges: Array<number | null>;
  referenceProportions: number[];
  currentProportions: number[] | null;
  reference: { mean: number; std: number; min: number; max: number } | null;
  current: { mean: number; std: number; min: number; max: number } | null;
}

export interface CategoricalFeatureDrift extends FeatureDriftBase {
  type: 'categorical';
  categories: string[];
  referenceProportions: number[];
  currentProportions: number[] | null;
  /** Current categories the reference never saw (only when the reference kept all its categories). */
  newCategories: string[];
  /** Reference categories absent from the current data. */
  vanishedCategories: string[];
  smoothed?: boolean;
}

export type FeatureDrift = NumericalFeatureDrift | CategoricalFeatureDrift;

export interface DriftReport {
  version: typeof PROFILE_VERSION;
  features: FeatureDrift[];
  /** Jensen-Shannon distance of the label distribution, when the profile has a label and the data has it. */
  labelShift: FeatureDrift | null;
  driftedFeatures: number;
  driftedFeatureNames: string[];
  evaluatedFeatures: number;
  insufficientFeatures: number;
  driftShare: number;
  datasetDrift: boolean;
  /** The thresholds in force (defaults filled in; wasserstein null = 0.1 reference std). */
  thresholds: typeof DEFAULT_DRIFT_THRESHOLDS & { wasserstein: number | null; perFeature: Record<string, FeatureThresholds> };
}

type Resolved = typeof DEFAULT_DRIFT_THRESHOLDS & { wasserstein?: number };

const NUMERIC_KEYS = ['psi', 'jensenShannon', 'ksPValue', 'wasserstein', 'chiSquarePValue', 'minSamples', 'driftShare'];

function validate(t: FeatureThresholds & { driftShare?: number }, where: string): void {
  for (const k of NUMERIC_KEYS) {
    const v = (t as Record<string, unknown>)[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
      throw new DriftInputError(`${where}.${k}`, `must be a finite number >= 0, got ${String(v)}`);
    }
  }
  if (t.numericalMethod !== undefined && !['psi', 'ks', 'wasserstein'].includes(t.numericalMethod)) {
    throw new DriftInputError(`${where}.numericalMethod`, `must be 'psi', 'ks' or 'wasserstein', got ${String(t.numericalMethod)}`);
  }
  if (t.categoricalMethod !== undefined && !['jensen_shannon', 'chi_square'].includes(t.categoricalMethod)) {
    throw new DriftInputError(`${where}.categoricalMethod`, `must be 'jensen_shannon' or 'chi_square', got ${String(t.categoricalMethod)}`);
  }
}

function resolve(t: DriftThresholds, feature: string): Resolved {
  const out: Resolved = { ...DEFAULT_DRIFT_THRESHOLDS };
  const own = Object.prototype.hasOwnProperty.call(t.perFeature ?? {}, feature) ? (t.perFeature as Record<string, FeatureThresholds>)[feature] : {};
  for (const src of [t, own]) {
    for (const [k, v] of Object.entries(src)) {
      if (v !== undefined && k !== 'perFeature' && k !== 'driftShare') (out as Record<string, unknown>)[k] = v;
    }
  }
  return out;
}

const rate = (missing: number, count: number): number | null => (missing + count === 0 ? null : missing / (missing + count));

/** Mean, population std, min, max in one pass (sums shifted by the first value against cancellation). */
function stats(values: Float64Array): { mean: number; std: number; min: number; max: number } | null {
  const n = values.length;
  if (n === 0) return null;
  const shift = values[0];
  let min = Infinity;
  let max = -Infinity;
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const x = values[i];
    min = x < min ? x : min;
    max = x > max ? x : max;
    const d = x - shift;
    s1 += d;
    s2 += d * d;
  }
  const m = s1 / n;
  return { mean: shift + m, std: Math.sqrt(Math.max(s2 / n - m * m, 0)), min, max };
}

function decide(
  base: Omit<FeatureDriftBase, 'verdict'>,
  isTest: boolean,
  minSamples: number,
): FeatureDriftBase {
  let reason: string | undefined;
  if (!base.columnPresent) reason = 'column missing from current data';
  else if (base.referenceCount < minSamples) reason = `reference has ${base.referenceCount} non-missing values, fewer than minSamples=${minSamples}`;
  else if (base.count < minSamples) reason = `current has ${base.count} non-missing values, fewer than minSamples=${minSamples}`;
  if (reason !== undefined || base.score === null) {
    return { ...base, verdict: 'insufficient_data', reason: reason ?? 'no data to compare' };
  }
  const drift = isTest ? base.score < base.threshold : base.score > base.threshold;
  return { ...base, verdict: drift ? 'drift' : 'ok' };
}

function compareNumerical(p: NumericalProfile, column: ColumnValues | undefined, t: Resolved, forceJs = false): NumericalFeatureDrift {
  const present = column != null && typeof (column as ArrayLike<unknown>).length === 'number';
  const { values, missing } = present ? finiteValues(column as NumericInput) : { values: new Float64Array(0), missing: 0 };
  const n = values.length;
  const method: DriftMetric = forceJs ? 'jensen_shannon' : t.numericalMethod;
  const edges = p.histogram ? decodeEdges(p.histogram.edges) : null;
  const curCounts = edges && n > 0 ? binCounts(values, edges) : null;
  const refStats = p.summary ? { mean: p.summary.mean, std: p.summary.std, min: p.summary.min, max: p.summary.max } : null;
  let score: number | null = null;
  let threshold: number;
  let extra: { statistic?: number; pValue?: number } = {};
  const haveBoth = p.count > 0 && n > 0;
  if (method === 'psi' || method === 'jensen_shannon') {
    threshold = method === 'psi' ? t.psi : t.jensenShannon;
    if (haveBoth && p.histogram && curCounts) {
      if (method === 'psi') {
        score = psiFromProportions(flooredProportions(p.histogram.counts, p.count), flooredProportions(curCounts, n));
      } else {
        score = jensenShannonFromProportions(p.histogram.proportions, Array.from(curCounts, (c) => c / n));
      }
    }
  } else if (method === 'ks') {
    threshold = t.ksPValue;
    if (haveBoth && p.sample && p.sample.size > 0) {
      const r = ksAgainstSortedReference(decodeSample(p.sample.data), values);
      score = r.pValue;
      extra = { statistic: r.statistic, pValue: r.pValue };
    }
  } else {
    threshold = t.wasserstein ?? DEFAULT_WASSERSTEIN_STD_FRACTION * (p.summary?.std ?? 0);
    if (haveBoth && p.sample && p.sample.size > 0) {
      score = wassersteinSorted(decodeSample(p.sample.data), sortedCopy(values));
    }
  }
  const base = decide(
    {
      feature: p.name, metric: method, score, threshold, columnPresent: present,
      count: n, missingCount: missing, missingRate: rate(missing, n),
      referenceCount: p.count, referenceMissingRate: rate(p.missingCount, p.count), ...extra,
    },
    method === 'ks',
    t.minSamples,
  );
  return {
    ...base,
    type: 'numerical',
    binEdges: p.histogram ? [...p.histogram.edges] : [],
    referenceProportions: p.histogram ? [...p.histogram.proportions] : [],
    currentProportions: curCounts ? Array.from(curCounts, (c) => c / n) : null,
    reference: refStats,
    current: stats(values),
  };
}

const MAX_REPORTED_CATEGORIES = 250;

function compareCategorical(p: CategoricalProfile, column: ColumnValues | undefined, t: Resolved, forceJs = false): CategoricalFeatureDrift {
  const present = column != null && typeof (column as ArrayLike<unknown>).length === 'number';
  const { counts: raw, missing } = present ? countCategories(column as ArrayLike<unknown>) : { counts: new Map<string, number>(), missing: 0 };
  const known = new Set(p.categories);
  // A truncated reference cannot tell new categories from rare ones: both go to __other__.
  const cur = new Map<string, number>();
  let n = 0;
  for (const [k, c] of raw) {
    const key = p.truncated && !known.has(k) ? OTHER_CATEGORY : k;
    cur.set(key, (cur.get(key) ?? 0) + c);
    n += c;
  }
  const method: DriftMetric = forceJs ? 'jensen_shannon' : t.categoricalMethod;
  const threshold = method === 'chi_square' ? t.chiSquarePValue : t.jensenShannon;
  const newCats = Array.from(cur.keys()).filter((k) => !known.has(k)).sort((a, b) => (cur.get(b) as number) - (cur.get(a) as number));
  const categories = [...p.categories, ...newCats];
  const refProps = categories.map((_, i) => (i < p.counts.length && p.count > 0 ? p.counts[i] / p.count : 0));
  const curProps = n > 0 ? categories.map((k) => (cur.get(k) ?? 0) / n) : null;
  let score: number | null = null;
  let extra: { statistic?: number; pValue?: number; smoothed?: boolean } = {};
  if (p.count > 0 && n > 0 && curProps) {
    if (method === 'chi_square') {
      const refMap = new Map<string, number>(p.categories.map((k, i) => [k, p.counts[i]]));
      const r = chiSquare(refMap, cur);
      score = r.pValue;
      extra = { statistic: r.statistic, pValue: r.pValue, smoothed: r.smoothed };
    } else {
      score = jensenShannonFromProportions(refProps, curProps);
    }
  }
  const base = decide(
    {
      feature: p.name, metric: method, score, threshold, columnPresent: present,
      count: n, missingCount: missing, missingRate: rate(missing, n),
      referenceCount: p.count, referenceMissingRate: rate(p.missingCount, p.count), ...extra,
    },
    method === 'chi_square',
    t.minSamples,
  );
  // Keep the chart payload bounded when the current data has many unseen values.
  let shownCats = categories;
  let shownRef = refProps;
  let shownCur = curProps;
  if (categories.length > MAX_REPORTED_CATEGORIES) {
    const keep = MAX_REPORTED_CATEGORIES - 1;
    shownCats = [...categories.slice(0, keep), '__other_new__'];
    const tail = (arr: number[]): number[] => [...arr.slice(0, keep), arr.slice(keep).reduce((a, b) => a + b, 0)];
    shownRef = tail(refProps);
    shownCur = curProps ? tail(curProps) : null;
  }
  return {
    ...base,
    type: 'categorical',
    categories: shownCats,
    referenceProportions: shownRef,
    currentProportions: shownCur,
    newCategories: newCats.slice(0, 50),
    vanishedCategories: p.categories.filter((k) => k !== OTHER_CATEGORY && !cur.has(k)),
    ...(extra.smoothed !== undefined ? { smoothed: extra.smoothed } : {}),
  };
}

/**
 * Compares current data (column-major, Float64Array or plain arrays) with a
 * reference profile. Never throws for data problems (empty or missing columns
 * give insufficient_data); throws DriftInputError only for an unusable profile
 * or thresholds object.
 */
export function compareToProfile(profile: DriftProfile, currentColumns: Columns, thresholds: DriftThresholds = {}): DriftReport {
  if (profile == null || profile.version !== PROFILE_VERSION || !Array.isArray(profile.features)) {
    throw new DriftInputError('profile', `expected a drift profile with version ${PROFILE_VERSION}`);
  }
  if (currentColumns == null || typeof currentColumns !== 'object') throw new DriftInputError('currentColumns', 'expected an object of columns');
  if (thresholds == null || typeof thresholds !== 'object') throw new DriftInputError('thresholds', 'expected an object');
  validate(thresholds, 'thresholds');
  for (const [name, ft] of Object.entries(thresholds.perFeature ?? {})) validate(ft, `thresholds.perFeature.${name}`);
  const features: FeatureDrift[] = profile.features.map((fp) => {
    const t = resolve(thresholds, fp.name);
    const col = Object.prototype.hasOwnProperty.call(currentColumns, fp.name) ? currentColumns[fp.name] : undefined;
    return fp.type === 'numerical' ? compareNumerical(fp, col, t) : compareCategorical(fp, col, t);
  });
  let labelShift: FeatureDrift | null = null;
  const lp = profile.label;
  if (lp && Object.prototype.hasOwnProperty.call(currentColumns, lp.name)) {
    const t = resolve(thresholds, lp.name);
    labelShift = lp.type === 'numerical'
      ? compareNumerical(lp as NumericalProfile, currentColumns[lp.name], t, true)
      : compareCategorical(lp as CategoricalProfile, currentColumns[lp.name], t, true);
  }
  const evaluated = features.filter((f) => f.verdict !== 'insufficient_data');
  const drifted = evaluated.filter((f) => f.verdict === 'drift');
  const shareThreshold = thresholds.driftShare ?? DEFAULT_DRIFT_THRESHOLDS.driftShare;
  const driftShare = evaluated.length === 0 ? 0 : drifted.length / evaluated.length;
  return {
    version: PROFILE_VERSION,
    features,
    labelShift,
    driftedFeatures: drifted.length,
    driftedFeatureNames: drifted.map((f) => f.feature),
    evaluatedFeatures: evaluated.length,
    insufficientFeatures: features.length - evaluated.length,
    driftShare,
    datasetDrift: evaluated.length > 0 && driftShare >= shareThreshold,
    thresholds: {
      ...DEFAULT_DRIFT_THRESHOLDS,
      ...stripUndefined(thresholds),
      wasserstein: thresholds.wasserstein ?? null,
      perFeature: thresholds.perFeature ?? {},
    },
  };
}

function stripUndefined(t: DriftThresholds): Partial<typeof DEFAULT_DRIFT_THRESHOLDS> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(t)) if (v !== undefined && k !== 'perFeature' && k !== 'wasserstein') out[k] = v;
  return out as Partial<typeof DEFAULT_DRIFT_THRESHOLDS>;
}

/**
 * Does this check's drift justify paying for a retrain? The rule, in order:
 *
 *  1. A feature has drifted when its score is beyond its (calibrated)
 *     threshold: above it for distances, below it for p-values.
 *  2. A drifted feature matters when its importance share is at least
 *     minImportanceShare (default 0.05), or unknown (no importances recorded:
 *     assume it matters). Drift of features that do not matter is reported,
 *     never paid for.
 *  3. The estimated loss is baseline - estimate (for a higher-is-better
 *     metric; the champion's validated value minus the label-free estimate,
 *     e.g. CBPE accuracy). It is material when it exceeds the tolerance
 *     (default 0.02) AND the whole interval is worse than the baseline, so a
 *     noisy point estimate alone does not start a pipeline.
 *  4. Policies: 'retrain' fires on drift that matters (step 2); 'alert' never
 *     fires (drift is reported only); 'impact' (default) fires on drift that
 *     matters only when the estimated loss is material (step 3). Without an
 *     estimate or baseline, 'impact' does not fire: the performance detector
 *     decides once labels arrive.
 * Every decision carries a plain-words reason naming the features and numbers.
 */
import { DriftInputError, requireNumber } from './common.js';
import type { Direction } from './calibrated-thresholds.js';

export type DriftPolicy = 'retrain' | 'alert' | 'impact';

export interface FeatureDriftVerdict {
  feature: string;
  /** The statistic, or null when the feature could not be scored. */
  score: number | null;
  threshold: number;
  /** 'lower-is-drift' for p-values (default 'higher-is-drift'). */
  direction?: Direction;
  /** The feature's permutation-importance share, or null/undefined when unknown. */
  importanceShare?: number | null;
}

export interface ImpactInput {
  policy?: DriftPolicy;
  drift: FeatureDriftVerdict[];
  /** Label-free estimate of the champion's metric (e.g. CBPE accuracy) with its interval. */
  estimate?: { value: number; lower: number; upper: number } | null;
  /** The champion's validated value of the same metric. */
  baseline?: number | null;
  tolerance?: number;
  minImportanceShare?: number;
  higherIsBetter?: boolean;
}

export interface ImpactDecision {
  material: boolean;
  policy: DriftPolicy;
  reason: string;
  driftedFeatures: string[];
  /** Drifted features whose importance share is at least minImportanceShare (or unknown). */
  importantDriftedFeatures: string[];
  /** Baseline minus estimate in the metric's better direction (positive = worse); null without both. */
  estimatedLoss: number | null;
  lossMaterial: boolean;
}

const fmt = (x: number): string => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toPrecision(3));

function checkVerdict(v: FeatureDriftVerdict, i: number): void {
  const where = `drift[${i}]`;
  if (v == null || typeof v !== 'object' || typeof v.feature !== 'string') throw new DriftInputError(where, 'expected { feature, score, threshold, ... }');
  if (v.score !== null) requireNumber(v.score, `${where}.score`);
  requireNumber(v.threshold, `${where}.threshold`);
  if (v.direction !== undefined && v.direction !== 'higher-is-drift' && v.direction !== 'lower-is-drift') {
    throw new DriftInputError(`${where}.direction`, `must be 'higher-is-drift' or 'lower-is-drift', got ${String(v.direction)}`);
  }
  if (v.importanceShare != null) requireNumber(v.importanceShare, `${where}.importanceShare`, { min: 0, max: 1 });
}

function checkEstimate(e: ImpactInput['estimate']): void {
  if (e == null) return;
  const value = requireNumber(e.value, 'estimate.value');
  const lower = requireNumber(e.lower, 'estimate.lower');
  const upper = requireNumber(e.upper, 'estimate.upper');
  if (!(lower <= value && value <= upper)) throw new DriftInputError('estimate', `needs lower <= value <= upper, got ${lower}, ${value}, ${upper}`);
}

const isDrifted = (v: FeatureDriftVerdict): boolean =>
  v.score !== null && (v.direction === 'lower-is-drift' ? v.score < v.threshold : v.score > v.threshold);

/** Whether the drift in one check is material under the policy, and why (see module comment). */
export function decideDriftImpact(input: ImpactInput): ImpactDecision {
  if (input == null || typeof input !== 'object') throw new DriftInputError('input', 'expected { drift, estimate?, baseline?, ... }');
  const policy = input.policy ?? 'impact';
  if (policy !== 'retrain' && policy !== 'alert' && policy !== 'impact') throw new DriftInputError('policy', `must be 'retrain', 'alert' or 'impact', got ${String(policy)}`);
  if (!Array.isArray(input.drift)) throw new DriftInputError('drift', 'expected an array of per-feature verdicts');
  input.drift.forEach(checkVerdict);
  checkEstimate(input.estimate);
  if (input.baseline != null) requireNumber(input.baseline, 'baseline');
  const tolerance = requireNumber(input.tolerance ?? 0.02, 'tolerance', { min: 0 });
  const minShare = requireNumber(input.minImportanceShare ?? 0.05, 'minImportanceShare', { min: 0, max: 1 });
  const higher = input.higherIsBetter ?? true;

  const drifted = input.drift.filter(isDrifted);
  const important = drifted.filter((v) => v.importanceShare == null || v.importanceShare >= minShare);
  const ignored = drifted.filter((v) => !important.includes(v));
  const { estimate, baseline } = input;
  const estimatedLoss = estimate != null && baseline != null ? (higher ? baseline - estimate.value : estimate.value - baseline) : null;
  const confident = estimate != null && baseline != null && (higher ? estimate.upper < baseline : estimate.lower > baseline);
  const lossMaterial = estimatedLoss !== null && estimatedLoss > tolerance && confident;

  const base = { policy, driftedFeatures: drifted.map((v) => v.feature), importantDriftedFeatures: important.map((v) => v.feature), estimatedLoss, lossMaterial };
  const names = (vs: FeatureDriftVerdict[]): string => vs.map((v) => `${v.feature} (${fmt(v.score as number)} vs ${fmt(v.threshold)}${v.importanceShare == null ? '' : `, importance ${(100 * v.importanceShare).toFixed(0)}%`})`).join(', ');
  const ignoredNote = ignored.length > 0 ? `; drift of ${names(ignored)} reported only: importance below ${(100 * minShare).toFixed(0)}%` : '';
  const lossText = estimatedLoss === null || estimate == null || baseline == null
    ? 'no label-free estimate'
    : `estimated ${fmt(estimate.value)} [${fmt(estimate.lower)}, ${fmt(estimate.upper)}] vs baseline ${fmt(baseline)}: loss ${fmt(estimatedLoss)} ${lossMaterial ? 'exceeds' : 'does not exceed'} the tolerance ${fmt(tolerance)}${estimatedLoss > tolerance && !confident ? ' with confidence' : ''}`;

  const lossNote = estimatedLoss === null ? '' : `; ${lossText}`;
  if (important.length === 0) {
    const what = drifted.length === 0 ? 'no feature drifted' : 'no drifted feature matters to the model';
    return { ...base, material: false, reason: `${what}${ignoredNote}${lossNote}` };
  }
  if (policy === 'alert') return { ...base, material: false, reason: `policy alert: ${names(important)} drifted; reported, no retrain${ignoredNote}${lossNote}` };
  if (policy === 'retrain') return { ...base, material: true, reason: `policy retrain: ${names(important)} drifted${ignoredNote}${lossNote}` };
  if (estimatedLoss === null) {
    return { ...base, material: false, reason: `${names(important)} drifted but there is no label-free estimate to show a loss; the performance detector decides once labels arrive${ignoredNote}` };
  }
  return {
    ...base,
    material: lossMaterial,
    reason: `${names(important)} drifted; ${lossText}${lossMaterial ? '' : ': reported, no retrain'}${ignoredNote}`,
  };
}

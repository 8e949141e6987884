/**
 * Isotonic calibration of classifier scores, so CBPE can trust them:
 * fitCalibration() is sklearn.isotonic.IsotonicRegression(increasing=True,
 * y_min=0, y_max=1, out_of_bounds='clip') fitted on a reference/validation
 * split (scores and 0/1 labels), and applyCalibration() is its predict().
 *
 * Fitting, as scikit-learn: duplicate scores are merged into one point with
 * the mean label and their count as weight; pool-adjacent-violators makes the
 * means non-decreasing; only the end points of each constant run are kept.
 * Prediction interpolates linearly between the kept points (np.interp) and
 * clips outside the fitted score range. The model is plain JSON.
 */
import { DriftInputError, requireNumbers } from './common.js';

export interface IsotonicCalibration {
  kind: 'isotonic';
  /** Ascending distinct scores (sklearn's X_thresholds_). */
  x: number[];
  /** Calibrated probabilities at x, non-decreasing (sklearn's y_thresholds_). */
  y: number[];
}

/** Distinct scores ascending with the mean label and count of each. */
function mergeDuplicates(scores: Float64Array, labels: Float64Array): { x: number[]; y: number[]; w: number[] } {
  const order = Array.from(scores.keys()).sort((i, j) => scores[i] - scores[j]);
  const x: number[] = [];
  const y: number[] = [];
  const w: number[] = [];
  for (let k = 0; k < order.length;) {
    const v = scores[order[k]];
    let sum = 0;
    let count = 0;
    while (k < order.length && scores[order[k]] === v) { sum += labels[order[k]]; count++; k++; }
    x.push(v);
    y.push(sum / count);
    w.push(count);
  }
  return { x, y, w };
}

/** Weighted pool-adjacent-violators: the non-decreasing fit of y, one value per input point. */
function poolAdjacentViolators(y: number[], w: number[]): number[] {
  const means: number[] = [];
  const weights: number[] = [];
  const sizes: number[] = [];
  for (let i = 0; i < y.length; i++) {
    let mean = y[i];
    let weight = w[i];
    let size = 1;
    // Merge while the previous block is not below this one (sklearn pools ties too).
    while (means.length > 0 && means[means.length - 1] >= mean) {
      const pw = weights.pop() as number;
      const pm = means.pop() as number;
      size += sizes.pop() as number;
      mean = (pm * pw + mean * weight) / (pw + weight);
      weight += pw;
    }
    means.push(mean);
    weights.push(weight);
    sizes.push(size);
  }
  const out: number[] = [];
  for (let b = 0; b < means.length; b++) for (let k = 0; k < sizes[b]; k++) out.push(Math.min(1, Math.max(0, means[b])));
  return out;
}

/** Fits an isotonic map from scores to P(label = 1); labels must be 0 or 1. */
export function fitCalibration(scores: ArrayLike<number>, labels: ArrayLike<number>): IsotonicCalibration {
  const s = requireNumbers(scores, 'scores');
  const l = requireNumbers(labels, 'labels');
  if (l.length !== s.length) throw new DriftInputError('labels', `has length ${l.length} but scores has length ${s.length}`);
  for (let i = 0; i < l.length; i++) {
    if (l[i] !== 0 && l[i] !== 1) throw new DriftInputError('labels', `value at index ${i} must be 0 or 1, got ${l[i]}`);
  }
  const { x, y, w } = mergeDuplicates(s, l);
  const fitted = poolAdjacentViolators(y, w);
  // Keep the first and last point of every constant run: interpolation between them is flat anyway.
  const keptX: number[] = [];
  const keptY: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const interior = i > 0 && i < x.length - 1 && fitted[i] === fitted[i - 1] && fitted[i] === fitted[i + 1];
    if (!interior) { keptX.push(x[i]); keptY.push(fitted[i]); }
  }
  return { kind: 'isotonic', x: keptX, y: keptY };
}

function checkCalibration(c: IsotonicCalibration): void {
  if (c == null || c.kind !== 'isotonic' || !Array.isArray(c.x) || !Array.isArray(c.y) || c.x.length === 0 || c.x.length !== c.y.length) {
    throw new DriftInputError('calibration', 'expected { kind: "isotonic", x, y } from fitCalibration() with equal, non-zero lengths');
  }
  for (let i = 0; i < c.x.length; i++) {
    if (!Number.isFinite(c.x[i]) || !(c.y[i] >= 0 && c.y[i] <= 1)) throw new DriftInputError('calibration', `point ${i} is not a finite score with a probability`);
    if (i > 0 && !(c.x[i] > c.x[i - 1] && c.y[i] >= c.y[i - 1])) throw new DriftInputError('calibration', `points must be increasing in x and non-decreasing in y (at ${i})`);
  }
}

/** Calibrated probabilities for scores (linear interpolation, clipped to the fitted range). */
export function applyCalibration(calibration: IsotonicCalibration, scores: ArrayLike<number>): Float64Array {
  checkCalibration(calibration);
  const s = requireNumbers(scores, 'scores', { nonEmpty: false });
  const { x, y } = calibration;
  const last = x.length - 1;
  const out = new Float64Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const v = s[i];
    if (v <= x[0]) { out[i] = y[0]; continue; }
    if (v >= x[last]) { out[i] = y[last]; continue; }
    let lo = 0;
    let hi = last;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (x[mid] <= v) lo = mid; else hi = mid;
    }
    const t = (v - x[lo]) / (x[hi] - x[lo]);
    out[i] = y[lo] + t * (y[hi] - y[lo]);
  }
  return out;
}

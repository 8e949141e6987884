/**
 * Confidence-based performance estimation (CBPE, as NannyML) for a binary
 * classifier while labels have not arrived: if the scores are calibrated, a
 * prediction with probability p of class 1 is right with probability
 * q = p when it predicts 1 (p >= threshold) and q = 1 - p otherwise, so the
 * expected confusion matrix is E[TP] = sum p*yhat, E[FP] = sum (1-p)*yhat,
 * E[FN] = sum p*(1-yhat), E[TN] = sum (1-p)*(1-yhat), and every metric built
 * from it (accuracy, precision, recall, F1) has an expected value.
 * Precision, recall and F1 are ratios of expected counts (NannyML's choice);
 * 0 when the denominator is 0, as scikit-learn's zero_division default.
 *
 * Uncertainty: each metric is a ratio num/den of row sums that are linear in
 * the unknown label y_i given the score: num_i = y alpha_i + beta_i and
 * den_i = y gamma_i + delta_i. With R the estimate, w_i = num_i - R den_i has
 *  - label variance (1) sum (alpha - R gamma)^2 p(1-p) / den^2: how far the
 *    window's metric may land from the estimate once its labels arrive
 *    (for accuracy sum q(1-q) / n^2);
 *  - sampling variance (2) sum m_i^2 / den^2 with m_i = E[w_i | p_i]: how
 *    far this window's scores may be from the population's.
 * The interval uses (1) + (2) (for accuracy that is exactly mu(1-mu)/n): it
 * covers both the metric the window will show once labelled and the
 * population's, at about the stated confidence. Both parts are reported.
 * The ROC AUC estimate is the area under the expected ROC curve
 * (TPR = cumulative E[TP] / E[P], FPR likewise), as NannyML does; no interval.
 */
import { DriftInputError, requireNumber, requireNumbers, requireOpenUnit, zFor } from './common.js';

export interface CbpeOptions {
  /** Decision threshold: predicts 1 when p >= threshold (default 0.5). */
  threshold?: number;
  /**
   * The model's own 0/1 decisions, when they are not p >= threshold (e.g. the
   * model thresholds its raw score and p is that score calibrated).
   */
  predictions?: ArrayLike<number>;
  /** Confidence level of the intervals (default 0.95). */
  confidence?: number;
}

export interface EstimatedMetric {
  value: number;
  lower: number;
  upper: number;
  /** Standard error used for the interval: sqrt(label^2 + sampling^2). */
  stdError: number;
  /** Spread of the window's own metric around the estimate, from the unknown labels. */
  labelStdError: number;
  /** Spread of the estimate from the population value, from the window's sample of scores. */
  samplingStdError: number;
  /** False when the metric's denominator is 0 (value reported as 0). */
  defined: boolean;
}

export interface CbpeEstimate {
  samples: number;
  threshold: number;
  confidence: number;
  accuracy: EstimatedMetric;
  precision: EstimatedMetric;
  recall: EstimatedMetric;
  f1: EstimatedMetric;
  /** Area under the expected ROC curve; null when every p is 0 or every p is 1. */
  rocAuc: number | null;
  expectedConfusion: { tp: number; fp: number; fn: number; tn: number };
}

/** Row coefficients of a ratio metric: num = y*alpha + beta, den = y*gamma + delta, given yhat. */
type Coefficients = (yhat: number) => readonly [alpha: number, beta: number, gamma: number, delta: number];

const ACCURACY: Coefficients = (yhat) => [2 * yhat - 1, 1 - yhat, 0, 1];
const PRECISION: Coefficients = (yhat) => [yhat, 0, 0, yhat];
const RECALL: Coefficients = (yhat) => [yhat, 0, 1, 0];
const F1: Coefficients = (yhat) => [2 * yhat, 0, 1, yhat];

function ratioEstimate(p: Float64Array, yhat: Uint8Array, coefficients: Coefficients, z: number): EstimatedMetric {
  let num = 0;
  let den = 0;
  for (let i = 0; i < p.length; i++) {
    const [alpha, beta, gamma, delta] = coefficients(yhat[i]);
    num += p[i] * alpha + beta;
    den += p[i] * gamma + delta;
  }
  if (!(den > 0)) return { value: 0, lower: 0, upper: 0, stdError: 0, labelStdError: 0, samplingStdError: 0, defined: false };
  const r = num / den;
  let labelVar = 0;
  let samplingVar = 0;
  for (let i = 0; i < p.length; i++) {
    const [alpha, beta, gamma, delta] = coefficients(yhat[i]);
    const c = alpha - r * gamma;
    labelVar += c * c * p[i] * (1 - p[i]);
    const m = p[i] * c + beta - r * delta;
    samplingVar += m * m;
  }
  const d2 = den * den;
  const labelStdError = Math.sqrt(labelVar / d2);
  const samplingStdError = Math.sqrt(samplingVar / d2);
  const stdError = Math.sqrt((labelVar + samplingVar) / d2);
  return {
    value: r, lower: Math.max(0, r - z * stdError), upper: Math.min(1, r + z * stdError),
    stdError, labelStdError, samplingStdError, defined: true,
  };
}

/** Area under the expected ROC curve, ties in p grouped as one step (trapezoid). */
export function expectedRocAuc(probabilities: ArrayLike<number>): number | null {
  const p = requireNumbers(probabilities, 'probabilities', { min: 0, max: 1 });
  const order = Array.from(p.keys()).sort((i, j) => p[j] - p[i]);
  let positives = 0;
  for (let i = 0; i < p.length; i++) positives += p[i];
  const negatives = p.length - positives;
  if (!(positives > 0) || !(negatives > 0)) return null;
  let tp = 0;
  let fp = 0;
  let area = 0;
  for (let k = 0; k < order.length;) {
    const v = p[order[k]];
    const tp0 = tp;
    const fp0 = fp;
    while (k < order.length && p[order[k]] === v) { tp += p[order[k]]; fp += 1 - p[order[k]]; k++; }
    area += ((fp - fp0) * (tp + tp0)) / 2;
  }
  return Math.min(1, Math.max(0, area / (positives * negatives)));
}

function decisions(p: Float64Array, threshold: number, predictions: ArrayLike<number> | undefined): Uint8Array {
  if (predictions === undefined) return Uint8Array.from(p, (x) => (x >= threshold ? 1 : 0));
  const given = requireNumbers(predictions, 'options.predictions');
  if (given.length !== p.length) throw new DriftInputError('options.predictions', `has length ${given.length} but probabilities has length ${p.length}`);
  return Uint8Array.from(given, (v, i) => {
    if (v !== 0 && v !== 1) throw new DriftInputError('options.predictions', `value at index ${i} must be 0 or 1, got ${v}`);
    return v;
  });
}

/**
 * Expected accuracy, precision, recall and F1 (with intervals) and the expected
 * ROC AUC of a binary classifier from its predicted probabilities of class 1,
 * assumed calibrated (see fitCalibration / applyCalibration).
 */
export function estimatePerformance(probabilities: ArrayLike<number>, options: CbpeOptions = {}): CbpeEstimate {
  const p = requireNumbers(probabilities, 'probabilities', { min: 0, max: 1 });
  if (options == null || typeof options !== 'object') throw new DriftInputError('options', 'expected an object');
  const threshold = requireNumber(options.threshold ?? 0.5, 'options.threshold', { min: 0, max: 1 });
  const confidence = requireOpenUnit(options.confidence ?? 0.95, 'options.confidence');
  const z = zFor(confidence);
  const yhat = decisions(p, threshold, options.predictions);
  const confusion = { tp: 0, fp: 0, fn: 0, tn: 0 };
  for (let i = 0; i < p.length; i++) {
    if (yhat[i]) { confusion.tp += p[i]; confusion.fp += 1 - p[i]; } else { confusion.fn += p[i]; confusion.tn += 1 - p[i]; }
  }
  return {
    samples: p.length,
    threshold,
    confidence,
    accuracy: ratioEstimate(p, yhat, ACCURACY, z),
    precision: ratioEstimate(p, yhat, PRECISION, z),
    recall: ratioEstimate(p, yhat, RECALL, z),
    f1: ratioEstimate(p, yhat, F1, z),
    rocAuc: expectedRocAuc(p),
    expectedConfusion: confusion,
  };
}

/**
 * CBPE for a multiclass classifier: its accuracy is the only metric a single confidence per row
 * determines. `confidences` are each prediction's probability of being right, calibrated
 * (P(correct | the predicted class's probability), fitted on the validation split): row i is right
 * with probability q_i, so the expected accuracy is mean(q) and the two variances of
 * `estimatePerformance`'s accuracy apply unchanged: label sum q(1-q) / n², sampling
 * sum (q - mean)² / n². (Precision, recall and F1 by class would need every class's probability.)
 */
export function estimateMulticlassAccuracy(confidences: ArrayLike<number>, options: { confidence?: number } = {}): EstimatedMetric & { samples: number } {
  const q = requireNumbers(confidences, 'confidences', { min: 0, max: 1 });
  const z = zFor(requireOpenUnit(options.confidence ?? 0.95, 'options.confidence'));
  const n = q.length;
  if (n === 0) return { value: 0, lower: 0, upper: 0, stdError: 0, labelStdError: 0, samplingStdError: 0, defined: false, samples: 0 };
  let sum = 0;
  for (let i = 0; i < n; i++) sum += q[i];
  const mean = sum / n;
  let labelVar = 0;
  let samplingVar = 0;
  for (let i = 0; i < n; i++) {
    labelVar += q[i] * (1 - q[i]);
    samplingVar += (q[i] - mean) * (q[i] - mean);
  }
  const d2 = n * n;
  const stdError = Math.sqrt((labelVar + samplingVar) / d2);
  return {
    value: mean, lower: Math.max(0, mean - z * stdError), upper: Math.min(1, mean + z * stdError),
    stdError, labelStdError: Math.sqrt(labelVar / d2), samplingStdError: Math.sqrt(samplingVar / d2), defined: true, samples: n,
  };
}

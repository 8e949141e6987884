/**
 * Model-quality metrics used to judge a retrained model against the serving
 * one, matching scikit-learn's defaults. Binary classification metrics use
 * positive label 1 (any other value is the negative class). Unlike the drift
 * functions, metrics do not skip missing values: a NaN label or score is a
 * bug upstream, so it throws DriftInputError (scikit-learn raises too).
 */
import { blockSum } from './data.js';
import { DriftInputError } from './errors.js';
import { sortedCopy } from './sort.js';

type Labels = ArrayLike<number>;

function checkPair(yTrue: Labels, yPred: Labels, predName = 'yPred'): number {
  if (yTrue == null || typeof yTrue.length !== 'number') throw new DriftInputError('yTrue', 'expected an array of numbers');
  if (yPred == null || typeof yPred.length !== 'number') throw new DriftInputError(predName, 'expected an array of numbers');
  if (yTrue.length === 0) throw new DriftInputError('yTrue', 'is empty');
  if (yTrue.length !== yPred.length) {
    throw new DriftInputError(predName, `has length ${yPred.length} but yTrue has length ${yTrue.length}`);
  }
  for (let i = 0; i < yTrue.length; i++) {
    const t = yTrue[i];
    if (typeof t !== 'number' || !Number.isFinite(t)) throw new DriftInputError('yTrue', `value at index ${i} is not a finite number (${String(t)})`);
    const p = yPred[i];
    if (typeof p !== 'number' || !Number.isFinite(p)) throw new DriftInputError(predName, `value at index ${i} is not a finite number (${String(p)})`);
  }
  return yTrue.length;
}

function confusion(yTrue: Labels, yPred: Labels): { tp: number; fp: number; fn: number } {
  const n = checkPair(yTrue, yPred);
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < n; i++) {
    const t = yTrue[i] === 1;
    const p = yPred[i] === 1;
    if (t && p) tp++;
    else if (p) fp++;
    else if (t) fn++;
  }
  return { tp, fp, fn };
}

/** Fraction of exact matches (sklearn.metrics.accuracy_score). */
export function accuracy(yTrue: Labels, yPred: Labels): number {
  const n = checkPair(yTrue, yPred);
  let ok = 0;
  for (let i = 0; i < n; i++) if (yTrue[i] === yPred[i]) ok++;
  return ok / n;
}

/** tp / (tp + fp); 0 when nothing is predicted positive (sklearn zero_division default). */
export function precision(yTrue: Labels, yPred: Labels): number {
  const { tp, fp } = confusion(yTrue, yPred);
  return tp + fp === 0 ? 0 : tp / (tp + fp);
}

/** tp / (tp + fn); 0 when there is no positive label. */
export function recall(yTrue: Labels, yPred: Labels): number {
  const { tp, fn } = confusion(yTrue, yPred);
  return tp + fn === 0 ? 0 : tp / (tp + fn);
}

/** 2 tp / (2 tp + fp + fn), sklearn's confusion-matrix form; 0 when undefined. */
export function f1(yTrue: Labels, yPred: Labels): number {
  const { tp, fp, fn } = confusion(yTrue, yPred);
  const denom = tp + fn + (tp + fp);
  return denom === 0 ? 0 : (2 * tp) / denom;
}

/**
 * Area under the ROC curve (sklearn.metrics.roc_auc_score, binary). The
 * trapezoid over the ROC curve equals the Mann-Whitney statistic with ties
 * counted 1/2, which is computed here exactly from the two sorted score
 * groups: AUC = P(score_pos > score_neg) + 1/2 P(score_pos == score_neg).
 */
export function rocAuc(yTrue: Labels, yScore: Labels): number {
  const n = checkPair(yTrue, yScore, 'yScore');
  let P = 0;
  for (let i = 0; i < n; i++) if (yTrue[i] === 1) P++;
  const N = n - P;
  if (P === 0 || N === 0) {
    throw new DriftInputError('yTrue', 'contains only one class; ROC AUC is not defined');
  }
  const pos = new Float64Array(P);
  const neg = new Float64Array(N);
  for (let i = 0, a = 0, b = 0; i < n; i++) {
    if (yTrue[i] === 1) pos[a++] = yScore[i];
    else neg[b++] = yScore[i];
  }
  const sp = sortedCopy(pos);
  const sn = sortedCopy(neg);
  // For each distinct negative score: positives above it count 1, equal 1/2.
  let area = 0; // in units of 1/2 to stay an exact integer
  let i = 0;
  let j = 0;
  while (j < N) {
    const v = sn[j];
    let negEq = 0;
    while (j < N && sn[j] === v) { negEq++; j++; }
    while (i < P && sp[i] < v) i++;
    let posEq = 0;
    while (i + posEq < P && sp[i + posEq] === v) posEq++;
    const above = P - i - posEq;
    area += negEq * (2 * above + posEq);
  }
  return area / 2 / (P * N);
}

/** Machine epsilon of float64, sklearn's clipping bound for probabilities. */
const EPS = 2.220446049250313e-16;

/**
 * Binary cross-entropy (sklearn.metrics.log_loss with a 1-D probability of
 * class 1): probabilities of each column are clipped to [eps, 1 - eps] with
 * eps = float64 machine epsilon, as current scikit-learn does. Unlike
 * scikit-learn, a yTrue containing a single class is accepted (the loss is
 * well defined for labels 0/1).
 */
export function logLoss(yTrue: Labels, yProba: Labels): number {
  const n = checkPair(yTrue, yProba, 'yProba');
  const losses = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const p = yProba[i];
    if (p < 0 || p > 1) throw new DriftInputError('yProba', `value at index ${i} is outside [0, 1] (${p})`);
    const q = yTrue[i] === 1 ? p : 1 - p;
    const c = q < EPS ? EPS : q > 1 - EPS ? 1 - EPS : q;
    losses[i] = -Math.log(c);
  }
  return blockSum(losses) / n;
}

/** Mean absolute error. */
export function mae(yTrue: Labels, yPred: Labels): number {
  const n = checkPair(yTrue, yPred);
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = Math.abs(yPred[i] - yTrue[i]);
  return blockSum(d) / n;
}

/** Root mean squared error (sklearn.metrics.root_mean_squared_error). */
export function rmse(yTrue: Labels, yPred: Labels): number {
  const n = checkPair(yTrue, yPred);
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const e = yPred[i] - yTrue[i];
    d[i] = e * e;
  }
  return Math.sqrt(blockSum(d) / n);
}

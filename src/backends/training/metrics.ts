import type { Task } from '../../config/policies.js';
import { blockSum } from '../../drift/data.js';
import { accuracy, f1, logLoss, mae, precision, recall, rmse, rocAuc } from '../../drift/index.js';
import type { ColumnPredictions } from '../models/scorer.js';
import type { Metrics } from './types.js';

/**
 * Task metrics from one scoring pass, with the drift module's metric functions (the same ones
 * the monitor uses on live traffic, so offline and online numbers are comparable). A metric that
 * is undefined for the data (AUC with one class present, anything on zero rows) is null.
 */
export function taskMetrics(task: Task, yTrue: ArrayLike<number>, scored: ColumnPredictions): Metrics {
  if (yTrue.length === 0) {
    return task === 'regression'
      ? { rmse: null, mae: null }
      : task === 'multiclass_classification'
        ? { accuracy: null, macro_f1: null, log_loss: null }
        : { accuracy: null, precision: null, recall: null, f1: null, roc_auc: null, log_loss: null };
  }
  if (task === 'regression') {
    return { rmse: rmse(yTrue, scored.predictions), mae: mae(yTrue, scored.predictions) };
  }
  if (task === 'multiclass_classification') {
    // Matured labels in the lake carry the predicted class and its probability, not every
    // class's: log loss is then unknown (null), accuracy and macro F1 are exact.
    const probabilities = scored.probabilities;
    return {
      accuracy: accuracy(yTrue, scored.predictions),
      macro_f1: macroF1(yTrue, scored.predictions),
      log_loss: probabilities ? definedOrNull(() => multiclassLogLoss(yTrue, probabilities)) : null,
    };
  }
  return {
    accuracy: accuracy(yTrue, scored.predictions),
    precision: precision(yTrue, scored.predictions),
    recall: recall(yTrue, scored.predictions),
    f1: f1(yTrue, scored.predictions),
    roc_auc: definedOrNull(() => rocAuc(yTrue, scored.scores)),
    log_loss: definedOrNull(() => logLoss(yTrue, scored.scores)),
  };
}

function definedOrNull(compute: () => number): number | null {
  try {
    const value = compute();
    return Number.isFinite(value) ? value : null;
  } catch {
    return null;
  }
}

/** Only the finite metrics, for progress payloads that want plain numbers. */
export function finiteMetrics(metrics: Metrics): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1])));
}

/**
 * Macro-averaged F1 (sklearn.metrics.f1_score(average='macro')): the unweighted mean of each
 * class's 2·tp / (2·tp + fp + fn) over the classes present in the labels or the predictions,
 * 0 for a class whose F1 is undefined (zero_division default).
 */
export function macroF1(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  if (yTrue.length !== yPred.length) throw new RangeError(`macroF1: ${yTrue.length} labels but ${yPred.length} predictions`);
  const tp = new Map<number, number>();
  const truths = new Map<number, number>();
  const predicted = new Map<number, number>();
  const bump = (m: Map<number, number>, key: number) => m.set(key, (m.get(key) ?? 0) + 1);
  for (let i = 0; i < yTrue.length; i++) {
    bump(truths, yTrue[i]);
    bump(predicted, yPred[i]);
    if (yTrue[i] === yPred[i]) bump(tp, yTrue[i]);
  }
  const classes = [...new Set([...truths.keys(), ...predicted.keys()])].sort((a, b) => a - b);
  if (classes.length === 0) return Number.NaN;
  let sum = 0;
  for (const c of classes) {
    const t = tp.get(c) ?? 0;
    const denom = (truths.get(c) ?? 0) + (predicted.get(c) ?? 0);
    sum += denom === 0 ? 0 : (2 * t) / denom;
  }
  return sum / classes.length;
}

const EPS = 2.220446049250313e-16;

/**
 * Multiclass log loss (sklearn.metrics.log_loss with labels = 0..k-1): the mean of −ln p(true
 * class), each row's probabilities normalised to sum 1 and clipped to [eps, 1 − eps] as sklearn
 * does (eps = float64 machine epsilon). `probabilities` is rows × k, row-major; a label must be an
 * integer class index below k.
 */
export function multiclassLogLoss(yTrue: ArrayLike<number>, probabilities: ArrayLike<number>): number {
  const n = yTrue.length;
  if (n === 0) return Number.NaN;
  const k = probabilities.length / n;
  if (!Number.isInteger(k) || k < 2) throw new RangeError(`multiclassLogLoss: ${probabilities.length} probabilities for ${n} rows`);
  const losses = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const y = yTrue[i];
    if (!Number.isInteger(y) || y < 0 || y >= k) throw new RangeError(`multiclassLogLoss: label ${y} at row ${i} is not a class index below ${k}`);
    let total = 0;
    for (let c = 0; c < k; c++) total += probabilities[i * k + c];
    const p = probabilities[i * k + y] / total;
    losses[i] = -Math.log(p < EPS ? EPS : p > 1 - EPS ? 1 - EPS : p);
  }
  return blockSum(losses) / n;
}

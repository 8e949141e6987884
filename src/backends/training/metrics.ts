import { accuracy, f1, logLoss, mae, precision, recall, rmse, rocAuc } from '../../drift/index.js';
import type { ColumnPredictions } from '../models/scorer.js';
import type { Metrics } from './types.js';

/**
 * Task metrics from one scoring pass, with the drift module's metric functions (the same ones
 * the monitor uses on live traffic, so offline and online numbers are comparable). A metric that
 * is undefined for the data (AUC with one class present, anything on zero rows) is null.
 */
export function taskMetrics(task: 'binary_classification' | 'regression', yTrue: ArrayLike<number>, scored: ColumnPredictions): Metrics {
  if (yTrue.length === 0) {
    return task === 'regression'
      ? { rmse: null, mae: null }
      : { accuracy: null, precision: null, recall: null, f1: null, roc_auc: null, log_loss: null };
  }
  if (task === 'regression') {
    return { rmse: rmse(yTrue, scored.predictions), mae: mae(yTrue, scored.predictions) };
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

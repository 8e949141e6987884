import type { Task } from '../../config/policies.js';
import type { FeatureColumns, FeatureDef, FeatureRow } from './columns.js';

/** What one scored row yields: the decision and the number behind it. */
export interface Prediction {
  /** Binary: 0 or 1 (score ≥ threshold). Multiclass: the class index (argmax). Regression: the predicted value. */
  prediction: number;
  /** Binary: probability of class 1. Multiclass: probability of the predicted class. Regression: the predicted value. */
  score: number;
  /** Multiclass only: every class's probability, in class order (sums to 1). */
  probabilities?: number[];
}

export interface ColumnPredictions {
  predictions: Float64Array;
  scores: Float64Array;
  /** Multiclass only: class probabilities, rows × classCount, row-major. */
  probabilities?: Float64Array;
}

export type ModelFormat = 'retrain-linear/v1' | 'onnx';
export type ModelTask = Task;

/**
 * A loaded model: the single scoring path used by evaluation and by the serving gateway.
 * Scoring is asynchronous because ONNX sessions run off the JS thread.
 */
export interface LoadedModel {
  readonly format: ModelFormat;
  readonly task: ModelTask;
  /** The inputs the model reads, with their types. */
  readonly features: readonly FeatureDef[];
  /** Absolute path of the artifact file that was loaded. */
  readonly path: string;
  /** sha256 (hex) of the artifact bytes. */
  readonly sha256: string;
  /** Binary classifiers: the score threshold for class 1. */
  readonly threshold?: number;
  /** Multiclass classifiers: how many classes the model outputs a probability for. */
  readonly classCount?: number;
  predict(rows: readonly FeatureRow[]): Promise<Prediction[]>;
  /** Batch scoring over columns (Parquet batches, evaluation); rowCount is inferred when omitted. */
  predictColumns(columns: FeatureColumns, rowCount?: number): Promise<ColumnPredictions>;
  close(): Promise<void>;
}

/** Turns column predictions into row objects, shared by the scorers' `predict`. */
export function toRows(result: ColumnPredictions): Prediction[] {
  const out: Prediction[] = new Array(result.scores.length);
  const probabilities = result.probabilities;
  const k = probabilities ? probabilities.length / Math.max(1, out.length) : 0;
  for (let i = 0; i < out.length; i++) {
    out[i] = probabilities
      ? { prediction: result.predictions[i], score: result.scores[i], probabilities: Array.from(probabilities.subarray(i * k, i * k + k)) }
      : { prediction: result.predictions[i], score: result.scores[i] };
  }
  return out;
}

/**
 * Class probabilities (rows × k, row-major, overwritten in place) → the predicted class (argmax,
 * the lowest index on a tie, as numpy) and its probability. Shared by every multiclass scorer.
 */
export function argmaxRows(probabilities: Float64Array, k: number, rows: number): { predictions: Float64Array; scores: Float64Array } {
  const predictions = new Float64Array(rows);
  const scores = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let best = 0;
    let top = probabilities[i * k];
    for (let c = 1; c < k; c++) {
      const p = probabilities[i * k + c];
      if (p > top) {
        top = p;
        best = c;
      }
    }
    predictions[i] = best;
    scores[i] = top;
  }
  return { predictions, scores };
}

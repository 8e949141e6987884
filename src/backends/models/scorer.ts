import type { FeatureColumns, FeatureDef, FeatureRow } from './columns.js';

/** What one scored row yields: the decision and the number behind it. */
export interface Prediction {
  /** Binary: 0 or 1 (score ≥ threshold). Regression: the predicted value. */
  prediction: number;
  /** Binary: probability of class 1. Regression: the predicted value. */
  score: number;
}

export interface ColumnPredictions {
  predictions: Float64Array;
  scores: Float64Array;
}

export type ModelFormat = 'retrain-linear/v1' | 'onnx';
export type ModelTask = 'binary_classification' | 'regression';

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
  predict(rows: readonly FeatureRow[]): Promise<Prediction[]>;
  /** Batch scoring over columns (Parquet batches, evaluation); rowCount is inferred when omitted. */
  predictColumns(columns: FeatureColumns, rowCount?: number): Promise<ColumnPredictions>;
  close(): Promise<void>;
}

/** Turns column predictions into row objects, shared by the scorers' `predict`. */
export function toRows(result: ColumnPredictions): Prediction[] {
  const out: Prediction[] = new Array(result.scores.length);
  for (let i = 0; i < out.length; i++) out[i] = { prediction: result.predictions[i], score: result.scores[i] };
  return out;
}

import { type FeatureColumns, type FeatureDef, type FeatureRow, rowCountOf, rowsToColumns } from './columns.js';
import { encode, linearScores, sigmoid } from './encode.js';
import type { LinearModel } from './format.js';
import { type ColumnPredictions, type LoadedModel, type Prediction, toRows } from './scorer.js';

/** Scores a validated `retrain-linear/v1` model through the shared `encode` preprocessing. */
export class LinearScorer implements LoadedModel {
  readonly format = 'retrain-linear/v1' as const;
  readonly task: LinearModel['task'];
  readonly features: readonly FeatureDef[];
  readonly threshold?: number;

  constructor(
    readonly model: LinearModel,
    readonly path: string,
    readonly sha256: string,
  ) {
    this.task = model.task;
    this.features = model.features.map((f) => ({ name: f.name, type: f.type }));
    this.threshold = model.task === 'binary_classification' ? model.threshold : undefined;
  }

  async predict(rows: readonly FeatureRow[]): Promise<Prediction[]> {
    return toRows(this.scoreColumns(rowsToColumns(rows, this.features), rows.length));
  }

  async predictColumns(columns: FeatureColumns, rowCount?: number): Promise<ColumnPredictions> {
    return this.scoreColumns(columns, rowCount ?? rowCountOf(columns, this.features));
  }

  /** Synchronous core, also used by the trainer for its validation metrics. */
  scoreColumns(columns: FeatureColumns, rowCount: number): ColumnPredictions {
    const design = encode(this.model.features, columns, rowCount);
    const z = linearScores(design, this.model.weights, this.model.bias);
    if (this.task === 'regression') return { predictions: z, scores: Float64Array.from(z) };
    const threshold = this.threshold ?? 0.5;
    const predictions = new Float64Array(rowCount);
    for (let i = 0; i < rowCount; i++) {
      z[i] = sigmoid(z[i]);
      predictions[i] = z[i] >= threshold ? 1 : 0;
    }
    return { predictions, scores: z };
  }

  async close(): Promise<void> {}
}

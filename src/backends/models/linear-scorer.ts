import { type FeatureColumns, type FeatureDef, type FeatureRow, rowCountOf, rowsToColumns } from './columns.js';
import { encode, type EncodedDesign, linearScores, sigmoid, softmaxRows } from './encode.js';
import type { LinearModel } from './format.js';
import { argmaxRows, type ColumnPredictions, type LoadedModel, type Prediction, toRows } from './scorer.js';

/** Scores a validated `retrain-linear/v1` model through the shared `encode` preprocessing. */
export class LinearScorer implements LoadedModel {
  readonly format = 'retrain-linear/v1' as const;
  readonly task: LinearModel['task'];
  readonly features: readonly FeatureDef[];
  readonly threshold?: number;
  readonly classCount?: number;
  /** Multiclass: each class's weight block. */
  private readonly classWeights: Float64Array[] = [];

  constructor(
    readonly model: LinearModel,
    readonly path: string,
    readonly sha256: string,
  ) {
    this.task = model.task;
    this.features = model.features.map((f) => ({ name: f.name, type: f.type }));
    this.threshold = model.task === 'binary_classification' ? model.threshold : undefined;
    if (model.task === 'multiclass_classification') {
      const k = model.classes!.length;
      const d = model.weights.length / k;
      this.classCount = k;
      for (let c = 0; c < k; c++) this.classWeights.push(Float64Array.from(model.weights.slice(c * d, (c + 1) * d)));
    }
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
    if (this.task === 'multiclass_classification') return this.scoreClasses(design, rowCount);
    const z = linearScores(design, this.model.weights, this.model.bias ?? 0);
    if (this.task === 'regression') return { predictions: z, scores: Float64Array.from(z) };
    const threshold = this.threshold ?? 0.5;
    const predictions = new Float64Array(rowCount);
    for (let i = 0; i < rowCount; i++) {
      z[i] = sigmoid(z[i]);
      predictions[i] = z[i] >= threshold ? 1 : 0;
    }
    return { predictions, scores: z };
  }

  /** Softmax over the k linear scores, shifted by the row's largest so exp never overflows. */
  private scoreClasses(design: EncodedDesign, rowCount: number): ColumnPredictions {
    const k = this.classCount!;
    const biases = this.model.biases!;
    const probabilities = new Float64Array(rowCount * k);
    const z = new Float64Array(rowCount);
    for (let c = 0; c < k; c++) {
      linearScores(design, this.classWeights[c], biases[c], z);
      for (let i = 0; i < rowCount; i++) probabilities[i * k + c] = z[i];
    }
    softmaxRows(probabilities, k, rowCount);
    return { ...argmaxRows(probabilities, k, rowCount), probabilities };
  }

  async close(): Promise<void> {}
}

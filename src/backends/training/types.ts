import type { ModelSpec } from '../../config/schema.js';
import type { ModelFormat } from '../models/scorer.js';

/** What a training run needs: references only (a dataset directory, an output directory). */
export interface TrainRequest {
  spec: ModelSpec;
  /** Dataset snapshot: train/validation/holdout.parquet + manifest.json. */
  datasetDir: string;
  /** Where the artifact and its sidecars are written; created if missing. */
  outputDir: string;
  runId: string;
}

export interface TrainProgress {
  /** 0..1 */
  fraction: number;
  message: string;
  metrics?: Record<string, number>;
}

export interface TrainContext {
  onProgress(progress: TrainProgress): void;
  /** Aborting stops the run: the worker thread is terminated or the process group killed. */
  signal: AbortSignal;
}

/** Metric values by name; null where a metric is undefined (e.g. AUC on a single-class split). */
export type Metrics = Record<string, number | null>;

export interface TrainResult {
  /** file:// URI of the artifact (model.json or model.onnx). */
  artifactUri: string;
  format: ModelFormat;
  /** Validation-split metrics reported by the trainer. */
  metrics: Metrics;
  costUsd: number;
  wallMs: number;
  /** Last lines of the trainer's log (stderr for command trainers). */
  logTail: string[];
}

export interface TrainingBackend {
  readonly name: string;
  train(request: TrainRequest, ctx: TrainContext): Promise<TrainResult>;
}

/** `lost`: a remote job that vanished or died without a result (Ray), retryable like `hung`. */
export type TrainingErrorKind = 'bad_input' | 'failed' | 'crashed' | 'hung' | 'lost' | 'timeout' | 'aborted' | 'missing_output' | 'invalid_output';

/**
 * A training run that cannot succeed by retrying as-is. Activities map `nonRetryable` onto a
 * non-retryable ApplicationFailure, carrying `logTail` so the reason is visible in the UI.
 */
export class TrainingError extends Error {
  override readonly name = 'TrainingError';
  readonly nonRetryable: boolean;
  readonly kind: TrainingErrorKind;
  readonly logTail: string[];

  constructor(kind: TrainingErrorKind, message: string, options: { logTail?: string[]; nonRetryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.nonRetryable = options.nonRetryable ?? true;
    this.logTail = options.logTail ?? [];
  }
}

/** The data or spec cannot be trained on as given (bad labels, one class, divergence, wrong algorithm). */
export class TrainingInputError extends Error {
  override readonly name = 'TrainingInputError';
}

/** Metrics every trainer must report, by task (the command contract checks these). */
export const REQUIRED_METRICS: Record<ModelSpec['task'], readonly string[]> = {
  binary_classification: ['accuracy', 'roc_auc'],
  multiclass_classification: ['accuracy', 'macro_f1'],
  regression: ['rmse', 'mae'],
};

/** Cost of a run billed by the hour. */
export function costOf(wallMs: number, costPerHour: number): number {
  return (wallMs / 3_600_000) * costPerHour;
}

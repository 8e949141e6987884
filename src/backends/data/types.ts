import type { ModelSpec } from '../../config/schema.js';

/**
 * The data backend as the rest of the product sees it. Activities call only this interface;
 * the embedded implementation is a Parquet lake read by in-process DuckDB (./lake), and the same
 * contract can later be served by SQL over object storage or a warehouse.
 */

export type Variant = 'champion' | 'challenger' | 'shadow';
export const VARIANTS: readonly Variant[] = ['champion', 'challenger', 'shadow'];

/**
 * The tables of a model's lake. serving_errors is the gateway's own log of scoring failures: it is
 * written by the gateway alone, so `retrain data import` takes only the IMPORT_KINDS.
 */
export type LakeKind = 'predictions' | 'labels' | 'training' | 'serving_errors';
export const LAKE_KINDS: readonly LakeKind[] = ['predictions', 'labels', 'training', 'serving_errors'];
export type ImportKind = Exclude<LakeKind, 'serving_errors'>;
export const IMPORT_KINDS: readonly ImportKind[] = ['predictions', 'labels', 'training'];

/** A timestamp as callers hold it: a Date, an ISO-8601 string (UTC unless it carries an offset) or epoch milliseconds. */
export type TimeInput = Date | string | number;
export type FeatureValue = number | string | null | undefined;

/** One logged prediction, as the serving gateway produces it. Features absent or null are stored as NULL. */
export interface PredictionRow {
  request_id: string;
  ts: TimeInput;
  model_version: string;
  variant: Variant;
  entity_id?: string | null;
  features: Record<string, FeatureValue>;
  prediction: number;
  score: number;
  latency_ms?: number | null;
}

/**
 * Ground truth for a prediction, arriving late: `label_ts` is when it arrived, not when the prediction
 * was made. Every row is kept; reads count a label only when a prediction was logged with its
 * request_id, and pick one label per request by the model's LabelRevisionRule.
 */
export interface LabelRow {
  request_id: string;
  label: number;
  label_ts: TimeInput;
}

/** Longest `reason` of a serving error row; the gateway cuts longer messages to this. */
export const MAX_ERROR_REASON_LENGTH = 200;

/**
 * A request the model failed to answer, as the serving gateway logs it: the scorer threw, or a
 * challenger or shadow answered with a non-finite number. Requests refused for their input (4xx)
 * are not model errors and are not logged. `ts` is the request's time, as for its prediction rows.
 */
export interface ServingErrorRow {
  request_id: string;
  ts: TimeInput;
  model_version: string;
  variant: Variant;
  latency_ms?: number | null;
  /** What went wrong, at most MAX_ERROR_REASON_LENGTH characters, no control characters. */
  reason: string;
}

/** Historical labelled data used to train a first model (stored under the spec's label column name). */
export interface TrainingRow {
  request_id: string;
  ts: TimeInput;
  features: Record<string, FeatureValue>;
  label: number;
}

export interface AppendResult {
  rowsWritten: number;
  /** Rows where at least one feature was NULL. */
  rowsWithMissingFeatures: number;
  /** Partition dates (YYYY-MM-DD, UTC) that received a file. */
  partitions: string[];
  /** Absolute paths of the new files, one per partition. */
  files: string[];
}

export type ImportFormat = 'csv' | 'parquet' | 'jsonl';

export interface ImportResult extends AppendResult {
  model: string;
  kind: LakeKind;
  file: string;
  format: ImportFormat;
}

/** Numerical features arrive as Float64Array (NULL → NaN), categorical ones as arrays with null. */
export type FeatureColumn = Float64Array | (string | null)[];

/** A lake file that was moved aside instead of being read, and why. */
export interface QuarantinedFile {
  file: string;
  reason: string;
}

interface ReadReport {
  /** Parquet files the query read (after partition pruning and quarantine). */
  filesRead: number;
  /** Files refused during this call; they now live under the model's quarantine/ folder. */
  quarantined: QuarantinedFile[];
}

export interface WindowQuery {
  from: Date;
  to: Date;
  /** Default 'champion'; 'all' reads every variant. */
  variant?: Variant | 'all';
}

export interface WindowResult extends ReadReport {
  rowCount: number;
  columns: Record<string, FeatureColumn>;
  /** The served score per row (NaN where none was logged). */
  scores: Float64Array;
  /** NULL count per feature. */
  missing: Record<string, number>;
  rowsWithMissingFeatures: number;
}

/**
 * Which of a request's labels decides it when feedback sent more than one: every label row is kept
 * (the lake is append-only), and reads pick one per request id. 'first' (the default): the earliest
 * label_ts wins and later labels are history; 'last': the latest wins. Ties on label_ts go to the
 * lower label under 'first' and the higher under 'last', so the choice never depends on file order.
 */
export type LabelRevisionRule = 'first' | 'last';
export const LABEL_REVISION_RULES: readonly LabelRevisionRule[] = ['first', 'last'];

/**
 * Matured labels as a check at `asOf` sees them: the predictions old enough for their labels to
 * have arrived (prediction ts in [from, to) and ts <= asOf - label.delay), joined to every label
 * that arrived by asOf (label_ts <= asOf), whenever it arrived. A monitor window of length W ending
 * at t is { from: t - W - delay, to: t, asOf: t }: the predictions that matured during the window.
 */
export interface MaturedLabelsQuery {
  /** Prediction time, inclusive. */
  from: Date;
  /** Prediction time, exclusive; predictions younger than asOf - delay are left out whatever `to` says. */
  to: Date;
  /** The time of the check: predictions are matured if ts <= asOf - spec.label.delay; labels count if label_ts <= asOf. */
  asOf: Date;
  /** Default: every variant, and the result then carries `variants`. */
  variant?: Variant;
  /** Feature columns to return alongside, for per-slice metrics. */
  sliceBy?: string[];
}

export interface MaturedLabelsResult extends ReadReport {
  /** Labelled matured predictions: the length of predictions/scores/labels (equal to `labelled`). */
  count: number;
  predictions: Float64Array;
  scores: Float64Array;
  /** One label per prediction, picked by `revisionRule` among the labels that arrived by asOf. */
  labels: Float64Array;
  /** Present when no variant filter was given. */
  variants?: Variant[];
  /** Present when sliceBy was given. */
  slices?: Record<string, FeatureColumn>;
  /** asOf - label delay: the newest prediction ts judged. */
  maturedBy: Date;
  /** Matured predictions in the range (labelled or not). */
  matured: number;
  /** Matured predictions with at least one label by asOf. */
  labelled: number;
  /** labelled / matured; 0 when nothing has matured. */
  coverage: number;
  /** Request ids among the labelled ones whose labels by asOf hold more than one distinct value. */
  revised: number;
  /** The rule that picked each label (spec.label.revisions, default 'first'). */
  revisionRule: LabelRevisionRule;
}

/** Where an online learner stopped: the last example it read, in (label time, request id) order. */
export interface ExampleCursor {
  labelTs: Date;
  requestId: string;
}

export interface LabelledExamplesQuery {
  /** Examples after this position; a fresh learner starts at its start time with requestId ''. */
  after: ExampleCursor;
  /** Labels that arrived by this time. */
  asOf: Date;
  /** At most this many, the oldest first. */
  limit: number;
}

export interface LabelledExamples extends ReadReport {
  count: number;
  /** Feature columns of the predictions the labels belong to, as readWindow returns them. */
  columns: Record<string, FeatureColumn>;
  labels: Float64Array;
  /** Arrival time of each example's first label (ms since the epoch). */
  labelTs: Float64Array;
  requestIds: string[];
}

export interface CountNewLabelsOptions {
  /** Only labels that arrived by this time, and predictions logged by it (default: everything in the lake). */
  asOf?: Date;
}

/** Every label sent for one request id, and what the reads make of it. */
export interface LabelHistory {
  requestId: string;
  revisionRule: LabelRevisionRule;
  /** Logged predictions with this request id (one per variant that served or shadowed it), oldest first. */
  predictions: { ts: Date; variant: Variant; modelVersion: string }[];
  /** Every label row, in arrival order (label_ts, then label). */
  labels: { label: number; labelTs: Date }[];
  /** The label the rule picks; null without labels, or when no prediction was logged with this id (such labels never count). */
  decided: { label: number; labelTs: Date } | null;
  /** More than one distinct label value was sent. */
  revised: boolean;
}

/**
 * What was served in [from, to), per variant, from the lake alone: durable across gateway restarts
 * and summed over every gateway replica writing to the lake, unlike a gateway's in-memory counts.
 */
export interface ServedEvidenceQuery {
  /** Predictions (and errors) with ts in [from, to). */
  from: TimeInput;
  to: TimeInput;
  /** Labels that arrived (label_ts) by asOf count, whatever their age. */
  asOf: TimeInput;
  /** Only rows of these versions per variant (the step's champion and challenger); absent = any version. */
  versions?: Partial<Record<Variant, string>>;
  /** Bins of the score histograms; default 20. */
  scoreBins?: number;
}

export interface ServedVariantEvidence {
  /** The version seen (the latest by ts when several; null when no rows); with `versions` given, that one. */
  version: string | null;
  /** Logged predictions + logged errors. */
  requests: number;
  errors: number;
  /** Over answered predictions with a logged latency (exact quantiles: DuckDB quantile_cont); null with none. */
  /** p98 and p99.5 bracket the p99 (its 95% order-statistic bounds from 1,000 answers on). */
  latencyMs: { p50: number; p99: number; mean: number; p98: number; p995: number } | null;
  /** Predictions with a label by asOf (one label per request id, by spec.label.revisions). */
  labelled: number;
  /** binary_classification: prediction == label (0 for regression). */
  correct: number;
  /** Regression: sum |prediction − label| (0 for binary). */
  absErrorSum: number;
  /** Regression: sum (prediction − label)² (0 for binary). */
  squaredErrorSum: number;
  /** Counts of answered predictions' scores in the bins of ServedEvidence.scoreEdges. */
  scoreHistogram: number[];
}

export interface ServedEvidence extends ReadReport {
  /** ISO-8601 instants of the query. */
  from: string;
  to: string;
  asOf: string;
  /**
   * Bin edges shared by all variants: binary → equal bins on [0, 1]; regression → equal bins between
   * the min and max score of all variants in the range (a single value → one bin; no score → none).
   * Bin k holds edges[k] <= score < edges[k + 1], the last bin closed; out-of-range scores go to the end bins.
   */
  scoreEdges: number[];
  /** champion, challenger and shadow, each present (zeros when absent). */
  variants: Record<Variant, ServedVariantEvidence>;
  /**
   * Shadow rows joined to the champion row of the same request_id: how many pairs, how many with
   * the same prediction (regression: |diff| <= 1e-9 × max(1, |champion's prediction|)).
   */
  shadowPairs: { paired: number; agreed: number };
}

export type DatasetSource = 'training' | 'feedback' | 'both';

export interface BuildDatasetOptions {
  asOf: Date;
  /**
   * 'training' = the historical table only, 'feedback' = predictions at least label.delay old at
   * asOf joined to the labels that arrived by asOf; default both.
   */
  source?: DatasetSource;
}

export const DATASET_FILES = { train: 'train.parquet', validation: 'validation.parquet', holdout: 'holdout.parquet' } as const;
export type DatasetSplit = keyof typeof DATASET_FILES;

/**
 * manifest.json of a materialised dataset. The training backend reads the three Parquet files named
 * in DATASET_FILES (columns: request_id, ts, features..., labelColumn) and this manifest.
 */
export interface DatasetManifest {
  datasetId: string;
  model: string;
  asOf: string;
  lookback: string;
  source: DatasetSource;
  /** [from, to) of prediction/training timestamps considered. */
  timeRange: { from: string; to: string };
  /** Feedback predictions had ts <= this instant (asOf - label delay): old enough for their labels to have arrived. */
  predictionsMaturedBy: string;
  /** Labels admitted had label_ts <= this instant (asOf), whenever they arrived. */
  labelsArrivedBy: string;
  /** The rule that picked one label per request id (spec.label.revisions). */
  labelRevisions: LabelRevisionRule;
  /** Request ids in the dataset whose feedback labels hold more than one distinct value. */
  labelsRevised: number;
  fractions: { validation: number; holdout: number };
  /** First ts of each later split: train < validationFrom <= validation < holdoutFrom <= holdout. */
  splitBoundaries: { validationFrom: string | null; holdoutFrom: string | null };
  rowCounts: Record<DatasetSplit, number>;
  rowsWithMissingFeatures: number;
  /** NULL count per feature over the three files. */
  missingValues: Record<string, number>;
  /**
   * Candidate rows dropped because another row had the same request_id: another variant's copy of
   * the prediction, a label the revision rule did not pick, or a training row (a served prediction's
   * row always beats a training-table row with the same id).
   */
  duplicatesDropped: number;
  files: typeof DATASET_FILES;
  schema: { name: string; type: 'VARCHAR' | 'TIMESTAMP' | 'DOUBLE' }[];
  labelColumn: string;
  features: { name: string; type: 'numerical' | 'categorical' }[];
  /** sha256 over the bytes of train, validation and holdout files, in that order. */
  contentHash: string;
  /** Lake files the dataset was built from, relative to the lake's model folder. */
  sourceFiles: { path: string; bytes: number }[];
  createdAt: string;
}

export interface DatasetResult extends DatasetManifest {
  /** Absolute folder holding the manifest and the three files. */
  datasetDir: string;
  /** True when an existing dataset with this id was returned without rebuilding. */
  reused: boolean;
  quarantined: QuarantinedFile[];
}

export interface DataBackend {
  /** Features of predictions with ts in [from, to). An empty window gives rowCount 0, not an error. */
  readWindow(spec: ModelSpec, query: WindowQuery): Promise<WindowResult>;
  /**
   * Predictions in [from, to) that are at least label.delay old at asOf, joined by request_id to the
   * labels that arrived by asOf (one per request, by spec.label.revisions), with label coverage.
   */
  maturedLabels(spec: ModelSpec, query: MaturedLabelsQuery): Promise<MaturedLabelsResult>;
  /**
   * Newly labelled requests (the volume trigger): request ids of logged predictions whose first label
   * arrived after `since` (and by asOf). Labels for ids no prediction was logged with, resent or
   * revised labels, and labels of predictions older than data.lookback before `since` never count.
   * A Date as third argument is asOf.
   */
  countNewLabels(spec: ModelSpec, since: Date, options?: Date | CountNewLabelsOptions): Promise<number>;
  /**
   * Per-variant requests, errors, latency, label agreement and score histograms of what was served
   * in [from, to), from the lake's predictions, serving_errors and labels. An empty range gives
   * zeros, not an error.
   */
  servedEvidence(spec: ModelSpec, query: ServedEvidenceQuery): Promise<ServedEvidence>;
  /** Labelled examples in label-arrival order after a cursor, with their features: an online learner's input. */
  labelledExamples(spec: ModelSpec, query: LabelledExamplesQuery): Promise<LabelledExamples>;
  /** Every label sent for a request id, its logged predictions and the label the rule picks. */
  labelHistory(spec: ModelSpec, requestId: string, options?: { asOf?: Date }): Promise<LabelHistory>;
  /** Materialises (or returns the existing) train/validation/holdout snapshot as of `asOf`. */
  buildDataset(spec: ModelSpec, options: BuildDatasetOptions): Promise<DatasetResult>;
  /**
   * The local folder of a dataset that buildDataset made, on any worker: this data dir's copy,
   * downloaded from the lake store (RETRAIN_LAKE_STORE) and checked against its manifest when
   * missing; without a store, `dataset.datasetDir`. A DataInputError when none has it.
   */
  localDataset(spec: ModelSpec, dataset: { datasetId: string; datasetDir: string }): Promise<string>;
  /** Checks a CSV, Parquet or JSON Lines file against the model and appends it; refuses it whole with DataInputError. */
  importFile(spec: ModelSpec, kind: LakeKind, file: string): Promise<ImportResult>;
  appendPredictions(spec: ModelSpec, rows: PredictionRow[]): Promise<AppendResult>;
  appendLabels(model: ModelSpec | string, rows: LabelRow[]): Promise<AppendResult>;
  appendTraining(spec: ModelSpec, rows: TrainingRow[]): Promise<AppendResult>;
  /** The gateway's scoring failures (serving_errors); like labels, they do not depend on the features. */
  appendServingErrors(model: ModelSpec | string, rows: ServingErrorRow[]): Promise<AppendResult>;
  close(): Promise<void>;
}

/**
 * Input that can never succeed as given (a file with a wrong column, rows with a bad value, no
 * data to build from). Activities turn it into a non-retryable ApplicationFailure; the message is
 * written for the person who has to fix the input.
 */
export class DataInputError extends Error {
  override readonly name = 'DataInputError';
  readonly nonRetryable = true;
  constructor(
    message: string,
    readonly details: { file?: string; columns?: string[] } = {},
  ) {
    super(message);
  }
}

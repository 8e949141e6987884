import { stat } from 'node:fs/promises';
import { durationMs } from '../../config/duration.js';
import type { FeatureSpec, ModelSpec } from '../../config/schema.js';
import { negativeLogLoss, negativeRmse, permutationImportance, type FeatureTable, type Metric } from '../../drift/decisions/importance.js';
import { DriftInputError, seededRandom } from '../../drift/decisions/common.js';
import { fitCalibration } from '../../drift/decisions/calibration.js';
import { accuracy } from '../../drift/metrics.js';
import { seasonalAllowance } from '../../drift/decisions/seasonal.js';
import { buildProfile, type Columns, type DriftProfile, type ModelImportance } from '../../drift/profile.js';
import { isEncodedCategorical, type FeatureColumns } from '../models/columns.js';
import { loadModel } from '../models/load.js';
import type { LoadedModel } from '../models/scorer.js';
import { scoreInBatches } from './evaluate.js';
import { readParquetColumns } from './parquet.js';
import { TrainingError } from './types.js';

/**
 * A model version's reference: the drift profile of its training data (what the monitor compares
 * live traffic with) and each feature's permutation importance to that model, so the monitor can
 * tell drift of a feature that matters from drift of one the model hardly uses.
 *
 * Importance is measured on the validation split (rows the model did not train on); without one,
 * or with fewer than MIN_VALIDATION_ROWS labelled rows in it, on a sample of the training split.
 * At most IMPORTANCE_MAX_ROWS rows (a seeded sample, in file order), R = 3 shuffles per feature,
 * metric negative log loss for binary classifiers and negative RMSE for regressors. The model is
 * scored through loadModel, the gateway's own scoring path, so what is measured is what is served.
 * A spec feature the model does not read gets importance 0 without being scored.
 */

export const IMPORTANCE_MAX_ROWS = 5_000;
export const IMPORTANCE_REPEATS = 3;
/** Fewer labelled validation rows than this and importance falls back to a training sample. */
export const MIN_VALIDATION_ROWS = 100;

/** What a reference needs of a model's spec (a ModelSpec has it all). */
export interface ReferenceSpec {
  task: ModelSpec['task'];
  features: readonly FeatureSpec[];
  label: { name: string };
  /** Multiclass: the class names (the model must output one probability each). */
  classes?: readonly string[];
  /** The monitor window, for the seasonal allowances (a ModelSpec has it). */
  data?: { monitorWindow: string };
}

export interface ModelReferenceOptions {
  /** The artifact: a file:// URI, a path, or a trainer output directory holding model.json / model.onnx. */
  artifactPath: string;
  /** The training split: the profile describes it. */
  trainParquet: string;
  /** The validation split, for importance; absent (or missing on disk) → a training sample. */
  validationParquet?: string;
  /** Seeds the row sample and the shuffles (default 42). The profile keeps its own default seed. */
  seed?: number;
  /** Expected sha256 of the artifact (e.g. from the registry); a mismatch is refused. */
  sha256?: string;
  /**
   * The monitor window's length (default: the spec's data.monitorWindow): with it, and a training
   * split that has timestamps, the profile records what the data's own cycles add to each
   * feature's drift distance for windows that long.
   */
  monitorWindowMs?: number;
}

export async function buildModelReference(spec: ReferenceSpec, options: ModelReferenceOptions): Promise<DriftProfile> {
  const label = spec.label.name;
  const train = await readParquetColumns(options.trainParquet, spec.features, label, { timeColumn: 'ts' });
  const trainColumns = decode(train.columns);
  const labels = train.label ?? new Float64Array();
  const built = buildProfile(
    { ...trainColumns, [label]: labels },
    // A multiclass label is a class index: its shift is the Jensen–Shannon distance between class shares.
    { features: [...spec.features], label: { name: label, type: spec.task === 'binary_classification' ? 'binary' : spec.task === 'multiclass_classification' ? 'categorical' : 'numerical' } },
  );
  const windowMs = options.monitorWindowMs ?? (spec.data ? durationMs(spec.data.monitorWindow) : undefined);
  const seasonality = windowMs && train.times ? measureSeasonality(spec, trainColumns, train.times, windowMs, built.settings.bins) : undefined;
  const profile = seasonality ? { ...built, seasonality } : built;

  const seed = options.seed ?? 42;
  let rows: LabelledRows = { columns: trainColumns, labels, split: 'train' };
  if (options.validationParquet && (await isFile(options.validationParquet))) {
    const validation = await readParquetColumns(options.validationParquet, spec.features, label);
    if (validation.rowCount >= MIN_VALIDATION_ROWS) rows = { columns: decode(validation.columns), labels: validation.label!, split: 'validation' };
  }
  rows = sampleRows(rows, IMPORTANCE_MAX_ROWS, seed);
  if (rows.labels.length < 2) return profile; // nothing to permute: the profile goes without importance

  const model = await loadModel(options.artifactPath, { spec: { task: spec.task, features: spec.features, classes: spec.classes }, sha256: options.sha256 });
  try {
    const importance = await measureImportance(model, spec, rows, seed);
    return { ...profile, importance, ...(spec.task !== 'regression' ? { calibration: await scoreCalibration(model, rows) } : {}) };
  } catch (err) {
    // Scores the metric cannot use (NaN, probabilities outside [0, 1]): retrying will not change them.
    if (err instanceof DriftInputError) throw new TrainingError('invalid_output', `${model.path}: cannot measure feature importance on the ${rows.split} split: ${err.message}`, { cause: err });
    throw err;
  } finally {
    await model.close();
  }
}

/**
 * Each feature's seasonal allowance (decisions/seasonal.ts) for windows of the monitor's length:
 * the rows put in time order, windows of the rows such a span held on average. Undefined when the
 * split spans fewer than four windows (a cycle cannot be told from a trend) or has no times.
 */
function measureSeasonality(spec: ReferenceSpec, columns: Columns, times: Float64Array, windowMs: number, bins: number): DriftProfile['seasonality'] {
  const order = Array.from(times.keys()).filter((i) => Number.isFinite(times[i])).sort((a, b) => times[a] - times[b]);
  if (order.length < 2) return undefined;
  const span = times[order[order.length - 1]] - times[order[0]];
  if (!(span >= 4 * windowMs)) return undefined;
  const windowRows = Math.round((order.length * windowMs) / span);
  if (windowRows < 30) return undefined;
  const features: NonNullable<DriftProfile['seasonality']>['features'] = Object.create(null);
  for (const f of spec.features) {
    const column = columns[f.name];
    const inTimeOrder = column instanceof Float64Array ? Float64Array.from(order, (i) => column[i]) : order.map((i) => (column as ArrayLike<unknown>)[i]);
    const allowance = seasonalAllowance(inTimeOrder, { windowSize: windowRows, statistic: f.type === 'numerical' ? 'psi' : 'jensen_shannon', bins });
    if (allowance) features[f.name] = allowance;
  }
  return { windowMs, windowRows, features };
}

interface LabelledRows {
  /** Decoded columns: Float64Array (NaN = missing) or (string | null)[]. */
  columns: Columns;
  labels: Float64Array;
  split: 'validation' | 'train';
}

async function measureImportance(model: LoadedModel, spec: ReferenceSpec, rows: LabelledRows, seed: number): Promise<ModelImportance> {
  const binary = spec.task === 'binary_classification';
  const multiclass = spec.task === 'multiclass_classification';
  // Multiclass: the permuted predictions' accuracy (a score array carries one class's probability only).
  const metric: Metric = binary ? negativeLogLoss : multiclass ? (labels, predictions) => accuracy(labels, predictions) : negativeRmse;
  const table = rows.columns as FeatureTable;
  const n = rows.labels.length;
  const read = new Set(model.features.map((f) => f.name));
  const measured = spec.features.map((f) => f.name).filter((name) => read.has(name));
  const features: ModelImportance['features'] = Object.create(null); // a feature may be called __proto__
  for (const f of spec.features) features[f.name] = { importance: 0, share: 0, std: 0 };
  const summary = { metric: binary ? 'neg_log_loss' : multiclass ? 'accuracy' : 'neg_rmse', repeats: IMPORTANCE_REPEATS, rows: n, split: rows.split };
  if (measured.length === 0) return { ...summary, features };

  // permutationImportance calls a synchronous scorer; the model scores asynchronously (ONNX runs
  // off the JS thread). Its shuffles depend only on the seed and the feature names, never on the
  // scores, so a first pass records the tables it asks about, they are scored, and a second pass
  // replays the same shuffles with those predictions.
  const base = { table, labels: rows.labels, metric, features: measured, repeats: IMPORTANCE_REPEATS, seed };
  const asked: FeatureTable[] = [];
  const placeholder = new Float64Array(n).fill(0.5);
  permutationImportance({ ...base, score: (t) => (asked.push(t), placeholder) });
  const scored: Float64Array[] = [];
  for (const t of asked) {
    const result = await scoreInBatches(model, t as FeatureColumns, n, 65_536);
    scored.push(binary ? result.scores : result.predictions);
  }
  let next = 0;
  const result = permutationImportance({ ...base, score: () => scored[next++] });
  if (next !== scored.length) throw new Error(`permutation importance asked for ${next} scorings on replay, ${scored.length} were recorded`);
  for (const m of result.features) features[m.feature] = { importance: m.importance, share: m.share, std: m.std };
  return { ...summary, baseline: result.baseline, features };
}

/**
 * Isotonic calibration of the model's scores on these rows (for the label-free estimate). Binary:
 * P(class 1 | score). Multiclass: P(the prediction is right | its probability), the confidence
 * calibration whose mean over a window is the expected accuracy.
 */
async function scoreCalibration(model: LoadedModel, rows: LabelledRows): Promise<NonNullable<DriftProfile['calibration']>> {
  const { scores, predictions } = await scoreInBatches(model, rows.columns as FeatureColumns, rows.labels.length, 65_536);
  const outcomes = model.task === 'multiclass_classification' ? Float64Array.from(predictions, (p, i) => (p === rows.labels[i] ? 1 : 0)) : rows.labels;
  const fitted = fitCalibration(scores, outcomes);
  return { ...fitted, rows: rows.labels.length, split: rows.split };
}

/** At most `max` rows, a seeded uniform sample kept in file order. */
function sampleRows(rows: LabelledRows, max: number, seed: number): LabelledRows {
  const n = rows.labels.length;
  if (n <= max) return rows;
  const random = seededRandom(seed, 'importance rows');
  const perm = Int32Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < max; i++) {
    const j = i + Math.floor(random() * (n - i));
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  const keep = perm.slice(0, max).sort();
  const columns: Columns = {};
  for (const [name, column] of Object.entries(rows.columns)) {
    columns[name] = column instanceof Float64Array ? Float64Array.from(keep, (i) => column[i]) : Array.from(keep, (i) => (column as ArrayLike<string | null>)[i]);
  }
  return { columns, labels: Float64Array.from(keep, (i) => rows.labels[i]), split: rows.split };
}

/** Dictionary-encoded categories back to strings (null = missing); numbers stay Float64Array. */
function decode(columns: FeatureColumns): Columns {
  return Object.fromEntries(
    Object.entries(columns).map(([name, column]) => [name, isEncodedCategorical(column) ? Array.from(column.codes, (c) => (c < 0 ? null : column.dictionary[c])) : column]),
  ) as Columns;
}

async function isFile(file: string): Promise<boolean> {
  return stat(file).then((s) => s.isFile(), () => false);
}

/**
 * Permutation importance: how much worse does the model score when one
 * feature's column is shuffled (its link to the label and the other features
 * broken, its distribution kept)? importance_j = mean over repeats of
 * (baseline metric - metric with column j permuted), metrics higher-is-better.
 * It needs only a scoring function, so it works for any model the product
 * serves, and it is computed on the validation split when a profile is built.
 *
 * Shares: max(importance, 0) normalised to sum to 1. A negative importance
 * (shuffling helped, i.e. noise) counts as 0: the feature does not matter.
 * Each feature's shuffles come from its own generator, seeded by the seed and
 * the feature's name, so a feature's importance does not depend on which
 * other features are measured or in what order.
 */
import { accuracy, logLoss, rmse } from '../metrics.js';
import { DriftInputError, requireArrayLike, requireNumber, requireNumbers, seededRandom } from './common.js';

export type FeatureColumn = Float64Array | ArrayLike<number | null> | ArrayLike<string | null>;
/** Column-major rows, as src/drift uses: Float64Array for numbers, (string | null)[] for categories. */
export type FeatureTable = Record<string, FeatureColumn>;
/** Higher is better: accuracy, negative log loss, negative RMSE, ... */
export type Metric = (labels: Float64Array, predictions: Float64Array) => number;

export interface PermutationImportanceOptions {
  /** The model: predictions (probabilities or values) for every row of a table. */
  score: (table: FeatureTable) => ArrayLike<number>;
  table: FeatureTable;
  labels: ArrayLike<number>;
  metric: Metric;
  /** Features to measure (default: every column of the table). */
  features?: string[];
  /** Shuffles per feature (default 5). */
  repeats?: number;
  seed?: number;
}

export interface FeatureImportance {
  feature: string;
  /** Mean metric drop when the feature is shuffled. */
  importance: number;
  /** Standard deviation of the drop over repeats (population, as scikit-learn). */
  std: number;
  /** Share of the total positive importance, in [0, 1]. */
  share: number;
}

export interface PermutationImportance {
  baseline: number;
  repeats: number;
  /** In the order of `features`. */
  features: FeatureImportance[];
}

/** Accuracy of probabilities thresholded at `threshold` (labels 0/1). */
export function accuracyAt(threshold = 0.5): Metric {
  requireNumber(threshold, 'threshold', { min: 0, max: 1 });
  return (labels, p) => accuracy(labels, p.map((x) => (x >= threshold ? 1 : 0)));
}

/** Negative binary log loss of probabilities (higher is better). */
export const negativeLogLoss: Metric = (labels, p) => -logLoss(labels, p);

/** Negative root mean squared error (higher is better), for regressors. */
export const negativeRmse: Metric = (labels, predictions) => -rmse(labels, predictions);

function checkTable(table: FeatureTable, features: string[] | undefined): { rows: number; names: string[] } {
  if (table == null || typeof table !== 'object') throw new DriftInputError('table', 'expected an object of columns');
  const columns = Object.keys(table);
  if (columns.length === 0) throw new DriftInputError('table', 'has no columns');
  let rows = -1;
  for (const name of columns) {
    const col = requireArrayLike(table[name], `table.${name}`, 'a column (Float64Array or array)');
    if (rows >= 0 && col.length !== rows) throw new DriftInputError(`table.${name}`, `has ${col.length} rows, other columns have ${rows}`);
    rows = col.length;
  }
  if (rows < 2) throw new DriftInputError('table', `needs at least 2 rows to permute, got ${rows}`);
  const names = features ?? columns;
  if (!Array.isArray(names) || names.length === 0) throw new DriftInputError('features', 'expected a non-empty array of column names');
  for (const f of names) if (!Object.prototype.hasOwnProperty.call(table, f)) throw new DriftInputError('features', `no column named ${JSON.stringify(f)}`);
  if (new Set(names).size !== names.length) throw new DriftInputError('features', 'contains duplicates');
  return { rows, names };
}

/** A shuffled copy of a column, of the same kind (Fisher-Yates). */
function permuted(column: FeatureColumn, random: () => number): FeatureColumn {
  const copy = column instanceof Float64Array ? column.slice() : Array.from(column as ArrayLike<unknown>);
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = copy[i];
    copy[i] = copy[j];
    copy[j] = t as never;
  }
  return copy as FeatureColumn;
}

function evaluate(o: PermutationImportanceOptions, table: FeatureTable, labels: Float64Array): number {
  const predictions = requireNumbers(o.score(table), 'score(table)');
  if (predictions.length !== labels.length) throw new DriftInputError('score(table)', `returned ${predictions.length} predictions for ${labels.length} rows`);
  const value = o.metric(labels, predictions);
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new DriftInputError('metric', `returned ${String(value)}, expected a finite number`);
  return value;
}

/** Permutation importance of each feature for a scoring function on labelled rows. */
export function permutationImportance(options: PermutationImportanceOptions): PermutationImportance {
  if (options == null || typeof options !== 'object') throw new DriftInputError('options', 'expected { score, table, labels, metric, ... }');
  if (typeof options.score !== 'function') throw new DriftInputError('score', 'expected a function (table) => predictions');
  if (typeof options.metric !== 'function') throw new DriftInputError('metric', 'expected a function (labels, predictions) => number, higher is better');
  const { rows, names } = checkTable(options.table, options.features);
  const labels = requireNumbers(options.labels, 'labels');
  if (labels.length !== rows) throw new DriftInputError('labels', `has ${labels.length} values, the table has ${rows} rows`);
  const repeats = requireNumber(options.repeats ?? 5, 'repeats', { min: 1, integer: true });
  const seed = requireNumber(options.seed ?? 42, 'seed', { integer: true });
  const baseline = evaluate(options, options.table, labels);
  const measured = names.map((feature) => {
    const random = seededRandom(seed, feature);
    const drops: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const table = { ...options.table, [feature]: permuted(options.table[feature], random) };
      drops.push(baseline - evaluate(options, table, labels));
    }
    const mean = drops.reduce((a, b) => a + b, 0) / repeats;
    const std = Math.sqrt(drops.reduce((a, d) => a + (d - mean) * (d - mean), 0) / repeats);
    return { feature, importance: mean, std };
  });
  const positive = measured.reduce((a, m) => a + Math.max(m.importance, 0), 0);
  return {
    baseline,
    repeats,
    features: measured.map((m) => ({ ...m, share: positive > 0 ? Math.max(m.importance, 0) / positive : 0 })),
  };
}

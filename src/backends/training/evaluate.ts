import type { Task } from '../../config/policies.js';
import type { FeatureSpec } from '../../config/schema.js';
import { categoryAt, type CategoricalColumn, type FeatureColumns, isEncodedCategorical } from '../models/columns.js';
import { loadModel } from '../models/load.js';
import type { ColumnPredictions, LoadedModel, ModelFormat } from '../models/scorer.js';
import { taskMetrics } from './metrics.js';
import { readParquetColumns } from './parquet.js';
import type { Metrics } from './types.js';

/**
 * Offline evaluation of a model artifact on a holdout split, through `loadModel` (the gateway's
 * scoring path, so what is measured here is what will be served) and the drift module's metric
 * functions (the monitor's, so offline and live numbers compare).
 *
 * Slices: a categorical slice feature is reported per value (missing as "(missing)"; beyond the
 * `maxSliceValues` most frequent values the rest are pooled as "(other)"); a numerical one per
 * quartile of its holdout values, so a slice never degenerates into one row per distinct number.
 */
export interface EvaluationSpec {
  task: Task;
  features: readonly FeatureSpec[];
  label: { name: string };
  /** Multiclass: the class names the model must output probabilities for. */
  classes?: readonly string[];
}

export interface SliceValueMetrics {
  value: string;
  count: number;
  metrics: Metrics;
}

export interface SliceReport {
  feature: string;
  kind: 'category' | 'quartile';
  values: SliceValueMetrics[];
}

export interface EvaluationResult {
  modelUri: string;
  format: ModelFormat;
  sha256: string;
  holdoutPath: string;
  rowCount: number;
  droppedMissingLabel: number;
  metrics: Metrics;
  slices: SliceReport[];
}

export interface EvaluateOptions {
  slices?: string[];
  /** Expected artifact sha256 (from the registry); a mismatch is refused. */
  sha256?: string;
  maxSliceValues?: number;
  /** Rows scored per call, bounding ONNX tensor sizes (default 65 536). */
  batchRows?: number;
}

export const MISSING_SLICE = '(missing)';
export const OTHER_SLICE = '(other)';

export async function evaluate(modelUri: string, holdoutPath: string, spec: EvaluationSpec, options: EvaluateOptions = {}): Promise<EvaluationResult> {
  const slices = options.slices ?? [];
  for (const name of slices) {
    if (!spec.features.some((f) => f.name === name)) throw new TypeError(`slice feature "${name}" is not one of the model's features`);
  }
  const model = await loadModel(modelUri, { spec: { task: spec.task, features: spec.features, classes: spec.classes }, sha256: options.sha256 });
  try {
    const data = await readParquetColumns(holdoutPath, spec.features, spec.label.name);
    const scored = await scoreInBatches(model, data.columns, data.rowCount, options.batchRows ?? 65_536);
    const y = data.label!;
    const reports = slices.map((name) => {
      const feature = spec.features.find((f) => f.name === name)!;
      const groups = feature.type === 'categorical'
        ? categoryGroups(data.columns[name] as CategoricalColumn, data.rowCount, options.maxSliceValues ?? 50)
        : quartileGroups(data.columns[name] as Float64Array, data.rowCount);
      return {
        feature: name,
        kind: feature.type === 'categorical' ? ('category' as const) : ('quartile' as const),
        values: groups.map((g) => ({ value: g.value, count: g.rows.length, metrics: taskMetrics(spec.task, pick(y, g.rows), pickScored(scored, g.rows)) })),
      };
    });
    return {
      modelUri,
      format: model.format,
      sha256: model.sha256,
      holdoutPath,
      rowCount: data.rowCount,
      droppedMissingLabel: data.droppedMissingLabel,
      metrics: taskMetrics(spec.task, y, scored),
      slices: reports,
    };
  } finally {
    await model.close();
  }
}

/** Scores columns in bounded batches (subarray views, no copies for typed columns). */
export async function scoreInBatches(model: LoadedModel, columns: FeatureColumns, rows: number, batchRows: number): Promise<ColumnPredictions> {
  if (rows <= batchRows) return model.predictColumns(columns, rows);
  const predictions = new Float64Array(rows);
  const scores = new Float64Array(rows);
  const k = model.classCount ?? 0;
  const probabilities = k > 0 ? new Float64Array(rows * k) : undefined;
  for (let start = 0; start < rows; start += batchRows) {
    const end = Math.min(rows, start + batchRows);
    const part = await model.predictColumns(sliceColumns(columns, model.features.map((f) => f.name), start, end), end - start);
    predictions.set(part.predictions, start);
    scores.set(part.scores, start);
    if (probabilities && part.probabilities) probabilities.set(part.probabilities, start * k);
  }
  return probabilities ? { predictions, scores, probabilities } : { predictions, scores };
}

function sliceColumns(columns: FeatureColumns, names: string[], start: number, end: number): FeatureColumns {
  const out: FeatureColumns = {};
  for (const name of names) {
    const c = columns[name];
    if (c === undefined) continue;
    if (isEncodedCategorical(c)) out[name] = { codes: c.codes.subarray(start, end), dictionary: c.dictionary };
    else if (c instanceof Float64Array) out[name] = c.subarray(start, end);
    else out[name] = c.slice(start, end) as typeof c;
  }
  return out;
}

interface Group {
  value: string;
  rows: Int32Array;
}

function categoryGroups(column: CategoricalColumn, rows: number, maxValues: number): Group[] {
  const byValue = new Map<string, number[]>();
  for (let i = 0; i < rows; i++) {
    const key = categoryAt(column, i) ?? MISSING_SLICE;
    let list = byValue.get(key);
    if (!list) byValue.set(key, (list = []));
    list.push(i);
  }
  const sorted = [...byValue.entries()].sort((a, b) => b[1].length - a[1].length || (a[0] < b[0] ? -1 : 1));
  const kept = sorted.slice(0, maxValues).map(([value, list]) => ({ value, rows: Int32Array.from(list) }));
  const rest = sorted.slice(maxValues).flatMap(([, list]) => list);
  if (rest.length > 0) kept.push({ value: OTHER_SLICE, rows: Int32Array.from(rest.sort((a, b) => a - b)) });
  return kept;
}

function quartileGroups(column: Float64Array, rows: number): Group[] {
  const present: number[] = [];
  const missing: number[] = [];
  for (let i = 0; i < rows; i++) (Number.isFinite(column[i]) ? present : missing).push(i);
  const values = Float64Array.from(present, (i) => column[i]).sort();
  const q = (f: number) => values[Math.min(values.length - 1, Math.floor(f * values.length))];
  const edges = values.length > 0 ? [...new Set([q(0.25), q(0.5), q(0.75)])] : [];
  const buckets: number[][] = Array.from({ length: edges.length + 1 }, () => []);
  for (const i of present) {
    let b = 0;
    while (b < edges.length && column[i] >= edges[b]) b++;
    buckets[b].push(i);
  }
  const fmt = (v: number) => Number(v.toPrecision(6)).toString();
  const groups = buckets
    .map((list, b) => ({
      value: b === 0 ? `< ${fmt(edges[0] ?? Number.POSITIVE_INFINITY)}` : b === edges.length ? `>= ${fmt(edges[b - 1])}` : `[${fmt(edges[b - 1])}, ${fmt(edges[b])})`,
      rows: Int32Array.from(list),
    }))
    .filter((g) => g.rows.length > 0);
  if (missing.length > 0) groups.push({ value: MISSING_SLICE, rows: Int32Array.from(missing) });
  return groups;
}

function pick(values: Float64Array, rows: Int32Array): Float64Array {
  return Float64Array.from(rows, (i) => values[i]);
}

function pickScored(scored: ColumnPredictions, rows: Int32Array): ColumnPredictions {
  const picked = { predictions: pick(scored.predictions, rows), scores: pick(scored.scores, rows) };
  const all = scored.probabilities;
  if (!all) return picked;
  const k = all.length / scored.scores.length;
  const probabilities = new Float64Array(rows.length * k);
  rows.forEach((r, i) => probabilities.set(all.subarray(r * k, r * k + k), i * k));
  return { ...picked, probabilities };
}

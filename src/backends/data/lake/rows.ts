import type { ModelSpec } from '../../../config/schema.js';
import { categoryProblem, hasControlCharacter, idProblem, labelProblem, timeProblem } from '../row-rules.js';
import {
  DataInputError,
  MAX_ERROR_REASON_LENGTH,
  VARIANTS,
  type FeatureValue,
  type LabelRow,
  type PredictionRow,
  type ServingErrorRow,
  type TimeInput,
  type TrainingRow,
} from '../types.js';
import { labelLakeColumns, lakeColumns, servingErrorLakeColumns, type LakeColumn } from './columns.js';

/**
 * Turns the writers' plain row objects into columns in the lake's canonical order, refusing the
 * whole batch on the first bad value (a half-written batch would be worse than none: the caller
 * can fix and resend it; the gateway's lake log splits a refused batch to isolate the row).
 * Timestamps become epoch milliseconds here. Categories, ids, times and training labels follow the
 * shared rules of row-rules.ts, as the gateway and the importer do; a numerical feature that is NaN
 * or infinite is stored as missing (NULL).
 */

export type CellValue = string | number | null;

export interface Columnar {
  columns: LakeColumn[];
  /** values[c][r]: TIMESTAMP columns hold epoch ms, DOUBLE numbers, VARCHAR strings; null = NULL. */
  values: CellValue[][];
  /** Epoch ms of the partitioning time of each row. */
  partitionMs: number[];
  rowsWithMissingFeatures: number;
}

export function predictionColumns(spec: ModelSpec, rows: PredictionRow[]): Columnar {
  return build(spec.name, 'predictions', lakeColumns(spec, 'predictions'), rows, (row, put, at) => {
    put('request_id', idString(row.request_id, at, 'request_id'));
    put('model_version', requiredString(row.model_version, at, 'model_version'));
    put('variant', variant(row.variant, at));
    put('entity_id', row.entity_id == null ? null : idString(row.entity_id, at, 'entity_id'));
    put('prediction', finite(row.prediction, at, 'prediction'));
    put('score', finite(row.score, at, 'score'));
    put('latency_ms', row.latency_ms == null ? null : finite(row.latency_ms, at, 'latency_ms'));
    return timeMs(row.ts, at, 'ts');
  });
}

export function labelColumns(model: string, rows: LabelRow[]): Columnar {
  return build(model, 'labels', labelLakeColumns(), rows, (row, put, at) => {
    put('request_id', idString(row.request_id, at, 'request_id'));
    put('label', finite(row.label, at, 'label'));
    return timeMs(row.label_ts, at, 'label_ts');
  });
}

export function servingErrorColumns(model: string, rows: ServingErrorRow[]): Columnar {
  return build(model, 'serving_errors', servingErrorLakeColumns(), rows, (row, put, at) => {
    put('request_id', idString(row.request_id, at, 'request_id'));
    put('model_version', requiredString(row.model_version, at, 'model_version'));
    put('variant', variant(row.variant, at));
    put('latency_ms', row.latency_ms == null ? null : finite(row.latency_ms, at, 'latency_ms'));
    put('reason', reason(row.reason, at));
    return timeMs(row.ts, at, 'ts');
  });
}

export function trainingColumns(spec: ModelSpec, rows: TrainingRow[]): Columnar {
  return build(spec.name, 'training', lakeColumns(spec, 'training'), rows, (row, put, at) => {
    put('request_id', idString(row.request_id, at, 'request_id'));
    const label = finite(row.label, at, 'label');
    const problem = labelProblem(spec.task, label, spec.classes);
    if (problem) throw new DataInputError(`${at('label')}: ${problem}`, { columns: [spec.label.name] });
    put(spec.label.name, label);
    return timeMs(row.ts, at, 'ts');
  });
}

type Where = (field: string) => string;

/**
 * Fills the columns row by row: `fill` puts the fixed columns and returns the partitioning time
 * (stored in the ts or label_ts column); feature columns are filled here from `row.features`.
 */
function build<R extends object>(
  model: string,
  kind: 'predictions' | 'labels' | 'training' | 'serving_errors',
  columns: LakeColumn[],
  rows: R[],
  fill: (row: R, put: (column: string, value: CellValue) => void, at: Where) => number,
): Columnar {
  if (!Array.isArray(rows)) throw new DataInputError(`${kind} for ${model}: expected an array of rows`);
  const n = rows.length;
  const values = columns.map(() => new Array<CellValue>(n).fill(null));
  const index = new Map(columns.map((c, i) => [c.name, i]));
  const timeColumn = index.get(kind === 'labels' ? 'label_ts' : 'ts')!;
  const features = columns.flatMap((c, i) => (c.feature ? [{ name: c.name, numerical: c.feature.type === 'numerical', values: values[i] }] : []));
  const known = new Set(features.map((f) => f.name));
  const partitionMs = new Array<number>(n);
  let rowsWithMissingFeatures = 0;
  let r = 0;
  const at: Where = (field) => `${kind} for ${model}: row ${r}: ${field}`;
  const put = (column: string, value: CellValue) => {
    values[index.get(column)!][r] = value;
  };
  for (; r < n; r++) {
    const row = rows[r];
    if (row === null || typeof row !== 'object') throw new DataInputError(`${kind} for ${model}: row ${r}: expected an object`);
    const ms = fill(row, put, at);
    values[timeColumn][r] = ms;
    partitionMs[r] = ms;
    if (features.length > 0 && fillFeatures((row as { features?: Record<string, FeatureValue> }).features, features, known, r, at)) rowsWithMissingFeatures++;
  }
  return { columns, values, partitionMs, rowsWithMissingFeatures };
}

/** Copies one row's feature values into their columns; true when any is missing. */
function fillFeatures(
  input: Record<string, FeatureValue> | undefined,
  features: { name: string; numerical: boolean; values: CellValue[] }[],
  known: Set<string>,
  r: number,
  at: Where,
): boolean {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) throw new DataInputError(`${at('features')}: expected an object of feature values`);
  for (const key in input) {
    if (!known.has(key)) {
      const unknown = Object.keys(input).filter((k) => !known.has(k));
      throw new DataInputError(`${at('features')}: unknown feature(s) ${unknown.join(', ')} (the model has ${[...known].join(', ')})`, { columns: unknown });
    }
  }
  let missing = false;
  for (const f of features) {
    const v = input[f.name];
    if (v === null || v === undefined) {
      missing = true;
    } else if (f.numerical) {
      if (typeof v !== 'number') throw new DataInputError(`${at(`feature ${f.name}`)}: expected a number or null (numerical), got ${JSON.stringify(v)}`, { columns: [f.name] });
      if (Number.isFinite(v)) f.values[r] = v;
      else missing = true; // NaN/Infinity are missing values, stored as NULL
    } else {
      if (typeof v !== 'string') throw new DataInputError(`${at(`feature ${f.name}`)}: expected a string or null (categorical), got ${JSON.stringify(v)}`, { columns: [f.name] });
      const problem = categoryProblem(v);
      if (problem) throw new DataInputError(`${at(`feature ${f.name}`)}: ${problem}`, { columns: [f.name] });
      f.values[r] = v;
    }
  }
  return missing;
}

/** Epoch ms of a Date, ISO string (UTC unless it has an offset) or epoch-ms number; NaN for anything else. */
export function instantMs(value: TimeInput): number {
  if (value instanceof Date) return value.getTime();
  if (typeof value === 'number') return value;
  if (typeof value !== 'string') return NaN;
  // A bare "2024-01-15 10:00:00" is UTC in the lake, not the writer's local time.
  const s = value.trim();
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(s) || /^\d{4}-\d{2}-\d{2}$/.test(s);
  return Date.parse(hasZone ? s : `${s.replace(' ', 'T')}Z`);
}

function timeMs(value: TimeInput, at: Where, field: string): number {
  const ms = instantMs(value);
  if (!Number.isFinite(ms)) throw new DataInputError(`${at(field)}: expected a time (Date, ISO-8601 string or epoch ms), got ${JSON.stringify(value)}`);
  const problem = timeProblem(ms);
  if (problem) throw new DataInputError(`${at(field)}: ${problem}`);
  return ms;
}

// The helpers take the field name and build the message only on failure: they run per cell.
function finite(value: unknown, at: Where, field: string): number {
  if (typeof value === 'number' && Number.isFinite(value)) return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  throw new DataInputError(`${at(field)}: expected a finite number, got ${JSON.stringify(value)}`);
}

function requiredString(value: unknown, at: Where, field: string): string {
  if (typeof value !== 'string' || value.length === 0) throw new DataInputError(`${at(field)}: expected a non-empty string, got ${JSON.stringify(value)}`);
  return value;
}

/** Ids may arrive as numbers from JSON clients; they are stored as text. */
function idString(value: unknown, at: Where, field: string): string {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
  const id = requiredString(value, at, field);
  const problem = idProblem(id);
  if (problem) throw new DataInputError(`${at(field)}: ${problem}`);
  return id;
}

/** A serving error's reason is shown in reports: short, one line. */
function reason(value: unknown, at: Where): string {
  const text = requiredString(value, at, 'reason');
  if (text.length > MAX_ERROR_REASON_LENGTH) throw new DataInputError(`${at('reason')}: expected at most ${MAX_ERROR_REASON_LENGTH} characters, got ${text.length}`);
  if (hasControlCharacter(text)) throw new DataInputError(`${at('reason')}: contains a control character (U+0000-U+001F, U+007F)`);
  return text;
}

function variant(value: unknown, at: Where): string {
  if (typeof value !== 'string' || !(VARIANTS as readonly string[]).includes(value)) {
    throw new DataInputError(`${at('variant')}: expected one of ${VARIANTS.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value;
}

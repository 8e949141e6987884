import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { durationMs } from '../../config/duration.js';
import type { FeatureSpec, ModelSpec } from '../../config/schema.js';
import { negativeLogLoss, negativeRmse, permutationImportance, type FeatureTable, type Metric } from '../../drift/decisions/importance.js';
import { DriftInputError, seededRandom } from '../../drift/decisions/common.js';
import { fitCalibration } from '../../drift/decisions/calibration.js';
import { seasonalAllowance } from '../../drift/decisions/seasonal.js';
import { buildProfile, type Columns, type DriftProfile, type ModelImportance } from '../../drift/profile.js';
import { DataInputError } from '../data/types.js';
import { formatOf } from '../data/lake/importer.js';
import { sql } from '../data/lake/duck.js';
import { categoryProblem, timeProblem } from '../data/row-rules.js';
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
    { features: [...spec.features], label: { name: label, type: spec.task === 'binary_classification' ? 'binary' : 'numerical' } },
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

  const model = await loadModel(options.artifactPath, { spec: { task: spec.task, features: spec.features }, sha256: options.sha256 });
  try {
    const importance = await measureImportance(model, spec, rows, seed);
    return { ...profile, importance, ...(spec.task === 'binary_classification' ? { calibration: await scoreCalibration(model, rows) } : {}) };
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
  const metric: Metric = binary ? negativeLogLoss : negativeRmse;
  const table = rows.columns as FeatureTable;
  const n = rows.labels.length;
  const read = new Set(model.features.map((f) => f.name));
  const measured = spec.features.map((f) => f.name).filter((name) => read.has(name));
  const features: ModelImportance['features'] = Object.create(null); // a feature may be called __proto__
  for (const f of spec.features) features[f.name] = { importance: 0, share: 0, std: 0 };
  const summary = { metric: binary ? 'neg_log_loss' : 'neg_rmse', repeats: IMPORTANCE_REPEATS, rows: n, split: rows.split };
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

/** Isotonic calibration of the model's scores on these rows (for the label-free estimate). */
async function scoreCalibration(model: LoadedModel, rows: LabelledRows): Promise<NonNullable<DriftProfile['calibration']>> {
  const { scores } = await scoreInBatches(model, rows.columns as FeatureColumns, rows.labels.length, 65_536);
  const fitted = fitCalibration(scores, rows.labels);
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

// ---------------------------------------------------------------------------------------------
// Training data from outside the product (`retrain models register`): a CSV, Parquet or JSON Lines
// file checked against the model's spec and written as the Parquet splits the training backends
// read, so the reference and the evaluation go through the same reading code as a trained version.
// ---------------------------------------------------------------------------------------------

export interface ExternalDataOptions {
  trainingFile: string;
  validationFile?: string;
  /** Without a validation file, this fraction of the training file (its latest rows) is the validation split (default 0.1). */
  validationFraction?: number;
  /** Where the Parquet splits are written (must exist). */
  outDir: string;
  /** How the files are named in messages (default: the paths as given). */
  labels?: { training?: string; validation?: string };
}

export interface ExternalData {
  /** Every row of the training file. */
  trainParquet: string;
  validationParquet: string;
  trainRows: number;
  validationRows: number;
  /** Where the validation rows came from. */
  validationSource: 'file' | 'latest rows by ts' | 'last rows of the file';
  /** The latest ts in the training file, when it has a ts column. */
  lastTrainingTs: string | null;
}

/** Fewer rows than this in the training file and there is nothing to learn a reference from. */
export const MIN_EXTERNAL_ROWS = 10;

const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL.*)$/;
const TIME = /^(TIMESTAMP|TIMESTAMP_S|TIMESTAMP_MS|TIMESTAMP_NS|TIMESTAMP WITH TIME ZONE|DATE)$/;
const TEXT = /^(VARCHAR|ENUM.*)$/;

/**
 * Checks a training file (and an optional validation file) against the spec and writes them as
 * Parquet splits. Refusals are DataInputErrors naming the file, the column and the first bad row
 * (rows count from 1, header excluded); every problem of a file is reported at once. Columns the
 * spec does not name are ignored; a `ts` column, when present, orders the rows for the split.
 */
export async function readExternalData(spec: ReferenceSpec, options: ExternalDataOptions): Promise<ExternalData> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(`SET TimeZone = 'UTC'`);
    const train = await stageFile(connection, spec, 'training', options.trainingFile, options.labels?.training ?? options.trainingFile);
    if (train.rows < MIN_EXTERNAL_ROWS) {
      throw new DataInputError(`${train.name}: ${train.rows} labelled row(s); at least ${MIN_EXTERNAL_ROWS} are needed`, { file: train.file });
    }
    const trainParquet = path.join(options.outDir, 'train.parquet');
    const validationParquet = path.join(options.outDir, 'validation.parquet');
    const outputColumns = [...spec.features.map((f) => f.name), spec.label.name].map(sql.ident).join(', ');
    const copy = (where: string, target: string) =>
      run(connection, `COPY (SELECT ${outputColumns}${train.hasTs ? ', ts' : ''} FROM staged_training ${where} ORDER BY __row) TO $target (FORMAT parquet)`, { target });
    await copy('', trainParquet);

    let validationRows: number;
    let validationSource: ExternalData['validationSource'];
    if (options.validationFile) {
      const validation = await stageFile(connection, spec, 'validation', options.validationFile, options.labels?.validation ?? options.validationFile);
      if (validation.rows === 0) throw new DataInputError(`${validation.name}: no labelled rows`, { file: validation.file });
      await run(connection, `COPY (SELECT ${outputColumns} FROM staged_validation ORDER BY __row) TO $target (FORMAT parquet)`, { target: validationParquet });
      validationRows = validation.rows;
      validationSource = 'file';
    } else {
      const fraction = options.validationFraction ?? 0.1;
      validationRows = Math.max(1, Math.round(train.rows * fraction));
      const latest = train.hasTs ? 'ts DESC, __row DESC' : '__row DESC';
      await copy(`WHERE __row IN (SELECT __row FROM staged_training ORDER BY ${latest} LIMIT ${validationRows})`, validationParquet);
      validationSource = train.hasTs ? 'latest rows by ts' : 'last rows of the file';
    }
    const lastMs = train.hasTs ? (await all(connection, 'SELECT epoch_ms(max(ts))::DOUBLE FROM staged_training'))[0][0] : null;
    const lastTrainingTs = lastMs == null ? null : new Date(Number(lastMs)).toISOString();
    return { trainParquet, validationParquet, trainRows: train.rows, validationRows, validationSource, lastTrainingTs };
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

interface StagedFile {
  file: string;
  name: string;
  rows: number;
  hasTs: boolean;
}

async function run(connection: DuckDBConnection, text: string, params: Record<string, DuckDBValue> = {}): Promise<void> {
  await connection.run(text, params);
}

async function all(connection: DuckDBConnection, text: string, params: Record<string, DuckDBValue> = {}): Promise<unknown[][]> {
  return (await connection.runAndReadAll(text, params)).getRowsJS();
}

/** Reads one file into the table staged_<role>: the spec's columns converted, the raw text beside them, and __row. */
async function stageFile(connection: DuckDBConnection, spec: ReferenceSpec, role: 'training' | 'validation', file: string, name: string): Promise<StagedFile> {
  const absolute = path.resolve(file);
  const refuse = (problem: string, columns?: string[]): never => {
    throw new DataInputError(`${name}: ${problem}`, { file: absolute, columns });
  };
  if (!(await isFile(absolute))) refuse('file not found');
  let format: 'csv' | 'parquet' | 'jsonl';
  try {
    format = formatOf(absolute);
  } catch {
    return refuse('unknown file type (expected .csv, .parquet or .jsonl/.ndjson)');
  }
  const source = {
    csv: 'read_csv($file, header = true, all_varchar = true)',
    parquet: 'read_parquet($file)',
    jsonl: `read_json($file, format = 'newline_delimited')`,
  }[format];
  let described: Map<string, string>;
  try {
    described = new Map((await all(connection, `DESCRIBE SELECT * FROM ${source}`, { file: absolute })).map((r) => [String(r[0]), String(r[1])]));
  } catch (err) {
    return refuse(`not a readable ${format} file (${firstLine(err)})`);
  }

  const labelName = spec.label.name;
  const has = [...described.keys()].join(', ');
  const missingFeatures = spec.features.filter((f) => !described.has(f.name)).map((f) => f.name);
  const missing: string[] = [];
  if (missingFeatures.length) missing.push(`missing feature column(s) ${missingFeatures.join(', ')}`);
  if (!described.has(labelName)) missing.push(`the label column "${labelName}" is not in the file`);
  if (missing.length) refuse(`${missing.join('; ')} (the file has ${has || 'no columns'})`, [...missingFeatures, ...(described.has(labelName) ? [] : [labelName])]);

  // Types that carry meaning (Parquet, JSON) must fit; CSV is text and is parsed below.
  const wrong: string[] = [];
  const accept = (column: string, ok: RegExp, what: string) => {
    const type = described.get(column)!;
    if (type === 'NULL' || (format === 'csv' && type === 'VARCHAR') || ok.test(type)) return;
    if (format === 'jsonl' && type === 'VARCHAR' && column === 'ts') return;
    wrong.push(`column ${column} is ${type}, expected ${what}`);
  };
  for (const f of spec.features) accept(f.name, f.type === 'numerical' ? NUMERIC : TEXT, f.type === 'numerical' ? 'a number (numerical feature)' : 'text (categorical feature)');
  accept(labelName, /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL.*|BOOLEAN)$/, spec.task === 'binary_classification' ? '0/1 or true/false (the label)' : 'a number (the label)');
  const hasTs = described.has('ts');
  if (hasTs) accept('ts', TIME, 'a timestamp');
  if (wrong.length) refuse(`wrong type: ${wrong.join('; ')}`);

  const raw = (column: string) => `CAST(${sql.ident(column)} AS VARCHAR)`;
  const number = (column: string) => {
    const type = described.get(column)!;
    return type === 'VARCHAR' ? `TRY_CAST(trim(${sql.ident(column)}) AS DOUBLE)` : `TRY_CAST(${sql.ident(column)} AS DOUBLE)`;
  };
  const labelType = described.get(labelName)!;
  const labelExpr = labelType === 'VARCHAR'
    ? `CASE lower(trim(${sql.ident(labelName)})) WHEN 'true' THEN 1::DOUBLE WHEN 'false' THEN 0::DOUBLE ELSE TRY_CAST(trim(${sql.ident(labelName)}) AS DOUBLE) END`
    : number(labelName);
  const tsExpr = hasTs
    ? described.get('ts') === 'VARCHAR' ? `TRY_CAST(TRY_CAST(trim(ts) AS TIMESTAMPTZ) AS TIMESTAMP)` : `TRY_CAST(ts AS TIMESTAMP)`
    : undefined;
  const selects = [
    ...spec.features.map((f) => `${f.type === 'numerical' ? number(f.name) : `nullif(${raw(f.name)}, '')`} AS ${sql.ident(f.name)}`),
    `${labelExpr} AS ${sql.ident(labelName)}`,
    ...(tsExpr ? [`${tsExpr} AS ts`] : []),
    ...[...spec.features.map((f) => f.name), labelName, ...(hasTs ? ['ts'] : [])].map((c) => `${raw(c)} AS ${sql.ident(`__raw_${c}`)}`),
    'row_number() OVER () AS __row',
  ];
  const table = `staged_${role}`;
  try {
    await run(connection, `CREATE TABLE ${table} AS SELECT ${selects.join(', ')} FROM ${source}`, { file: absolute });
  } catch (err) {
    return refuse(`could not be read (${firstLine(err)})`);
  }

  // Every problem of the file in one message: values that are not what the spec says, missing
  // labels or times, and the rules every row entering the product passes (../data/row-rules.ts).
  interface Check {
    column: string;
    what: string;
    cond: string;
  }
  const rawRef = (c: string) => sql.ident(`__raw_${c}`);
  const present = (c: string) => `${rawRef(c)} IS NOT NULL AND trim(${rawRef(c)}) <> ''`;
  const checks: Check[] = [];
  for (const f of spec.features) {
    if (f.type !== 'numerical') continue;
    checks.push({ column: f.name, what: 'value(s) that are not numbers', cond: `${present(f.name)} AND ${sql.ident(f.name)} IS NULL` });
    checks.push({ column: f.name, what: 'value(s) that are not finite numbers', cond: `NOT isfinite(${sql.ident(f.name)})` });
  }
  const label = sql.ident(labelName);
  checks.push({ column: labelName, what: 'empty label(s)', cond: `NOT (${present(labelName)})` });
  checks.push({ column: labelName, what: 'label(s) that are not numbers', cond: `${present(labelName)} AND ${label} IS NULL` });
  const badLabel = spec.task === 'binary_classification' ? `${label} NOT IN (0, 1)` : `NOT isfinite(${label})`;
  checks.push({ column: labelName, what: `label(s) that are not ${spec.task === 'binary_classification' ? '0, 1, true or false' : 'finite numbers'}`, cond: badLabel });
  if (hasTs) {
    checks.push({ column: 'ts', what: 'empty time(s)', cond: `NOT (${present('ts')})` });
    checks.push({ column: 'ts', what: 'value(s) that are not times', cond: `${present('ts')} AND ts IS NULL` });
  }
  const select = checks.map((k) => `count(*) FILTER (WHERE ${k.cond}), min(__row) FILTER (WHERE ${k.cond}), arg_min(${rawRef(k.column)}, __row) FILTER (WHERE ${k.cond})`);
  const counts = (await all(connection, `SELECT count(*), ${select.join(', ')} FROM ${table}`))[0];
  const problems: string[] = [];
  const flagged = new Set<string>();
  checks.forEach((k, i) => {
    const count = Number(counts[1 + 3 * i]);
    if (count === 0 || flagged.has(k.column)) return;
    flagged.add(k.column);
    const example = counts[3 + 3 * i];
    problems.push(`column ${k.column} has ${count} ${k.what}${example == null || example === '' ? '' : ` (e.g. ${JSON.stringify(example)})`}, first at row ${counts[2 + 3 * i]}`);
  });
  // The shared row rules on the values that decide them: every distinct category, the earliest
  // and the latest time.
  for (const f of spec.features) {
    if (f.type !== 'categorical' || flagged.has(f.name)) continue;
    const values = await all(connection, `SELECT DISTINCT ${sql.ident(f.name)} FROM ${table} WHERE ${sql.ident(f.name)} IS NOT NULL`);
    for (const [value] of values) {
      const problem = categoryProblem(String(value));
      if (!problem) continue;
      const first = await all(connection, `SELECT min(__row) FROM ${table} WHERE ${sql.ident(f.name)} = $value`, { value: String(value) });
      problems.push(`row ${first[0][0]}, column ${f.name}: ${problem}`);
      break;
    }
  }
  if (hasTs && !flagged.has('ts')) {
    const [[lo, hi]] = await all(connection, `SELECT epoch_ms(min(ts))::DOUBLE, epoch_ms(max(ts))::DOUBLE FROM ${table}`);
    for (const [which, ms] of [['earliest', lo], ['latest', hi]] as const) {
      const problem = ms == null ? undefined : timeProblem(Number(ms));
      if (problem) problems.push(`column ts: the ${which} time: ${problem}`);
    }
  }
  if (problems.length) refuse(problems.join('; '), [...flagged]);
  return { file: absolute, name, rows: Number(counts[0]), hasTs };
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0];
}

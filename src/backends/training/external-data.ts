import { DuckDBInstance, type DuckDBConnection, type DuckDBValue } from '@duckdb/node-api';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { DataInputError } from '../data/types.js';
import { formatOf } from '../data/lake/importer.js';
import { sql } from '../data/lake/duck.js';
import { categoryProblem, timeProblem } from '../data/row-rules.js';
import type { ReferenceSpec } from './reference.js';

/**
 * Training data from outside the product (`retrain models register`): a CSV, Parquet or JSON Lines
 * file checked against the model's spec and written as the Parquet splits the training backends
 * read, so the reference and the evaluation go through the same reading code as a trained version.
 */

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
  accept(labelName, /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL.*|BOOLEAN)$/, spec.task === 'binary_classification' ? '0/1 or true/false (the label)' : spec.task === 'multiclass_classification' ? 'a class index (the label)' : 'a number (the label)');
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
  const k = spec.classes?.length ?? 0;
  const badLabel =
    spec.task === 'binary_classification' ? `${label} NOT IN (0, 1)` : spec.task === 'multiclass_classification' ? `NOT (isfinite(${label}) AND ${label} = round(${label}) AND ${label} >= 0 AND ${label} < ${k})` : `NOT isfinite(${label})`;
  const expected = spec.task === 'binary_classification' ? '0, 1, true or false' : spec.task === 'multiclass_classification' ? `class indices 0..${k - 1}` : 'finite numbers';
  checks.push({ column: labelName, what: `label(s) that are not ${expected}`, cond: badLabel });
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

async function isFile(file: string): Promise<boolean> {
  return stat(file).then((s) => s.isFile(), () => false);
}

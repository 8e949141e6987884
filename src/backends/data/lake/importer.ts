import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DOUBLE, LIST, listValue, VARCHAR, type DuckDBConnection, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import type { ModelSpec } from '../../../config/schema.js';
import { categoryProblem, idProblem, labelProblem, numberProblem, timeProblem } from '../row-rules.js';
import { DataInputError, IMPORT_KINDS, VARIANTS, type ImportFormat, type ImportResult, type LakeKind } from '../types.js';
import { lakeColumns, partitionColumn, type LakeColumn } from './columns.js';
import { PARQUET_COPY_OPTIONS, sql } from './duck.js';
import { isDataFileName, newDataFileName } from './layout.js';
import { firstLine } from './quarantine.js';
import type { LakeContext } from './reads.js';

/**
 * `retrain data import`: checks a CSV, Parquet or JSON Lines file against the model's columns and
 * appends it to the lake. Every check runs before anything is written, and the rows land through a
 * hidden staging folder and renames, so a refused file leaves the lake untouched. Parquet and JSON
 * carry types, which must match (any numeric type for a number, text for a category); CSV is text,
 * so its values must parse. Then every value must pass the rules the gateway applies
 * (../row-rules.ts): finite numbers, 0/1 labels for a binary task, categories without control
 * characters, times from 1970 to 2100, ids of at most 256 characters. A refusal names the file,
 * and for each bad column its first bad row (rows count from 1, header excluded) and what is wrong.
 *
 * The file's path and every value travel as bound parameters, never as SQL text.
 */

const NUMERIC = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL.*)$/;
const INTEGER = /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT)$/;
const TIME = /^(TIMESTAMP|TIMESTAMP_S|TIMESTAMP_MS|TIMESTAMP_NS|TIMESTAMP WITH TIME ZONE|DATE)$/;
const TEXT = /^(VARCHAR|ENUM.*)$/;

export function formatOf(file: string): ImportFormat {
  const name = file.toLowerCase();
  if (name.endsWith('.csv') || name.endsWith('.csv.gz')) return 'csv';
  if (name.endsWith('.parquet')) return 'parquet';
  if (name.endsWith('.jsonl') || name.endsWith('.ndjson') || name.endsWith('.jsonl.gz') || name.endsWith('.ndjson.gz')) return 'jsonl';
  throw new DataInputError(`cannot import ${file}: unknown file type (expected .csv, .parquet or .jsonl/.ndjson)`, { file });
}

export async function importFile(ctx: LakeContext, spec: ModelSpec, kind: LakeKind, file: string): Promise<ImportResult> {
  // serving_errors is the gateway's own log: no file is imported into it.
  if (!(IMPORT_KINDS as readonly string[]).includes(kind)) throw new DataInputError(`cannot import ${file}: kind must be one of ${IMPORT_KINDS.join(', ')}, got "${kind}"`, { file });
  const absolute = path.resolve(file);
  const format = formatOf(absolute);
  const stat = await fs.stat(absolute).catch(() => undefined);
  if (!stat?.isFile()) throw new DataInputError(`cannot import ${file}: file not found`, { file });
  const refuse = (problem: string, columns?: string[]): never => {
    throw new DataInputError(`cannot import ${file} as ${kind} for model ${spec.name}: ${problem}`, { file, columns });
  };

  return ctx.duck.with(async (connection) => {
    const source = sourceSql(format);
    const params: Params = { __import_file: absolute };
    let described: [string, string][];
    try {
      described = (await query(connection, `DESCRIBE SELECT * FROM ${source}`, params)).map((r) => [String(r[0]), String(r[1])]);
    } catch (err) {
      return refuse(`not a readable ${format} file (${firstLine(err)})`);
    }
    const actual = new Map(described);
    const expected = lakeColumns(spec, kind);

    const missing = expected.filter((c) => !c.optional && !actual.has(c.name)).map((c) => c.name);
    const extra = [...actual.keys()].filter((name) => !expected.some((c) => c.name === name));
    if (missing.length || extra.length) {
      refuse(
        [missing.length ? `missing column(s) ${missing.join(', ')}` : '', extra.length ? `extra column(s) ${extra.join(', ')}` : '']
          .filter(Boolean)
          .join('; ') + ` (expected ${expected.map((c) => c.name + (c.optional ? '?' : '')).join(', ')})`,
        [...missing, ...extra],
      );
    }

    const wrongTypes = expected.flatMap((c) => {
      const type = actual.get(c.name);
      return type === undefined || typeAccepted(c, type, format) ? [] : [`${c.name} is ${type}, expected ${describeExpected(c)}`];
    });
    if (wrongTypes.length) refuse(`wrong type: ${wrongTypes.join('; ')}`, wrongTypes.map((w) => w.split(' ')[0]));

    // Canonical columns, converted; text that fails to convert becomes NULL and is caught below.
    // A subquery rather than a view: a view cannot hold the bound file parameter.
    const converted = expected.map((c) => `${convertExpr(c, actual.get(c.name))} AS ${sql.ident(c.name)}`);
    const view = `(SELECT ${converted.join(', ')}, ${rawColumns(expected, actual)} FROM ${source})`;
    try {
      let problems = await valueProblems(connection, view, params, expected, actual);
      if (problems.length === 0) problems = await ruleProblems(connection, view, params, spec, kind, expected, actual);
      if (problems.length) refuse(`${problems.map((p) => p.message).join('; ')}; nothing was imported`, problems.map((p) => p.column));
      return { model: spec.name, kind, file: absolute, format, ...(await write(ctx, connection, spec, kind, view, params, expected)) };
    } catch (err) {
      if (err instanceof DataInputError) throw err;
      return refuse(`could not be read: ${firstLine(err)}`);
    }
  });
}

type Params = Record<string, DuckDBValue>;
type ParamTypes = Record<string, DuckDBType | undefined>;

/** Runs `text` with those of `params` it names ($name): DuckDB refuses a parameter the statement lacks. */
async function query(connection: DuckDBConnection, text: string, params: Params, types: ParamTypes = {}): Promise<unknown[][]> {
  const used = Object.keys(params).filter((name) => new RegExp(`\\$${name}\\b`).test(text));
  const reader = await connection.runAndReadAll(
    text,
    Object.fromEntries(used.map((name) => [name, params[name]])),
    Object.fromEntries(used.map((name) => [name, types[name]])),
  );
  return reader.getRowsJS();
}

/** The first row (counting from 1, in the file's order) of `view` where `cond` holds. */
async function firstRow(connection: DuckDBConnection, view: string, cond: string, params: Params, types: ParamTypes = {}): Promise<number | undefined> {
  const rows = await query(connection, `SELECT min(__lake_row) FROM (SELECT row_number() OVER () AS __lake_row, * FROM ${view}) WHERE ${cond}`, params, types);
  const first = rows[0]?.[0];
  return first == null ? undefined : Number(first);
}

/** The file as a table; its path is the bound parameter $__import_file. */
function sourceSql(format: ImportFormat): string {
  switch (format) {
    case 'csv':
      // Text throughout: the model's spec, not DuckDB's sniffer, decides what is a number.
      return `read_csv($__import_file, header = true, all_varchar = true)`;
    case 'parquet':
      return `read_parquet($__import_file)`;
    case 'jsonl':
      return `read_json($__import_file, format = 'newline_delimited')`;
  }
}

function typeAccepted(column: LakeColumn, type: string, format: ImportFormat): boolean {
  if (type === 'NULL' || (format === 'csv' && type === 'VARCHAR')) return true; // all-null JSON column; CSV text is parsed below
  switch (column.type) {
    case 'DOUBLE':
      return NUMERIC.test(type) || (type === 'BOOLEAN' && column.name !== 'latency_ms' && !column.feature);
    case 'TIMESTAMP':
      return TIME.test(type) || (format === 'jsonl' && type === 'VARCHAR');
    case 'VARCHAR':
      // Ids are often numeric in exports; categories must be text so "01" and "1" stay distinct.
      return TEXT.test(type) || (!column.feature && INTEGER.test(type));
  }
}

function describeExpected(column: LakeColumn): string {
  if (column.feature) return column.feature.type === 'numerical' ? 'a number (numerical feature)' : 'text (categorical feature)';
  return { DOUBLE: 'a number', TIMESTAMP: 'a timestamp', VARCHAR: 'text' }[column.type];
}

function convertExpr(column: LakeColumn, type: string | undefined): string {
  if (type === undefined) return `NULL::${column.type}`;
  const ref = sql.ident(column.name);
  if (column.type === 'TIMESTAMP') {
    // Text goes through TIMESTAMPTZ so an offset is honoured; bare times are UTC (session time zone).
    if (type === 'VARCHAR') return `TRY_CAST(TRY_CAST(${ref} AS TIMESTAMPTZ) AS TIMESTAMP)`;
    return `TRY_CAST(${ref} AS TIMESTAMP)`;
  }
  if (column.type === 'DOUBLE') {
    if (type !== 'VARCHAR') return `TRY_CAST(${ref} AS DOUBLE)`;
    // true/false where a typed file may hold a BOOLEAN (labels, predictions), as the gateway's feedback accepts them.
    const number = `TRY_CAST(trim(${ref}) AS DOUBLE)`;
    if (column.feature || column.name === 'latency_ms') return number;
    return `coalesce(${number}, CASE lower(trim(${ref})) WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)`;
  }
  return `CAST(${ref} AS VARCHAR)`;
}

/** The source columns again, under private names, so value checks can quote what the file said. */
function rawColumns(expected: LakeColumn[], actual: Map<string, string>): string {
  return expected
    .filter((c) => actual.has(c.name))
    .map((c) => `CAST(${sql.ident(c.name)} AS VARCHAR) AS ${sql.ident(`__lake_raw_${c.name}`)}`)
    .join(', ');
}

interface Problem {
  column: string;
  message: string;
}

/** Values that did not convert, NULLs where a value is required, unknown variants: all counted in one pass. */
async function valueProblems(connection: DuckDBConnection, view: string, params: Params, expected: LakeColumn[], actual: Map<string, string>): Promise<Problem[]> {
  const checks: { column: string; what: string; cond: string }[] = [];
  for (const c of expected) {
    if (!actual.has(c.name)) continue;
    const ref = sql.ident(c.name);
    const raw = sql.ident(`__lake_raw_${c.name}`);
    if (c.type !== 'VARCHAR') checks.push({ column: c.name, what: `value(s) that are not ${describeExpected(c)}`, cond: `${raw} IS NOT NULL AND trim(${raw}) <> '' AND ${ref} IS NULL` });
    if (c.notNull) checks.push({ column: c.name, what: 'empty value(s) where one is required', cond: `(${raw} IS NULL OR trim(${raw}) = '')` });
    if (c.name === 'variant') checks.push({ column: c.name, what: `value(s) other than ${VARIANTS.join(', ')}`, cond: `NOT list_contains($__variants, ${ref})` });
  }
  if (checks.length === 0) return [];
  const withVariants = { ...params, __variants: listValue([...VARIANTS]) };
  const types = { __variants: LIST(VARCHAR) };
  const select = checks.map((k) => `count(*) FILTER (WHERE ${k.cond}), any_value(${sql.ident(`__lake_raw_${k.column}`)}) FILTER (WHERE ${k.cond})`);
  const row = (await query(connection, `SELECT ${select.join(', ')} FROM ${view}`, withVariants, types))[0];
  const problems: Problem[] = [];
  for (let i = 0; i < checks.length; i++) {
    const k = checks[i];
    const count = Number(row[2 * i]);
    if (count === 0) continue;
    const example = row[2 * i + 1];
    const first = await firstRow(connection, view, k.cond, withVariants, types);
    problems.push({
      column: k.column,
      message: `column ${k.column} has ${count} ${k.what}${example == null || example === '' ? '' : ` (e.g. ${JSON.stringify(example)})`}${first ? `, first at row ${first}` : ''}`,
    });
  }
  return problems;
}

/**
 * How the importer finds a value a rule refuses without handing every value to JavaScript: the
 * rule is run on witnesses that decide it for the whole column.
 * - 'extremes': the rule accepts an interval of DuckDB's order (-inf < finite < +inf < NaN), so
 *   the column's min and max decide (finite numbers, times).
 * - 'lengths': the rule depends on the length alone, so the shortest and longest value decide (ids).
 * - 'three': the rule accepts at most two values, so any three distinct values hold a refused one
 *   if the column has any (binary labels).
 * - 'distinct': every distinct value is checked (categories).
 */
type Witnesses = 'extremes' | 'lengths' | 'three' | 'distinct';

interface ColumnRule {
  column: string;
  /** The column as the rule sees it: a DOUBLE for numbers and times (epoch ms; ±infinity kept), text otherwise. */
  expr: string;
  type: 'DOUBLE' | 'VARCHAR';
  witnesses: Witnesses;
  check(value: number | string): string | undefined;
}

function columnRules(spec: ModelSpec, kind: LakeKind, expected: LakeColumn[], actual: Map<string, string>): ColumnRule[] {
  const labelColumn = kind === 'labels' ? 'label' : kind === 'training' ? spec.label.name : undefined;
  const rules: ColumnRule[] = [];
  for (const c of expected) {
    if (!actual.has(c.name)) continue;
    const ref = sql.ident(c.name);
    if (c.type === 'TIMESTAMP') {
      const expr = `CASE WHEN isinf(${ref}) THEN (CASE WHEN ${ref} > TIMESTAMP '1970-01-01' THEN 'inf' ELSE '-inf' END)::DOUBLE ELSE epoch_ms(${ref})::DOUBLE END`;
      rules.push({ column: c.name, expr, type: 'DOUBLE', witnesses: 'extremes', check: (v) => timeProblem(v as number) });
    } else if (c.type === 'DOUBLE') {
      if (c.name === labelColumn) {
        const witnesses = spec.task === 'regression' ? 'extremes' : spec.task === 'multiclass_classification' ? 'distinct' : 'three';
        rules.push({ column: c.name, expr: ref, type: 'DOUBLE', witnesses, check: (v) => labelProblem(spec.task, v as number, spec.classes) });
      } else rules.push({ column: c.name, expr: ref, type: 'DOUBLE', witnesses: 'extremes', check: (v) => numberProblem(v as number) });
    } else if (c.feature) {
      rules.push({ column: c.name, expr: ref, type: 'VARCHAR', witnesses: 'distinct', check: (v) => categoryProblem(v as string) });
    } else if (c.name !== 'variant' && c.name !== 'model_version') {
      rules.push({ column: c.name, expr: ref, type: 'VARCHAR', witnesses: 'lengths', check: (v) => idProblem(v as string) });
    }
  }
  return rules;
}

/** The shared row rules (../row-rules.ts), each column's first refused value with its row. */
async function ruleProblems(
  connection: DuckDBConnection,
  view: string,
  params: Params,
  spec: ModelSpec,
  kind: LakeKind,
  expected: LakeColumn[],
  actual: Map<string, string>,
): Promise<Problem[]> {
  const rules = columnRules(spec, kind, expected, actual);
  const candidates = new Map<ColumnRule, unknown[]>();
  // Extremes and lengths of every column in one scan.
  const scanned = rules.filter((r) => r.witnesses === 'extremes' || r.witnesses === 'lengths');
  if (scanned.length > 0) {
    const select = scanned.map((r) =>
      r.witnesses === 'extremes' ? `min(${r.expr}), max(${r.expr})` : `arg_min(${r.expr}, length(${r.expr})), arg_max(${r.expr}, length(${r.expr}))`,
    );
    const row = (await query(connection, `SELECT ${select.join(', ')} FROM ${view}`, params))[0];
    scanned.forEach((r, i) => candidates.set(r, [row[2 * i], row[2 * i + 1]]));
  }
  for (const r of rules) {
    if (r.witnesses !== 'three' && r.witnesses !== 'distinct') continue;
    const limit = r.witnesses === 'three' ? ' LIMIT 3' : '';
    const rows = await query(connection, `SELECT DISTINCT ${r.expr} FROM ${view} WHERE ${r.expr} IS NOT NULL${limit}`, params);
    candidates.set(r, rows.map((x) => x[0]));
  }

  const problems: Problem[] = [];
  for (const r of rules) {
    for (const value of candidates.get(r) ?? []) {
      if (value === null || value === undefined) continue;
      const problem = r.check(value as number | string);
      if (!problem) continue;
      // The value is bound, never spelled: a NUL byte or a quote in it is just data (and NaN = NaN in DuckDB).
      const first = await firstRow(connection, view, `${r.expr} = $__lake_bad`, { ...params, __lake_bad: value as DuckDBValue }, { __lake_bad: r.type === 'DOUBLE' ? DOUBLE : VARCHAR });
      problems.push({ column: r.column, message: `row ${first ?? '?'}, column ${r.column}: ${problem}` });
      break;
    }
  }
  return problems;
}

/** COPY the converted rows into a hidden staging folder partitioned by date, then rename each file into its partition. */
async function write(ctx: LakeContext, connection: DuckDBConnection, spec: ModelSpec, kind: LakeKind, view: string, params: Params, expected: LakeColumn[]) {
  const kindDir = ctx.layout.kindDir(spec.name, kind);
  const features = expected.filter((c) => c.feature).map((c) => `${sql.ident(c.name)} IS NULL`);
  const counts = (await query(connection, `SELECT count(*), count(*) FILTER (WHERE ${features.join(' OR ') || 'false'}) FROM ${view}`, params))[0];
  const rows = Number(counts[0]);
  const result = { rowsWritten: rows, rowsWithMissingFeatures: Number(counts[1]), partitions: [] as string[], files: [] as string[] };
  if (rows === 0) return result;

  const staging = path.join(kindDir, `.import-${randomUUID()}`);
  await fs.mkdir(staging, { recursive: true });
  const moved: string[] = [];
  try {
    const columns = expected.map((c) => sql.ident(c.name)).join(', ');
    await query(
      connection,
      `COPY (SELECT ${columns}, strftime(${sql.ident(partitionColumn(kind))}, '%Y-%m-%d') AS __lake_date FROM ${view})
       TO $__import_staging (${PARQUET_COPY_OPTIONS}, PARTITION_BY (__lake_date))`,
      { ...params, __import_staging: staging },
    );
    for (const partition of (await fs.readdir(staging)).filter((p) => p.startsWith('__lake_date=')).sort()) {
      const date = partition.slice('__lake_date='.length);
      const target = path.join(kindDir, `date=${date}`);
      await fs.mkdir(target, { recursive: true });
      for (const name of (await fs.readdir(path.join(staging, partition))).filter(isDataFileName)) {
        const finalPath = path.join(target, newDataFileName());
        await fs.rename(path.join(staging, partition, name), finalPath);
        moved.push(finalPath);
      }
      result.partitions.push(date);
    }
    result.files = moved;
    return result;
  } catch (err) {
    await Promise.all(moved.map((f) => fs.rm(f, { force: true }))); // all or nothing
    throw err;
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}

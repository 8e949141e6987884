import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ModelSpec } from '../../../config/schema.js';
import { DataInputError, LAKE_KINDS, VARIANTS, type ImportFormat, type ImportResult, type LakeKind } from '../types.js';
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
 * so its values must parse.
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
  if (!LAKE_KINDS.includes(kind)) throw new DataInputError(`cannot import ${file}: kind must be one of ${LAKE_KINDS.join(', ')}, got "${kind}"`, { file });
  const absolute = path.resolve(file);
  const format = formatOf(absolute);
  const stat = await fs.stat(absolute).catch(() => undefined);
  if (!stat?.isFile()) throw new DataInputError(`cannot import ${file}: file not found`, { file });
  const refuse = (problem: string, columns?: string[]): never => {
    throw new DataInputError(`cannot import ${file} as ${kind} for model ${spec.name}: ${problem}`, { file, columns });
  };

  return ctx.duck.with(async (connection) => {
    const source = sourceSql(absolute, format);
    let described: [string, string][];
    try {
      described = (await connection.runAndReadAll(`DESCRIBE SELECT * FROM ${source}`)).getRowsJS().map((r) => [String(r[0]), String(r[1])]);
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
    const converted = expected.map((c) => `${convertExpr(c, actual.get(c.name))} AS ${sql.ident(c.name)}`);
    const view = `import_${randomUUID().replace(/-/g, '')}`;
    await connection.run(`CREATE TEMP VIEW ${view} AS SELECT ${converted.join(', ')}, ${rawColumns(expected, actual)} FROM ${source}`);
    try {
      const problems = await valueProblems(connection, view, expected, actual);
      if (problems.length) refuse(problems.map((p) => p.message).join('; '), problems.map((p) => p.column));
      return { model: spec.name, kind, file: absolute, format, ...(await write(ctx, connection, spec, kind, view, expected)) };
    } catch (err) {
      if (err instanceof DataInputError) throw err;
      return refuse(`could not be read: ${firstLine(err)}`);
    } finally {
      await connection.run(`DROP VIEW IF EXISTS ${view}`);
    }
  });
}

function sourceSql(file: string, format: ImportFormat): string {
  switch (format) {
    case 'csv':
      // Text throughout: the model's spec, not DuckDB's sniffer, decides what is a number.
      return `read_csv(${sql.str(file)}, header = true, all_varchar = true)`;
    case 'parquet':
      return `read_parquet(${sql.str(file)})`;
    case 'jsonl':
      return `read_json(${sql.str(file)}, format = 'newline_delimited')`;
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
  if (column.type === 'DOUBLE') return `TRY_CAST(${type === 'VARCHAR' ? `trim(${ref})` : ref} AS DOUBLE)`;
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
async function valueProblems(connection: DuckDBConnection, view: string, expected: LakeColumn[], actual: Map<string, string>): Promise<Problem[]> {
  const checks: { column: string; what: string; cond: string }[] = [];
  for (const c of expected) {
    if (!actual.has(c.name)) continue;
    const ref = sql.ident(c.name);
    const raw = sql.ident(`__lake_raw_${c.name}`);
    if (c.type !== 'VARCHAR') checks.push({ column: c.name, what: `value(s) that are not ${describeExpected(c)}`, cond: `${raw} IS NOT NULL AND trim(${raw}) <> '' AND ${ref} IS NULL` });
    if (c.notNull) checks.push({ column: c.name, what: 'empty value(s) where one is required', cond: `(${raw} IS NULL OR trim(${raw}) = '')` });
    if (c.name === 'variant') checks.push({ column: c.name, what: `value(s) other than ${VARIANTS.join(', ')}`, cond: `${ref} NOT IN (${VARIANTS.map(sql.str).join(', ')})` });
  }
  if (checks.length === 0) return [];
  const select = checks.map((k) => `count(*) FILTER (WHERE ${k.cond}), any_value(${sql.ident(`__lake_raw_${k.column}`)}) FILTER (WHERE ${k.cond})`);
  const row = (await connection.runAndReadAll(`SELECT ${select.join(', ')} FROM ${view}`)).getRowsJS()[0];
  return checks.flatMap((k, i) => {
    const count = Number(row[2 * i]);
    if (count === 0) return [];
    const example = row[2 * i + 1];
    return [{ column: k.column, message: `column ${k.column} has ${count} ${k.what}${example == null || example === '' ? '' : ` (e.g. ${JSON.stringify(example)})`}` }];
  });
}

/** COPY the converted rows into a hidden staging folder partitioned by date, then rename each file into its partition. */
async function write(ctx: LakeContext, connection: DuckDBConnection, spec: ModelSpec, kind: LakeKind, view: string, expected: LakeColumn[]) {
  const kindDir = ctx.layout.kindDir(spec.name, kind);
  const features = expected.filter((c) => c.feature).map((c) => `${sql.ident(c.name)} IS NULL`);
  const counts = (
    await connection.runAndReadAll(`SELECT count(*), count(*) FILTER (WHERE ${features.join(' OR ') || 'false'}) FROM ${view}`)
  ).getRowsJS()[0];
  const rows = Number(counts[0]);
  const result = { rowsWritten: rows, rowsWithMissingFeatures: Number(counts[1]), partitions: [] as string[], files: [] as string[] };
  if (rows === 0) return result;

  const staging = path.join(kindDir, `.import-${randomUUID()}`);
  await fs.mkdir(staging, { recursive: true });
  const moved: string[] = [];
  try {
    const columns = expected.map((c) => sql.ident(c.name)).join(', ');
    await connection.run(
      `COPY (SELECT ${columns}, strftime(${sql.ident(partitionColumn(kind))}, '%Y-%m-%d') AS __lake_date FROM ${view})
       TO ${sql.str(staging)} (${PARQUET_COPY_OPTIONS}, PARTITION_BY (__lake_date))`,
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

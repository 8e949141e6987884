import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DOUBLE, DuckDBDataChunk, TIMESTAMP, VARCHAR, timestampValue, type DuckDBConnection, type DuckDBType, type DuckDBValue } from '@duckdb/node-api';
import type { AppendResult, LakeKind } from '../types.js';
import type { LakeColumn, LakeType } from './columns.js';
import { PARQUET_COPY_OPTIONS, sql } from './duck.js';
import { DAY_MS, newDataFileName, tempNameFor, utcDate, type LakeLayout } from './layout.js';
import type { Columnar } from './rows.js';

/**
 * Appends rows to the lake as new immutable Parquet files, one per UTC-date partition. Each file is
 * written by DuckDB's COPY under a hidden temp name in its partition folder and then renamed into
 * view, so a reader (in this process or another) sees either the whole file or nothing, and names
 * carry a UUID so concurrent writers never collide.
 */

const DUCK_TYPES: Record<LakeType, DuckDBType> = { VARCHAR, TIMESTAMP, DOUBLE };

/** The column definitions of a table holding `columns`, for CREATE TABLE. */
export function columnDefs(columns: { name: string; type: LakeType }[]): string {
  return columns.map((c) => `${sql.ident(c.name)} ${c.type}`).join(', ');
}

export async function writeColumnar(connection: DuckDBConnection, layout: LakeLayout, model: string, kind: LakeKind, data: Columnar): Promise<AppendResult> {
  const rowCount = data.partitionMs.length;
  const result: AppendResult = { rowsWritten: 0, rowsWithMissingFeatures: data.rowsWithMissingFeatures, partitions: [], files: [] };
  if (rowCount === 0) return result;

  // Group by UTC day number; the date string is made once per day, not per row.
  const byDay = new Map<number, number[]>();
  data.partitionMs.forEach((ms, r) => {
    const day = Math.floor(ms / DAY_MS);
    const list = byDay.get(day);
    if (list) list.push(r);
    else byDay.set(day, [r]);
  });
  const byDate = new Map([...byDay].map(([day, rows]) => [utcDate(day * DAY_MS), rows]));

  const table = `stage_${randomUUID().replace(/-/g, '')}`;
  await connection.run(`CREATE TEMP TABLE ${table} (${columnDefs(data.columns)}, __lake_part VARCHAR)`);
  try {
    await stage(connection, table, data, byDate);
    for (const date of [...byDate.keys()].sort()) {
      const dir = layout.partitionDir(model, kind, date);
      await fs.mkdir(dir, { recursive: true });
      const select = `SELECT ${data.columns.map((c) => sql.ident(c.name)).join(', ')} FROM ${table} WHERE __lake_part = $part`;
      result.files.push(await copyToParquet(connection, select, path.join(dir, newDataFileName()), { part: date }));
      result.partitions.push(date);
    }
  } finally {
    await connection.run(`DROP TABLE IF EXISTS ${table}`);
  }
  result.rowsWritten = rowCount;
  return result;
}

/**
 * COPY a query to `finalPath` through a hidden temp file and an atomic rename. The path and the
 * query's own named parameters (`params`) are bound, not spelled into the SQL.
 */
export async function copyToParquet(connection: DuckDBConnection, select: string, finalPath: string, params: Record<string, string> = {}): Promise<string> {
  const temp = tempNameFor(finalPath);
  try {
    await connection.run(`COPY (${select}) TO $__lake_target (${PARQUET_COPY_OPTIONS})`, { ...params, __lake_target: temp });
    await fs.rename(temp, finalPath);
  } catch (err) {
    await fs.rm(temp, { force: true });
    throw err;
  }
  return finalPath;
}

/** Appends the rows to the staging table in chunks of DuckDB's vector size, grouped by partition. */
async function stage(connection: DuckDBConnection, table: string, data: Columnar, byDate: Map<string, number[]>): Promise<void> {
  const appender = await connection.createAppender(table, 'main', 'temp');
  const types = [...data.columns.map((c) => DUCK_TYPES[c.type]), VARCHAR];
  const chunkSize = 2048;
  try {
    for (const [date, rows] of byDate) {
      for (let start = 0; start < rows.length; start += chunkSize) {
        const slice = rows.slice(start, start + chunkSize);
        const columns: DuckDBValue[][] = data.columns.map((c, i) => {
          const cells = data.values[i];
          return c.type === 'TIMESTAMP'
            ? slice.map((r) => (cells[r] === null ? null : timestampValue(BigInt(Math.round((cells[r] as number) * 1000)))))
            : slice.map((r) => cells[r]);
        });
        columns.push(slice.map(() => date));
        const chunk = DuckDBDataChunk.create(types, slice.length);
        chunk.setColumns(columns);
        appender.appendDataChunk(chunk);
      }
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

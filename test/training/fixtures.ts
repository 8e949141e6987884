import { DuckDBInstance } from '@duckdb/node-api';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { model as modelSchema, type ModelSpec } from '../../src/config/schema.js';

/**
 * Test datasets in the data backend's snapshot layout (train/validation/holdout.parquet +
 * manifest.json), generated with DuckDB SQL. Randomness comes from hash(i, k), so the files are
 * identical on every run and independent of DuckDB's thread scheduling.
 */
export const uniform = (k: number) => `((hash(i, ${k}) % 1000003)::DOUBLE + 0.5) / 1000003`;
export const normal = (k: number) => `(sqrt(-2 * ln(${uniform(k)})) * cos(2 * pi() * ${uniform(k + 7919)}))`;

export interface DatasetOptions {
  rows: number;
  /** Fraction of rows with a missing amount / country. */
  missingRate?: number;
}

/** Binary fraud-like data with real signal: amount↑, age↓ and country drive the label. */
export async function writeBinaryDataset(dir: string, options: DatasetOptions): Promise<void> {
  const miss = options.missingRate ?? 0.05;
  const select = `
    SELECT i, 'req-' || i AS request_id, TIMESTAMP '2024-01-01' + to_seconds(i::BIGINT) AS ts,
      CASE WHEN ${uniform(11)} < ${miss} THEN NULL ELSE 100 + 40 * ${normal(1)} END AS amount,
      35 + 10 * ${normal(2)} AS age,
      CASE WHEN ${uniform(12)} < ${miss} THEN NULL ELSE ['DE', 'FR', 'US', 'BR'][1 + (hash(i, 3) % 4)::INTEGER] END AS country
    FROM range(${options.rows}) t(i)`;
  const logit = `-0.5 + 1.2 * coalesce((amount - 100) / 40, 0) - 0.8 * (age - 35) / 10
    + CASE country WHEN 'DE' THEN 0.8 WHEN 'FR' THEN -0.4 WHEN 'BR' THEN 1.2 ELSE 0 END`;
  await writeSplits(dir, `SELECT *, (CASE WHEN ${uniform(99)} < 1 / (1 + exp(-(${logit}))) THEN 1 ELSE 0 END)::DOUBLE AS is_fraud FROM (${select})`, options.rows, 'is_fraud');
}

/** Regression data with known coefficients: y = 3 + 2·x1 − 1.5·x2 + {a: 1, b: −1, c: 0}[cat] + ε. */
export async function writeRegressionDataset(dir: string, options: DatasetOptions & { noise?: number }): Promise<void> {
  const select = `
    SELECT i, 'req-' || i AS request_id, TIMESTAMP '2024-01-01' + to_seconds(i::BIGINT) AS ts,
      5 + 2 * ${normal(1)} AS x1, ${normal(2)} * 0.5 - 1 AS x2, ['a', 'b', 'c'][1 + (hash(i, 3) % 3)::INTEGER] AS cat
    FROM range(${options.rows}) t(i)`;
  const y = `3 + 2 * x1 - 1.5 * x2 + CASE cat WHEN 'a' THEN 1 WHEN 'b' THEN -1 ELSE 0 END + ${options.noise ?? 0.1} * ${normal(50)}`;
  await writeSplits(dir, `SELECT *, (${y})::DOUBLE AS y FROM (${select})`, options.rows, 'y');
}

async function writeSplits(dir: string, sql: string, rows: number, label: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(`CREATE TABLE d AS ${sql}`);
    const bounds = { train: [0, 0.8], validation: [0.8, 0.9], holdout: [0.9, 1] } as const;
    const rowCounts: Record<string, number> = {};
    for (const [split, [lo, hi]] of Object.entries(bounds)) {
      const where = `i >= ${Math.floor(lo * rows)} AND i < ${Math.floor(hi * rows)}`;
      await connection.run(`COPY (SELECT * EXCLUDE (i) FROM d WHERE ${where} ORDER BY i) TO '${path.join(dir, `${split}.parquet`)}' (FORMAT parquet)`);
      rowCounts[split] = Math.floor(hi * rows) - Math.floor(lo * rows);
    }
    const manifest = { datasetId: `ds-${path.basename(dir)}`, model: 'test-model', rowCounts, labelColumn: label, createdAt: '2024-01-01T00:00:00Z' };
    await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

/** Writes a parquet file from a SELECT (for hand-made scoring inputs). */
export async function writeParquet(file: string, sql: string): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(`COPY (${sql}) TO '${file}' (FORMAT parquet)`);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

export function binarySpec(trainer: Record<string, unknown> = { backend: 'builtin' }): ModelSpec {
  return modelSchema.parse({
    name: 'fraud-test',
    task: 'binary_classification',
    features: [
      { name: 'amount', type: 'numerical' },
      { name: 'age', type: 'numerical' },
      { name: 'country', type: 'categorical' },
    ],
    label: { name: 'is_fraud' },
    trainer,
  });
}

export function regressionSpec(trainer: Record<string, unknown> = { backend: 'builtin', algorithm: 'linear_regression' }): ModelSpec {
  return modelSchema.parse({
    name: 'regression-test',
    task: 'regression',
    features: [
      { name: 'x1', type: 'numerical' },
      { name: 'x2', type: 'numerical' },
      { name: 'cat', type: 'categorical' },
    ],
    label: { name: 'y' },
    trainer,
  });
}

/** A temp directory removed by the returned cleanup. */
export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), `retrain-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A training context that records progress. */
export function recordingContext(signal: AbortSignal = new AbortController().signal) {
  const progress: { fraction: number; message: string; metrics?: Record<string, number> }[] = [];
  return { progress, ctx: { signal, onProgress: (p: (typeof progress)[number]) => progress.push(p) } };
}

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { model, type ModelSpec } from '../../src/config/schema.js';
import { setLogger, createLogger } from '../../src/runtime/logger.js';
import { LakeDataBackend } from '../../src/backends/data/lake/index.js';
import type { PredictionRow } from '../../src/backends/data/types.js';

// Quarantine warnings are expected in these tests; keep the output readable.
setLogger(createLogger({ level: 'silent' }));

/** A small model: two numerical features, one categorical, label delay 1d. */
export function testSpec(overrides: Record<string, unknown> = {}): ModelSpec {
  return model.parse({
    name: 'churn',
    task: 'binary_classification',
    features: [
      { name: 'tenure', type: 'numerical' },
      { name: 'spend', type: 'numerical' },
      { name: 'plan', type: 'categorical' },
    ],
    label: { name: 'churned', delay: '1d' },
    data: { lookback: '30d', validationFraction: 0.1, holdoutFraction: 0.2 },
    ...overrides,
  });
}

export interface Lake {
  dir: string;
  backend: LakeDataBackend;
  cleanup(): Promise<void>;
}

export function tempLake(): Lake {
  const dir = mkdtempSync(path.join(tmpdir(), 'lake-test-'));
  const backend = new LakeDataBackend({ dataDir: dir, threads: 2 });
  return {
    dir,
    backend,
    async cleanup() {
      await backend.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const DAY = 86_400_000;
export const T0 = Date.UTC(2024, 0, 1); // 2024-01-01T00:00Z

/** Prediction i at T0 + i hours, deterministic features; every 10th row has no spend. */
export function prediction(i: number, over: Partial<PredictionRow> = {}): PredictionRow {
  return {
    request_id: `r${i}`,
    ts: new Date(T0 + i * 3_600_000),
    model_version: 'v1',
    variant: i % 4 === 3 ? 'challenger' : 'champion',
    entity_id: `e${i % 7}`,
    features: { tenure: i, spend: i % 10 === 0 ? null : i * 1.5, plan: ['basic', 'pro', 'team'][i % 3] },
    prediction: i % 2,
    score: (i % 100) / 100,
    latency_ms: 3,
    ...over,
  };
}

/** Runs one query against Parquet files with a private DuckDB, for assertions independent of the backend. */
export async function query(sqlText: string): Promise<Record<string, unknown>[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    await connection.run(`SET TimeZone = 'UTC'`);
    return (await connection.runAndReadAll(sqlText)).getRowObjectsJS() as Record<string, unknown>[];
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

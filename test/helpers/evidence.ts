import path from 'node:path';
import { LakeDataBackend } from '../../src/backends/data/lake/backend.js';
import { Duck, sql } from '../../src/backends/data/lake/duck.js';
import type { ServedEvidence, ServedEvidenceQuery } from '../../src/backends/data/types.js';
import type { ModelSpec } from '../../src/config/schema.js';
import type { LakeStoreSetting } from '../../src/config/settings.js';

/** servedEvidence over a data dir's lake, read as another process would: a backend of its own, closed after. */
export async function readEvidence(dataDir: string, spec: ModelSpec, query: ServedEvidenceQuery): Promise<ServedEvidence> {
  const lake = new LakeDataBackend({ dataDir, threads: 1 });
  try {
    return await lake.servedEvidence(spec, query);
  } finally {
    await lake.close();
  }
}

/** Predictions answered to callers: the champion's and the challenger's (shadow rows repeat a served request's id). */
export function answeredRequests(evidence: ServedEvidence): number {
  const { champion, challenger } = evidence.variants;
  return champion.requests - champion.errors + challenger.requests - challenger.errors;
}

/**
 * request_id → number of prediction rows in the lake (every variant): "each answered prediction exactly once".
 * `store`: the lake in object storage, read through `dataDir`'s cache (default: the environment's RETRAIN_LAKE_STORE).
 */
export async function predictionRowsByRequest(dataDir: string, model: string, store?: LakeStoreSetting): Promise<Map<string, number>> {
  const lake = new LakeDataBackend({ dataDir, threads: 1, store });
  const files = await lake.layout.listFiles(model, 'predictions');
  await lake.close();
  if (files.length === 0) return new Map();
  const duck = new Duck({ scratchDir: path.join(dataDir, 'tmp', 'duckdb'), threads: 1 });
  try {
    return await duck.with(async (c) => {
      const rows = (await c.runAndReadAll(`SELECT request_id, count(*)::INTEGER FROM ${sql.parquet(files.map((f) => f.path))} GROUP BY request_id`)).getRowsJS();
      return new Map(rows.map((r) => [String(r[0]), Number(r[1])]));
    });
  } finally {
    await duck.close();
  }
}

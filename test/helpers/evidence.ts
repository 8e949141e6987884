import { LakeDataBackend } from '../../src/backends/data/lake/backend.js';
import type { ServedEvidence, ServedEvidenceQuery } from '../../src/backends/data/types.js';
import type { ModelSpec } from '../../src/config/schema.js';

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

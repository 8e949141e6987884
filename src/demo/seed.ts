import path from 'node:path';
import type { Backends } from '../activities/backends.js';
import { openArtifactStore } from '../backends/artifacts/index.js';
import { resolveArtifact } from '../backends/models/load.js';
import { DATASET_FILES, DataInputError } from '../backends/data/types.js';
import { trainingBackendFor } from '../backends/training/index.js';
import { buildModelReference } from '../backends/training/reference.js';
import type { ModelSpec } from '../config/schema.js';
import type { Logger } from '../runtime/logger.js';
import { writeHistory } from './simulator/history.js';

export interface SeedResult {
  version: number;
  created: boolean;
  metrics: Record<string, number | null>;
}

/**
 * Gives a model its first champion when it has none: generated history into the lake (only if the
 * lake has no training data), a dataset, the configured trainer, the registry (with its reference
 * profile) and the gateway. A setup step like a database seed, so it runs directly, not as a
 * workflow; a model that already has a champion is left as it is.
 */
export async function seedChampion(b: Backends, spec: ModelSpec, options: { logger?: Logger; historyDays?: number; rowsPerDay?: number; seed?: number; now?: Date } = {}): Promise<SeedResult> {
  const existing = b.registry.resolve(spec.name, 'champion');
  const serving = b.servingFor(spec.name);
  if (existing) {
    await serving.deployChampion(spec.name, { version: existing.version, artifactUri: existing.artifactUri });
    return { version: existing.version, created: false, metrics: existing.metrics };
  }
  const now = options.now ?? new Date();
  const hasHistory = await b.data.buildDataset(spec, { asOf: now, source: 'training' }).then(
    (d) => d.rowCounts.train > 0,
    (err) => {
      if (err instanceof DataInputError) return false; // an empty lake: generate a history below
      throw err;
    },
  );
  if (!hasHistory) {
    const written = await writeHistory(b.data, spec, { days: options.historyDays ?? 30, rowsPerDay: options.rowsPerDay ?? 1_000, seed: options.seed ?? 1, end: now });
    options.logger?.info({ model: spec.name, rows: written.rowsWritten, positives: written.positives }, 'Generated a labelled history for the first model');
  }
  const dataset = await b.data.buildDataset(spec, { asOf: now, source: 'training' });
  const runId = `seed-${dataset.datasetId}`;
  const trained = await trainingBackendFor(spec).train(
    { spec, datasetDir: dataset.datasetDir, outputDir: path.join(b.settings.dataDir, 'artifacts', spec.name, runId), runId },
    { signal: new AbortController().signal, onProgress: (p) => options.logger?.debug({ model: spec.name, ...p }, 'training the first model') },
  );
  // With an object store (RETRAIN_ARTIFACT_STORE=s3://...) the registry names the uploaded object, as
  // for a trained challenger: gateway replicas and workers on other hosts cannot read this data dir.
  const store = openArtifactStore(b.settings);
  const artifactUri = store.setting.kind === 's3' ? (await store.put((await resolveArtifact(trained.artifactUri)).path)).uri : trained.artifactUri;
  const version = await b.registry.registerVersion({
    model: spec.name,
    artifactUri,
    metrics: trained.metrics,
    datasetId: dataset.datasetId,
    referenceProfile: await buildModelReference(spec, {
      artifactPath: trained.artifactUri,
      trainParquet: path.join(dataset.datasetDir, DATASET_FILES.train),
      validationParquet: path.join(dataset.datasetDir, DATASET_FILES.validation),
    }),
    trainer: spec.trainer.backend,
    params: spec.trainer.params,
    costUsd: trained.costUsd,
    runId,
    idempotencyKey: `${runId}:train`,
  });
  await serving.deployChampion(spec.name, { version: version.version, artifactUri: version.artifactUri });
  b.registry.promote(spec.name, version.version, { actor: 'retrain:seed', reason: 'first model, trained on the initial history', runId, idempotencyKey: `${runId}:promote`, metricsAfter: trained.metrics });
  b.registry.recordSpend(spec.name, trained.costUsd, { idempotencyKey: `${runId}:train`, note: 'first model' });
  options.logger?.info({ model: spec.name, version: version.version, metrics: trained.metrics }, 'First champion trained, registered and deployed');
  return { version: version.version, created: true, metrics: trained.metrics };
}

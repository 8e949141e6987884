import path from 'node:path';
import { Context } from '@temporalio/activity';
import { openArtifactStore } from '../backends/artifacts/index.js';
import { DATASET_FILES } from '../backends/data/types.js';
import { resolveArtifact } from '../backends/models/load.js';
import { trainingBackendFor } from '../backends/training/index.js';
import { buildModelReference } from '../backends/training/reference.js';
import type { Backends } from './backends.js';
import type { CandidateRef, PipelineActivities } from './contracts.js';
import { afterEffect } from './fault-points.js';
import { refOf } from './spec-catalog.js';

const HEARTBEAT_EVERY_MS = 10_000;

/**
 * Training runs on the training task queue: it heartbeats progress (and so learns of a
 * cancellation), kills the trainer when cancelled, and registers the challenger once per run.
 * A TrainingError is retried or not as the trainer decided (failures.ts, with its output tail).
 */
export function trainingActivities(b: Backends): Pick<PipelineActivities, 'trainChallenger'> {
  return {
    async trainChallenger(input): Promise<CandidateRef> {
      // The trainer (a command line, its environment) comes from this worker's config, never from the payload.
      const spec = b.specs.resolve(refOf(input));
      const { dataset, run } = input;
      const ctx = Context.current();
      // A retry after the version was registered must not train (and pay) again.
      const existing = b.registry.listVersions(spec.name).find((v) => v.runId === run.runId);
      if (existing) return candidate(existing);

      // A training worker on another host (its own data dir) fetches the snapshot from the lake store.
      const datasetDir = await b.data.localDataset(spec, dataset);
      const outputDir = path.join(b.settings.dataDir, 'artifacts', spec.name, `${run.runId}-attempt-${ctx.info.attempt}`);
      let last = { fraction: 0, message: 'starting' };
      // Beats well inside the heartbeat timeout: a dead worker is noticed in one timeout, not more.
      const beat = setInterval(() => ctx.heartbeat(last), Math.min(HEARTBEAT_EVERY_MS, Math.max(200, (ctx.info.heartbeatTimeoutMs ?? 3 * HEARTBEAT_EVERY_MS) / 3)));
      try {
        const result = await trainingBackendFor(spec).train(
          { spec, datasetDir, outputDir, runId: run.runId },
          {
            signal: ctx.cancellationSignal,
            onProgress: (p) => {
              last = { fraction: p.fraction, message: p.message };
              ctx.heartbeat(last);
            },
          },
        );
        // The training split's profile and each feature's importance to this model (on the validation split).
        const profile = await buildModelReference(spec, {
          artifactPath: result.artifactUri,
          trainParquet: path.join(datasetDir, DATASET_FILES.train),
          validationParquet: path.join(datasetDir, DATASET_FILES.validation),
        });
        // An object store (RETRAIN_ARTIFACT_STORE=s3://...) gets the artifact before the registry names it:
        // a content-addressed key, so a retry finds the object it uploaded and uploads nothing.
        const store = openArtifactStore(b.settings);
        const artifactUri = store.setting.kind === 's3' ? (await store.put((await resolveArtifact(result.artifactUri)).path)).uri : result.artifactUri;
        const version = await b.registry.registerVersion({
          model: spec.name,
          artifactUri,
          metrics: result.metrics,
          datasetId: dataset.datasetId,
          referenceProfile: profile,
          trainer: spec.trainer.backend,
          params: spec.trainer.params,
          costUsd: result.costUsd,
          workflowId: run.workflowId,
          runId: run.runId,
          idempotencyKey: `${run.runId}:train`,
        });
        afterEffect('trainChallenger', spec.name);
        ctx.log.info('Challenger registered', { model: spec.name, version: version.version, wallMs: result.wallMs, costUsd: result.costUsd });
        return candidate(version);
      } finally {
        clearInterval(beat);
      }
    },
  };
}

function candidate(v: { version: number; artifactUri: string; costUsd: number; metrics: Record<string, number | null> }): CandidateRef {
  const trainingMetrics = Object.fromEntries(Object.entries(v.metrics).filter((e): e is [string, number] => typeof e[1] === 'number'));
  return { version: v.version, artifactUri: v.artifactUri, costUsd: v.costUsd, trainingMetrics };
}

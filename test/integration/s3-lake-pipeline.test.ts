// @server dev
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { buildActivities, openBackends, type Backends } from '../../src/activities/index.js';
import { startPipeline } from '../../src/client.js';
import type { ModelSpec } from '../../src/config/schema.js';
import { runtimeSettings } from '../../src/config/settings.js';
import { seedChampion } from '../../src/demo/seed.js';
import { createWorkers, runWorkers } from '../../src/worker.js';
import type { PipelineResult } from '../../src/workflows/pipeline.js';
import { serveUntilDone } from '../helpers/canary-traffic.js';
import { fraudModelYaml } from '../helpers/fraud-model.js';
import { useS3 } from '../helpers/s3.js';
import { useStack } from '../helpers/stack.js';
import { workflowBundle } from '../helpers/temporal.js';

/**
 * A whole retraining run with the lake, datasets and artifacts in S3 (versitygw) and two workers
 * with separate data dirs on the dev server: the control worker (with the gateway, whose writer
 * logs the canary's predictions and labels to S3) builds the dataset, checks and judges the canary
 * from its cache; the training worker, on its own data dir, trains on the snapshot it downloads.
 */
const TOKEN = 's3-lake-pipeline-token';
const s3 = useS3({ bucket: 'retrain-pipeline' });
const store = () => `s3://${s3().bucket}/prod`;

describe('a pipeline run with the lake in S3 and a training worker on another data dir', () => {
  const trainingDir = mkdtempSync(path.join(tmpdir(), 'retrain-s3-training-'));
  let training: Backends | undefined;
  const stack = useStack(() => ({
    name: 's3lake',
    adminToken: TOKEN,
    gateway: true,
    workers: false,
    env: { RETRAIN_LAKE_STORE: store(), RETRAIN_ARTIFACT_STORE: store() },
    config: (url) =>
      `models:${fraudModelYaml(
        's3-lake',
        url,
        `
    trainer: { backend: builtin, params: { epochs: 4, seed: 3 } }
    approval: { when: never }
    gates: { metric: log_loss, floor: 1, minImprovement: 0.01 }
    rollout: { steps: [{ weight: 50, duration: 3s }, { weight: 100 }], analysisInterval: 1s, minSamples: 20, failureLimit: 2 }`,
        { labelDelay: '1d' },
      )}`,
    async prepare(s) {
      const spec = s.config.models[0];
      const weak = { ...spec, trainer: { ...spec.trainer, params: { ...(spec.trainer.backend === 'builtin' ? spec.trainer.params : {}), epochs: 1, learningRate: 0.0005 } } } as ModelSpec;
      await seedChampion(s.backends, weak, { historyDays: 10, rowsPerDay: 400 });
      // The control worker here; the training queue is served by the other data dir's worker.
      const bundle = await workflowBundle();
      training = openBackends({ config: s.config, settings: { ...runtimeSettings({ ...process.env, RETRAIN_DATA_DIR: trainingDir }), taskQueues: s.taskQueues }, logger: s.logger });
      training.registry.close();
      training.registry = s.backends.registry; // the registry both would share (PostgreSQL in production)
      const workers = [
        ...(await createWorkers({ connection: s.nativeConnection, namespace: 'default', settings: s.settings, activities: buildActivities(s.backends), workflowBundle: bundle, queues: ['control'] })),
        ...(await createWorkers({ connection: s.nativeConnection, namespace: 'default', settings: s.settings, activities: buildActivities(training), workflowBundle: bundle, queues: ['training'] })),
      ];
      const running = runWorkers(workers);
      s.onStop(async () => {
        for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
        await running;
        await training?.data.close();
      });
    },
  }));
  after(() => rmSync(trainingDir, { recursive: true, force: true }));

  it('trains on the training worker from S3, ramps on traffic logged to S3 and is promoted', async () => {
    const spec = stack.specs['s3-lake'];
    assert.ok(!existsSync(path.join(stack.dataDir, 'lake')), 'the control data dir has no local lake');
    const started = await startPipeline(stack.client, { taskQueues: stack.taskQueues }, spec, { kinds: ['manual'], reasons: ['s3 lake test'], requestedBy: 'test' });
    const outcome = await serveUntilDone(stack, spec, stack.client.workflow.getHandle(started.workflowId).result() as Promise<PipelineResult>);
    assert.equal(outcome.outcome, 'promoted', outcome.reason);

    const datasets = readdirSync(path.join(trainingDir, 'datasets', spec.name)).filter((d) => d.startsWith('ds-'));
    assert.equal(datasets.length, 1, 'the training worker downloaded the snapshot into its own data dir');
    const challenger = stack.backends.registry.getVersion(spec.name, 2);
    assert.equal(challenger.datasetId, datasets[0]);
    assert.match(challenger.artifactUri, /^s3:\/\/retrain-pipeline\/prod\/sha256\//);
    const objects = async (kind: string) => (await s3().client.send(new ListObjectsV2Command({ Bucket: s3().bucket, Prefix: `prod/lake/${spec.name}/${kind}/` }))).KeyCount ?? 0;
    for (const kind of ['training', 'predictions', 'labels']) assert.ok((await objects(kind)) > 0, `the seeded history and the gateway's ${kind} files are objects in S3`);
    assert.ok(outcome.status.analyses.some((a) => a.verdict === 'pass' && (a.evidence?.challenger.labelled ?? 0) > 0), 'the canary was judged on served rows and labels read back from S3');
  });
});

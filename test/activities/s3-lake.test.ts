import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { buildActivities, openBackends, type Backends } from '../../src/activities/index.js';
import { parseConfig } from '../../src/config/load.js';
import { runtimeSettings } from '../../src/config/settings.js';
import { mulberry32 } from '../../src/drift/index.js';
import { createLogger } from '../../src/runtime/logger.js';
import { useS3 } from '../helpers/s3.js';

/**
 * The pipeline's activities on two workers with no shared disk, the lake, datasets and artifacts
 * in object storage (RETRAIN_LAKE_STORE, RETRAIN_ARTIFACT_STORE): the control worker's data dir
 * holds the training history only in S3 and builds the dataset; a training worker with another
 * data dir trains on it (downloaded, hash-checked) and uploads the model; the control worker
 * evaluates it with its own copy of the dataset gone. The registry object is shared, standing in
 * for the PostgreSQL registry both would use. Against a real S3 server (versitygw).
 * (test/integration/s3-lake-pipeline.test.ts runs the same through a whole pipeline.)
 */
const s3 = useS3({ bucket: 'retrain-shared' });

const config = parseConfig(`
models:
  - name: card-fraud
    task: binary_classification
    features: [{ name: amount, type: numerical }, { name: country, type: categorical }]
    label: { name: is_fraud, delay: 1h }
    trainer: { backend: builtin, params: { epochs: 3, seed: 7 } }
`);
const spec = config.models[0];
const NOW = Date.now();
const HOUR = 3_600_000;
const COUNTRIES = ['FR', 'DE', 'US', 'BR'];

function row(random: () => number) {
  const amount = Math.exp(3 + random() * 2);
  const country = COUNTRIES[Math.floor(random() * COUNTRIES.length)];
  const risk = -4 + amount / 40 + (country === 'BR' ? 1.5 : 0);
  return { features: { amount, country }, label: random() < 1 / (1 + Math.exp(-risk)) ? 1 : 0 };
}

describe('pipeline activities on two data dirs, the lake and datasets in S3', () => {
  const dirs: string[] = [];
  let control: Backends;
  let training: Backends;
  const mock = new MockActivityEnvironment({ attempt: 1 });
  const env = { run: <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A) => mock.run(fn as never, ...(args as unknown as never[])) as Promise<R> };
  const saved = { dataDir: process.env.RETRAIN_DATA_DIR, lake: process.env.RETRAIN_LAKE_STORE, artifacts: process.env.RETRAIN_ARTIFACT_STORE };
  const logger = createLogger({ level: 'warn', pretty: false, destination: process.stderr });

  before(() => {
    const [controlDir, trainingDir] = ['control', 'training'].map((name) => {
      const d = mkdtempSync(path.join(tmpdir(), `retrain-s3-lake-${name}-`));
      dirs.push(d);
      return d;
    });
    process.env.RETRAIN_LAKE_STORE = `s3://${s3().bucket}/shared`;
    process.env.RETRAIN_ARTIFACT_STORE = `s3://${s3().bucket}/shared`;
    process.env.RETRAIN_DATA_DIR = controlDir;
    control = openBackends({ config, settings: runtimeSettings(), logger });
    training = openBackends({ config, settings: runtimeSettings({ ...process.env, RETRAIN_DATA_DIR: trainingDir }), logger });
    training.registry.close();
    training.registry = control.registry;
  });
  after(async () => {
    await training?.data.close();
    await control?.close();
    for (const [name, value] of [['RETRAIN_DATA_DIR', saved.dataDir], ['RETRAIN_LAKE_STORE', saved.lake], ['RETRAIN_ARTIFACT_STORE', saved.artifacts]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('builds on the control worker, trains on the training worker, evaluates on the control worker', async () => {
    const random = mulberry32(11);
    const rows = Array.from({ length: 2_000 }, (_, i) => ({ request_id: `t${i}`, ts: new Date(NOW - 20 * 24 * HOUR + i * 600_000), ...row(random) }));
    await control.data.appendTraining(spec, rows);
    assert.ok(!existsSync(path.join(dirs[0], 'lake')), 'nothing in the local lake: the rows are in S3');

    const controlActs = buildActivities(control);
    const trainingActs = buildActivities(training);
    const dataset = await env.run(controlActs.buildDataset, { ref: { model: spec.name }, asOf: new Date(NOW).toISOString() });
    assert.ok(dataset.datasetDir.startsWith(dirs[0]));
    rmSync(dataset.datasetDir, { recursive: true }); // the training worker's host cannot see it, and the control worker forgets it

    const run = { model: spec.name, workflowId: 'retrain-card-fraud', runId: 'run-s3-lake' };
    const challenger = await env.run(trainingActs.trainChallenger, { ref: { model: spec.name }, dataset, run });
    assert.ok(existsSync(path.join(dirs[1], 'datasets', spec.name, dataset.datasetId, 'train.parquet')), 'downloaded into the training worker data dir');
    assert.match(challenger.artifactUri, /^s3:\/\/retrain-shared\/shared\/sha256\/[0-9a-f]{64}\/model\.json$/);

    const evaluation = await env.run(controlActs.evaluateCandidates, { ref: { model: spec.name }, dataset, challengerVersion: challenger.version });
    assert.ok(evaluation.challenger.metrics.roc_auc > 0.7, JSON.stringify(evaluation.challenger.metrics));
    assert.ok(existsSync(path.join(dataset.datasetDir, 'holdout.parquet')), 'the control worker fetched its snapshot back from S3');
  });
});

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { MockActivityEnvironment } from '@temporalio/testing';
import { buildActivities, openBackends, type Backends } from '../../src/activities/index.js';
import { parseConfig } from '../../src/config/load.js';
import { runtimeSettings } from '../../src/config/settings.js';
import { SqliteRegistry } from '../../src/backends/registry/sqlite.js';
import { RegistryError } from '../../src/backends/registry/types.js';
import { mulberry32 } from '../../src/drift/index.js';
import { createLogger } from '../../src/runtime/logger.js';
import { runCli } from '../helpers/cli.js';
import { useS3 } from '../helpers/s3.js';

/**
 * Model artifacts in object storage through the pipeline's activities on the real backends: the
 * built-in trainer's model is uploaded and registered as an s3:// URI, the evaluation reads it back
 * from S3 once the local files are gone, and a changed or deleted object is the registry's
 * hash_mismatch / artifact_missing, naming the URI. `retrain models register --artifact` uploads
 * likewise. Against a real S3 server (versitygw).
 */
const s3 = useS3();

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
const PREFIX = 'retrain/artifacts';

function row(random: () => number) {
  const amount = Math.exp(3 + random() * 2);
  const country = COUNTRIES[Math.floor(random() * COUNTRIES.length)];
  const risk = -4 + amount / 40 + (country === 'BR' ? 1.5 : 0);
  return { features: { amount, country }, label: random() < 1 / (1 + Math.exp(-risk)) ? 1 : 0 };
}

describe('artifacts in S3 through the pipeline activities', () => {
  let dataDir: string;
  let backends: Backends;
  let acts: ReturnType<typeof buildActivities>;
  const mock = new MockActivityEnvironment({ attempt: 1 });
  const env = { run: <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A) => mock.run(fn as never, ...(args as unknown as never[])) as Promise<R> };
  const run = { model: spec.name, workflowId: 'retrain-card-fraud', runId: 'run-s3' };
  const saved = { dataDir: process.env.RETRAIN_DATA_DIR, store: process.env.RETRAIN_ARTIFACT_STORE };
  let dataset: Awaited<ReturnType<typeof acts.buildDataset>>;
  let uri: string;

  before(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'retrain-s3-acts-'));
    process.env.RETRAIN_DATA_DIR = dataDir;
    process.env.RETRAIN_ARTIFACT_STORE = `s3://${s3().bucket}/${PREFIX}`;
    backends = openBackends({ config, settings: runtimeSettings(), logger: createLogger({ level: 'warn', pretty: false, destination: process.stderr }) });
    acts = buildActivities(backends);
    const random = mulberry32(11);
    const rows = Array.from({ length: 2_000 }, (_, i) => ({ request_id: `t${i}`, ts: new Date(NOW - 20 * 24 * HOUR + i * 600_000), ...row(random) }));
    await backends.data.appendTraining(spec, rows);
    dataset = await env.run(acts.buildDataset, { ref: { model: spec.name }, asOf: new Date(NOW).toISOString() });
  });
  after(async () => {
    await backends?.close();
    restoreEnv('RETRAIN_DATA_DIR', saved.dataDir);
    restoreEnv('RETRAIN_ARTIFACT_STORE', saved.store);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('uploads the trained model and registers its s3:// URI', async () => {
    const challenger = await env.run(acts.trainChallenger, { ref: { model: spec.name }, dataset, run });
    const version = backends.registry.getVersion(spec.name, challenger.version);
    uri = version.artifactUri;
    assert.equal(uri, `s3://${s3().bucket}/${PREFIX}/sha256/${version.contentHash}/model.json`);
    assert.equal(challenger.artifactUri, uri);
    const head = await s3().client.send(new HeadObjectCommand({ Bucket: s3().bucket, Key: key(uri) }));
    assert.equal(head.Metadata?.sha256, version.contentHash);
  });

  it('evaluates the challenger from S3 alone: the trainer output and the cache deleted', async () => {
    rmSync(path.join(dataDir, 'artifacts'), { recursive: true, force: true });
    const evaluation = await env.run(acts.evaluateCandidates, { ref: { model: spec.name }, dataset, challengerVersion: 1 });
    assert.ok(evaluation.challenger.metrics.roc_auc > 0.7, JSON.stringify(evaluation.challenger.metrics));
    const version = backends.registry.getVersion(spec.name, 1);
    assert.ok(existsSync(path.join(dataDir, 'artifacts', '.s3-cache', version.contentHash, 'model.json')), 'downloaded into the cache');
    assert.equal(await env.run(acts.checkDeployable, { ref: { model: spec.name }, version: 1 }), null);
  });

  it('refuses a changed object (hash_mismatch) and a deleted one (artifact_missing), naming the URI', async () => {
    rmSync(path.join(dataDir, 'artifacts', '.s3-cache'), { recursive: true, force: true });
    await s3().client.send(new PutObjectCommand({ Bucket: s3().bucket, Key: key(uri), Body: '{"format":"retrain-linear/v1"}' }));
    await assert.rejects(backends.registry.verifyArtifact(spec.name, 1), (err: unknown) => err instanceof RegistryError && err.code === 'hash_mismatch' && err.message.includes(uri));
    await assert.rejects(backends.registry.loadVersion(spec.name, 1), (err: unknown) => err instanceof RegistryError && err.code === 'hash_mismatch');
    assert.match((await env.run(acts.checkDeployable, { ref: { model: spec.name }, version: 1 })) ?? '', /v1 cannot be deployed: .*does not match/);

    await s3().client.send(new DeleteObjectCommand({ Bucket: s3().bucket, Key: key(uri) }));
    await assert.rejects(backends.registry.verifyArtifact(spec.name, 1), (err: unknown) => err instanceof RegistryError && err.code === 'artifact_missing' && err.message.includes(uri));
    // Through the failure protocol: final, typed by the registry's code.
    await assert.rejects(env.run(acts.evaluateCandidates, { ref: { model: spec.name }, dataset, challengerVersion: 1 }), (err: unknown) => {
      const failure = err as { type?: string; nonRetryable?: boolean; message: string };
      return failure.type === 'Registry:artifact_missing' && failure.nonRetryable === true && failure.message.includes(uri);
    });
  });

  it('retrain models register --artifact uploads the file and registers the s3:// URI', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'retrain-s3-cli-'));
    try {
      const configFile = path.join(dir, 'retrain.yaml');
      writeFileSync(configFile, `models:\n  - name: churn\n    task: binary_classification\n    features: [{ name: amount, type: numerical }]\n    label: { name: churned, delay: 1d }\n`);
      const artifact = path.join(dir, 'model.json');
      writeFileSync(
        artifact,
        JSON.stringify({ format: 'retrain-linear/v1', task: 'binary_classification', label: 'churned', features: [{ name: 'amount', type: 'numerical', mean: 0, std: 1, impute: 0 }], weights: [2], bias: 0, threshold: 0.5 }),
      );
      const random = mulberry32(3);
      const csv = ['amount,churned', ...Array.from({ length: 400 }, () => {
        const amount = random() * 4 - 2;
        return `${amount.toFixed(4)},${random() < 1 / (1 + Math.exp(-2 * amount)) ? 1 : 0}`;
      })].join('\n');
      writeFileSync(path.join(dir, 'train.csv'), `${csv}\n`);
      const cliEnv = { ...s3().env, RETRAIN_DATA_DIR: path.join(dir, 'data'), RETRAIN_ARTIFACT_STORE: `s3://${s3().bucket}/${PREFIX}` };
      const r = await runCli(['--config', configFile, 'models', 'register', 'churn', '--artifact', artifact, '--training-data', path.join(dir, 'train.csv')], cliEnv);
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /AWS SDK|Warning/, 'no SDK notice on stderr');
      const registry = new SqliteRegistry({ path: path.join(dir, 'data', 'registry.db') });
      const [v] = registry.listVersions('churn');
      registry.close();
      assert.match(v.artifactUri, new RegExp(`^s3://${s3().bucket}/${PREFIX}/sha256/[0-9a-f]{64}/model\\.json$`));
      const head = await s3().client.send(new HeadObjectCommand({ Bucket: s3().bucket, Key: key(v.artifactUri) }));
      assert.equal(head.Metadata?.sha256, v.contentHash);
      assert.equal(v.artifactUri.split('/').at(-2), v.contentHash);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

function key(uri: string): string {
  return uri.replace(/^s3:\/\/[^/]+\//, '');
}

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

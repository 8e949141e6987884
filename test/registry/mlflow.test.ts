import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { buildActivities, openBackends, type Backends } from '../../src/activities/index.js';
import { MlflowRegistry, openRegistry, RegistryError } from '../../src/backends/registry/index.js';
import { ConfigError, parseConfig } from '../../src/config/load.js';
import { runtimeSettings } from '../../src/config/settings.js';
import { createLogger } from '../../src/runtime/logger.js';
import { freePort } from '../helpers/free-port.js';
import { mlflowHttp, mlflowPrefix, startMlflow, stopMlflow } from '../helpers/mlflow.js';
import { postgresDatabase, sql } from '../helpers/postgres.js';

/**
 * What only the MLflow registry has, against a real `mlflow server` (test/helpers/mlflow.ts): the
 * aliases a promote moves are MLflow's own registered-model aliases; a move retried after a crash
 * between the ledger and MLflow writes nothing twice and puts MLflow's aliases right; a version
 * someone registered through MLflow's REST API is adopted (its hash pinned as tags) and passes
 * the deploy workflow's `checkDeployable`; bad settings get one line naming the variable. The
 * contract tests every store passes run against MLflow in registry.test.ts.
 */
const LINEAR = (bias: number) =>
  JSON.stringify({
    format: 'retrain-linear/v1', task: 'binary_classification', label: 'is_fraud',
    features: [{ name: 'amount', type: 'numerical', mean: 50, std: 20, impute: 50 }], weights: [0.8], bias, threshold: 0.5,
  });

const config = parseConfig(`
models:
  - name: mlfraud
    task: binary_classification
    features: [{ name: amount, type: numerical }]
    label: { name: is_fraud, delay: 1h }
    trainer: { backend: builtin }
`);
const spec = config.models[0];

/** MLflow's REST API as another team's tool uses it (no retrain code). */
async function mlflowApi<T = Record<string, unknown>>(uri: string, method: 'GET' | 'POST', endpoint: string, body: Record<string, unknown>): Promise<T> {
  const url = method === 'GET' ? `${uri}/api/2.0/mlflow/${endpoint}?${new URLSearchParams(body as Record<string, string>)}` : `${uri}/api/2.0/mlflow/${endpoint}`;
  const res = await mlflowHttp(url, { method, body: method === 'POST' ? JSON.stringify(body) : undefined });
  assert.ok(res.ok, `${endpoint}: ${res.status} ${res.text}`);
  return JSON.parse(res.text) as T;
}

/** A data scientist registering a model in MLflow by hand: a run holding model.json, a version from it. */
async function registerOutside(uri: string, name: string, bytes: string): Promise<{ version: number; artifact: string }> {
  await mlflowHttp(`${uri}/api/2.0/mlflow/registered-models/create`, { method: 'POST', body: JSON.stringify({ name }) });
  const { run } = await mlflowApi<{ run: { info: { run_id: string; artifact_uri: string } } }>(uri, 'POST', 'runs/create', { experiment_id: '0', run_name: 'notebook' });
  const artifact = `${run.info.artifact_uri.replace(/^mlflow-artifacts:\/+/, '')}/model/model.json`;
  const put = await mlflowHttp(`${uri}/api/2.0/mlflow-artifacts/artifacts/${artifact}`, { method: 'PUT', body: bytes, contentType: 'application/octet-stream' });
  assert.ok(put.ok, `upload: ${put.status}`);
  const { model_version } = await mlflowApi<{ model_version: { version: string } }>(uri, 'POST', 'model-versions/create', {
    name, source: `${run.info.artifact_uri}/model`, run_id: run.info.run_id, tags: [{ key: 'team', value: 'risk' }],
  });
  return { version: Number(model_version.version), artifact };
}

describe('MLflow registry (a real mlflow server)', () => {
  let uri: string;
  let dataDir: string;
  const saved = { ...process.env };
  const who = { actor: 'alice', reason: 'better AUC' };

  before(async () => {
    uri = await startMlflow();
    dataDir = mkdtempSync(path.join(tmpdir(), 'retrain-mlflow-data-'));
    writeFileSync(path.join(dataDir, 'model-a.json'), LINEAR(0));
    writeFileSync(path.join(dataDir, 'model-b.json'), LINEAR(1));
  });
  after(async () => {
    process.env = saved;
    await stopMlflow();
    rmSync(dataDir, { recursive: true, force: true });
  });

  function settings(prefix: string) {
    return runtimeSettings({ RETRAIN_DATA_DIR: dataDir, RETRAIN_MLFLOW_TRACKING_URI: uri, RETRAIN_MLFLOW_MODEL_PREFIX: prefix });
  }

  it('is selected by RETRAIN_MLFLOW_TRACKING_URI; a promote moves MLflow aliases; a retried move writes one ledger entry and repairs MLflow', async () => {
    const prefix = mlflowPrefix('moves');
    const registry = openRegistry(settings(prefix)) as MlflowRegistry;
    try {
      assert.ok(registry instanceof MlflowRegistry);
      const v1 = await registry.registerVersion({ model: 'fraud', artifactUri: path.join(dataDir, 'model-a.json'), metrics: { roc_auc: 0.81 }, trainer: 'builtin', datasetId: 'ds-1', idempotencyKey: 'wf/run-1/register' });
      const v2 = await registry.registerVersion({ model: 'fraud', artifactUri: path.join(dataDir, 'model-b.json'), metrics: { roc_auc: 0.84 }, trainer: 'builtin', datasetId: 'ds-2', costUsd: 0.5 });
      assert.deepEqual([v1.version, v2.version], [1, 2]);
      const tags = await mlflowApi<{ model_version: { tags: Array<{ key: string; value: string }> } }>(uri, 'GET', 'model-versions/get', { name: `${prefix}fraud`, version: '2' });
      const byKey = Object.fromEntries(tags.model_version.tags.map((t) => [t.key, t.value]));
      assert.deepEqual([byKey['retrain.dataset_id'], byKey['retrain.metrics'], byKey['retrain.content_hash'], byKey['retrain.cost_usd']], ['ds-2', '{"roc_auc":0.84}', v2.contentHash, '0.5']);

      registry.promote('fraud', 1, who);
      const move = { ...who, idempotencyKey: 'wf/run-2/promote' };
      const first = registry.promote('fraud', 2, move);
      const mlflowAliases = async () => {
        const { registered_model } = await mlflowApi<{ registered_model: { aliases?: Array<{ alias: string; version: string }> } }>(uri, 'GET', 'registered-models/get', { name: `${prefix}fraud` });
        return Object.fromEntries((registered_model.aliases ?? []).map((a) => [a.alias, Number(a.version)]));
      };
      assert.deepEqual(await mlflowAliases(), { champion: 2, previous: 1 });

      // A crash after the ledger committed and before MLflow was told: MLflow still shows the old champion.
      await mlflowHttp(`${uri}/api/2.0/mlflow/registered-models/alias`, { method: 'POST', body: JSON.stringify({ name: `${prefix}fraud`, alias: 'champion', version: '1' }) });
      await mlflowHttp(`${uri}/api/2.0/mlflow/registered-models/alias`, { method: 'DELETE', body: JSON.stringify({ name: `${prefix}fraud`, alias: 'previous' }) });
      const replay = registry.promote('fraud', 2, move);
      assert.deepEqual(replay, first, 'the retry answers with the first ledger entry');
      assert.equal(registry.ledger({ model: 'fraud' }).length, 2, 'one entry per move, none for the retry');
      assert.deepEqual(await mlflowAliases(), { champion: 2, previous: 1 }, 'the retry converged MLflow to the ledger');

      registry.registerChallenger('fraud', 1, who);
      assert.deepEqual(await mlflowAliases(), { champion: 2, previous: 1, challenger: 1 });
      registry.clearChallenger('fraud', who);
      registry.rollback('fraud', { actor: 'rollout', reason: 'accuracy dropped' });
      assert.deepEqual(await mlflowAliases(), { champion: 1, previous: 2 });
      assert.deepEqual(registry.aliases('fraud'), { champion: 1, challenger: null, previous: 2 });
    } finally {
      registry.close();
    }
  });

  it('over PostgreSQL (RETRAIN_REGISTRY_URL): the ledger and alias rows there, the versions and aliases in MLflow', async () => {
    const prefix = mlflowPrefix('pg');
    const url = await postgresDatabase('mlflow_inner');
    const registry = openRegistry(runtimeSettings({ RETRAIN_DATA_DIR: dataDir, RETRAIN_MLFLOW_TRACKING_URI: uri, RETRAIN_MLFLOW_MODEL_PREFIX: prefix, RETRAIN_REGISTRY_URL: url })) as MlflowRegistry;
    try {
      await registry.registerVersion({ model: 'fraud', artifactUri: path.join(dataDir, 'model-a.json'), metrics: { roc_auc: 0.8 }, trainer: 'builtin' });
      registry.promote('fraud', 1, { ...who, idempotencyKey: 'pg/promote' });
      assert.deepEqual(registry.mlflowAliases('fraud'), { champion: 1 });
      const rows = await sql<{ action: string; to_version: number }>(url, `SELECT action, to_version FROM ledger WHERE model = 'fraud'`);
      assert.deepEqual(rows.map((r) => [r.action, Number(r.to_version)]), [['promote', 1]]);
    } finally {
      registry.close();
    }
  });

  it('a version registered in MLflow by someone else is adopted and passes checkDeployable; a changed artifact is refused', async () => {
    const prefix = mlflowPrefix('outside');
    const outside = await registerOutside(uri, `${prefix}${spec.name}`, LINEAR(0.25));
    assert.equal(outside.version, 1);
    process.env.RETRAIN_DATA_DIR = dataDir;
    process.env.RETRAIN_MLFLOW_TRACKING_URI = uri;
    process.env.RETRAIN_MLFLOW_MODEL_PREFIX = prefix;
    const mock = new MockActivityEnvironment({ attempt: 1 });
    let backends: Backends | undefined;
    try {
      backends = openBackends({ config, settings: runtimeSettings(), logger: createLogger({ level: 'warn', pretty: false, destination: process.stderr }) });
      const acts = buildActivities(backends);
      const [v] = backends.registry.listVersions(spec.name);
      const hash = createHash('sha256').update(LINEAR(0.25)).digest('hex');
      // "external", as `retrain models register` records it: `deploy: { registered: auto }` picks it up.
      assert.deepEqual([v.version, v.format, v.contentHash, v.trainer, v.referenceProfile], [1, 'retrain-linear/v1', hash, 'external', null]);
      assert.match(String(v.params.artifact), /^mlflow-artifacts:\/.*\/model\/model\.json$/);
      assert.ok(v.artifactUri.includes('.mlflow-cache'), v.artifactUri);
      const { model_version } = await mlflowApi<{ model_version: { tags: Array<{ key: string; value: string }> } }>(uri, 'GET', 'model-versions/get', { name: `${prefix}${spec.name}`, version: '1' });
      const tags = Object.fromEntries(model_version.tags.map((t) => [t.key, t.value]));
      assert.deepEqual([tags['retrain.content_hash'], tags['retrain.format'], tags.team], [hash, 'retrain-linear/v1', 'risk'], 'the hash is pinned in MLflow; their tags stay');

      assert.equal(await mock.run(acts.checkDeployable as never, { ref: { model: spec.name }, version: 1 }), null);
      const loaded = await backends.registry.loadVersion(spec.name, 1, { spec });
      assert.equal(loaded.sha256, hash);
      await loaded.close();

      // Someone overwrites the file in MLflow: the cached copy is still the pinned bytes, and once
      // the cache is gone, the download is refused rather than served.
      await mlflowHttp(`${uri}/api/2.0/mlflow-artifacts/artifacts/${outside.artifact}`, { method: 'PUT', body: LINEAR(9), contentType: 'application/octet-stream' });
      rmSync(path.join(dataDir, 'artifacts', '.mlflow-cache', 'sha256'), { recursive: true, force: true });
      const refused = (await mock.run(acts.checkDeployable as never, { ref: { model: spec.name }, version: 1 })) as string | null;
      assert.match(refused ?? '', /v1 cannot be deployed: .*in MLflow has sha256 .*pinned/);
    } finally {
      await backends?.close();
      for (const k of ['RETRAIN_DATA_DIR', 'RETRAIN_MLFLOW_TRACKING_URI', 'RETRAIN_MLFLOW_MODEL_PREFIX']) delete process.env[k];
    }
  });

  it('a version MLflow holds that is not a model retrain reads is refused by number with the reason, and left out of the list', async () => {
    const prefix = mlflowPrefix('bad');
    await registerOutside(uri, `${prefix}fraud`, '{"format":"pickle"}');
    const registry = openRegistry(settings(prefix));
    try {
      assert.deepEqual(registry.listVersions('fraud'), []);
      assert.throws(() => registry.getVersion('fraud', 1), (err: unknown) => err instanceof RegistryError && /version 1: .*not a valid retrain-linear\/v1 model/.test(err.message));
      assert.throws(() => registry.getVersion('fraud', 2), (err: unknown) => err instanceof RegistryError && err.code === 'unknown_version');
    } finally {
      registry.close();
    }
  });

  it('bad settings: not a URL, or no server answering, is one line naming the variable', async () => {
    assert.throws(() => runtimeSettings({ RETRAIN_MLFLOW_TRACKING_URI: 'mlflow:5000' }), (err: unknown) => err instanceof ConfigError && /RETRAIN_MLFLOW_TRACKING_URI.*http\(s\) URL of an MLflow tracking server/.test(err.message));
    const closed = `http://127.0.0.1:${await freePort()}`; // nothing listens there
    assert.throws(
      () => openRegistry(runtimeSettings({ RETRAIN_DATA_DIR: dataDir, RETRAIN_MLFLOW_TRACKING_URI: closed })),
      (err: unknown) => err instanceof ConfigError && err.message.split('\n').length === 1 && err.message.includes(`RETRAIN_MLFLOW_TRACKING_URI: MLflow at ${closed} does not answer (ECONNREFUSED)`),
    );
  });
});

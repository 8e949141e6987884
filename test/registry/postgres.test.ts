import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { openRegistry, PostgresRegistry, SCHEMA_VERSION, SqliteRegistry } from '../../src/backends/registry/index.js';
import { runtimeSettings } from '../../src/config/settings.js';
import { SqliteDeploymentStore } from '../../src/serving/deployment-store.js';
import { PostgresDeploymentStore } from '../../src/serving/deployment-store-postgres.js';
import { openDeploymentStore } from '../../src/serving/open-deployment-store.js';
import { postgresDatabase, sql } from '../helpers/postgres.js';
import { tempDir } from '../training/fixtures.js';

/** What only the PostgreSQL registry has: several processes migrating and moving aliases of one model at once. */
describe('PostgreSQL registry under concurrent processes', () => {
  let root: { dir: string; cleanup: () => Promise<void> };
  let artifact: string;
  const run = promisify(execFile);
  const child = (name: string) => fileURLToPath(new URL(`./${name}`, import.meta.url));

  before(async () => {
    root = await tempDir('registry-pg');
    await mkdir(path.join(root.dir, 'a'), { recursive: true });
    artifact = path.join(root.dir, 'a', 'model.json');
    await writeFile(artifact, JSON.stringify({
      format: 'retrain-linear/v1', task: 'binary_classification', label: 'y',
      features: [{ name: 'x', type: 'numerical', mean: 0, std: 1, impute: 0 }], weights: [1], bias: 0, threshold: 0.5,
    }));
  });
  after(async () => {
    await root.cleanup();
  });

  test('two processes opening a fresh database at once migrate it once', async () => {
    const url = await postgresDatabase('migrate');
    const register = (tag: string) => run(process.execPath, ['--import', 'tsx', child('register-many.ts'), 'PostgreSQL', url, artifact, 'fraud', '3', tag]);
    const [a, b] = await Promise.all([register('a'), register('b')]);
    assert.deepEqual([...JSON.parse(a.stdout), ...JSON.parse(b.stdout)].sort((x, y) => x - y), [1, 2, 3, 4, 5, 6]);
    const rows = await sql<{ version: number }>(url, 'SELECT version FROM schema_migrations ORDER BY version');
    assert.deepEqual(rows.map((r) => r.version), Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
  });

  test('two processes promoting and rolling back one model keep the ledger a chain', async () => {
    const url = await postgresDatabase('moves');
    const registry = new PostgresRegistry({ url });
    try {
      for (let i = 0; i < 4; i++) await registry.registerVersion({ model: 'fraud', artifactUri: artifact, metrics: { accuracy: 0.8 + i / 100 }, trainer: 'builtin' });
      const moves = (tag: string) => run(process.execPath, ['--import', 'tsx', child('move-many.ts'), url, 'fraud', '4', '60', tag]);
      const results = (await Promise.all([moves('alpha'), moves('beta')])).map((r) => JSON.parse(r.stdout) as { moved: number; refused: number });
      const ledger = registry.ledger({ model: 'fraud' });
      assert.equal(ledger.length, results[0].moved + results[1].moved, 'one ledger entry per move that was not refused');
      assert.ok(new Set(ledger.map((e) => e.actor)).size === 2, 'both processes moved the champion');
      for (let i = 1; i < ledger.length; i++) {
        assert.equal(ledger[i].fromVersion, ledger[i - 1].toVersion, `entry ${ledger[i].id} (${ledger[i].action} by ${ledger[i].actor}) starts where entry ${ledger[i - 1].id} ended`);
        assert.notEqual(ledger[i].fromVersion, ledger[i].toVersion);
      }
      const last = ledger.at(-1)!;
      assert.deepEqual(registry.aliases('fraud'), { champion: last.toVersion, challenger: null, previous: last.fromVersion });
      const keys = ledger.map((e) => e.idempotencyKey);
      assert.equal(new Set(keys).size, keys.length);
    } finally {
      registry.close();
    }
  });
});

describe('which store the settings select', () => {
  test('RETRAIN_REGISTRY_URL moves the registry and the deployment to PostgreSQL; RETRAIN_DEPLOYMENT_URL moves the deployment alone', async () => {
    const root = await tempDir('registry-select');
    const url = await postgresDatabase('select');
    const opened: Array<{ close(): void }> = [];
    try {
      const embedded = runtimeSettings({ RETRAIN_DATA_DIR: root.dir });
      assert.deepEqual([embedded.storage.registry, embedded.storage.deployments], ['sqlite', 'sqlite']);
      opened.push(openRegistry(embedded), openDeploymentStore(embedded.dataDir, embedded.storage));
      assert.ok(opened[0] instanceof SqliteRegistry && opened[1] instanceof SqliteDeploymentStore);

      const shared = runtimeSettings({ RETRAIN_DATA_DIR: root.dir, RETRAIN_REGISTRY_URL: url, RETRAIN_DEPLOYMENT_POLL_MS: '250' });
      const registry = openRegistry(shared);
      const store = openDeploymentStore(shared.dataDir, shared.storage);
      opened.push(registry, store);
      assert.ok(registry instanceof PostgresRegistry && store instanceof PostgresDeploymentStore);
      assert.equal(store.pollMs, 250);
      assert.deepEqual(registry.listModels(), []);

      const split = runtimeSettings({ RETRAIN_DATA_DIR: root.dir, RETRAIN_DEPLOYMENT_URL: url });
      assert.deepEqual([split.storage.registry, split.storage.deployments], ['sqlite', 'postgres']);
      assert.throws(() => runtimeSettings({ RETRAIN_REGISTRY_URL: 'mysql://u:hunter2@db/x' }), (err: Error) => /postgres:\/\//.test(err.message) && !err.message.includes('hunter2'));
    } finally {
      for (const o of opened) o.close();
      await root.cleanup();
    }
  });
});

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sha256File } from '../../src/backends/models/index.js';
import { ledgerEntries, type Registry, RegistryError, type RegistryErrorCode, showModel, SqliteRegistry } from '../../src/backends/registry/index.js';
import { SCHEMA_VERSION } from '../../src/backends/registry/migrations.js';
import { tempDir } from '../training/fixtures.js';
import { REGISTRY_STORES, type RegistryStore } from './stores.js';

const LINEAR = {
  format: 'retrain-linear/v1',
  task: 'binary_classification',
  label: 'y',
  features: [{ name: 'x', type: 'numerical', mean: 0, std: 1, impute: 0 }],
  weights: [1],
  bias: 0,
  threshold: 0.5,
};

function code(expected: RegistryErrorCode, pattern?: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof RegistryError, `expected RegistryError, got ${String(err)}`);
    assert.equal(err.code, expected, err.message);
    if (pattern) assert.match(err.message, pattern);
    return true;
  };
}

/** The registry's behaviour, the same on every store (stores.ts). */
function registrySuite(store: RegistryStore) {
  let root: { dir: string; cleanup: () => Promise<void> };
  let where: string;
  let registry: Registry;
  let clock = Date.parse('2025-03-10T12:00:00Z');
  const now = () => new Date((clock += 1000));
  let artifactCount = 0;

  /** A fresh artifact file (distinct bytes, so distinct hashes). */
  async function artifact(bias = artifactCount): Promise<string> {
    const dir = path.join(root.dir, 'artifacts', `a${++artifactCount}`);
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, 'model.json');
    await writeFile(file, JSON.stringify({ ...LINEAR, bias }));
    return file;
  }
  const register = async (model: string, extra: Record<string, unknown> = {}) =>
    registry.registerVersion({ model, artifactUri: await artifact(), metrics: { accuracy: 0.8 + artifactCount / 100 }, trainer: 'builtin', ...extra });
  const who = { actor: 'alice', reason: 'better AUC' };

  before(async () => {
    root = await tempDir('registry');
  });
  beforeEach(async () => {
    registry?.close();
    ({ registry, where } = await store.open({ now, dir: root.dir }));
  });
  after(async () => {
    registry.close();
    await root.cleanup();
  });

  test('versions number per model and keep their metadata', async () => {
    const file = await artifact();
    const v1 = await registry.registerVersion({
      model: 'fraud', artifactUri: file, metrics: { accuracy: 0.91, roc_auc: null }, datasetId: 'ds-1', referenceProfile: { version: 1, features: { x: { bins: [1, 2] } } },
      trainer: 'builtin', params: { epochs: 20 }, costUsd: 0.25, workflowId: 'retrain-fraud', runId: 'run-1',
    });
    assert.equal(v1.version, 1);
    assert.equal(v1.format, 'retrain-linear/v1');
    assert.equal(v1.contentHash, await sha256File(file));
    assert.ok(v1.artifactUri.startsWith('file://'));
    assert.deepEqual(v1.metrics, { accuracy: 0.91, roc_auc: null });
    assert.deepEqual(v1.referenceProfile, { version: 1, features: { x: { bins: [1, 2] } } });
    assert.deepEqual(v1.params, { epochs: 20 });
    assert.equal(v1.costUsd, 0.25);
    assert.equal((await register('fraud')).version, 2);
    assert.equal((await register('churn')).version, 1);
    assert.equal((await register('fraud')).version, 3);
    assert.deepEqual(registry.listVersions('fraud').map((v) => v.version), [1, 2, 3]);
    assert.deepEqual(registry.listModels().map((m) => [m.model, m.versionCount, m.latestVersion, m.champion]), [['churn', 1, 1, null], ['fraud', 3, 3, null]]);
  });

  test('promote moves champion and previous together with a ledger entry', async () => {
    for (let i = 0; i < 3; i++) await register('fraud');
    const first = registry.promote('fraud', 1, { ...who, workflowId: 'wf', runId: 'r1' });
    assert.deepEqual([first.action, first.fromVersion, first.toVersion, first.metricsBefore], ['promote', null, 1, null]);
    registry.registerChallenger('fraud', 2, who);
    assert.deepEqual(registry.aliases('fraud'), { champion: 1, challenger: 2, previous: null });
    const second = registry.promote('fraud', 2, who);
    assert.deepEqual(registry.aliases('fraud'), { champion: 2, challenger: null, previous: 1 });
    assert.deepEqual(second.metricsBefore, registry.getVersion('fraud', 1).metrics);
    assert.deepEqual(second.metricsAfter, registry.getVersion('fraud', 2).metrics);
    assert.deepEqual(registry.getVersion('fraud', 2).aliases, ['champion']);
    assert.equal(registry.resolve('fraud', 'champion')?.version, 2);
    assert.equal(registry.resolve('fraud', 'challenger'), undefined);
    assert.deepEqual(registry.ledger({ model: 'fraud' }).map((e) => `${e.action}:${e.fromVersion}->${e.toVersion}`), ['promote:null->1', 'register_challenger:null->2', 'promote:1->2']);
    const cleared = (registry.registerChallenger('fraud', 3, who), registry.clearChallenger('fraud', { actor: 'pipeline', reason: 'gate failed' }));
    assert.deepEqual([cleared.action, cleared.fromVersion, cleared.toVersion], ['clear_challenger', 3, null]);
    assert.throws(() => registry.promote('fraud', 2, who), code('invalid_move', /already the champion/));
    assert.throws(() => registry.registerChallenger('fraud', 2, who), code('invalid_move', /is the champion/));
    assert.throws(() => registry.clearChallenger('fraud', who), code('invalid_move', /no challenger/));
  });

  test('an alias and its ledger entry commit together or not at all', async () => {
    await register('fraud');
    await register('fraud');
    registry.promote('fraud', 1, who);
    // Make the alias write fail after the ledger insert: the whole move must roll back.
    await store.query(where, store.failAliasUpdates.create);
    assert.throws(() => registry.promote('fraud', 2, who), /disk on fire/);
    await store.query(where, store.failAliasUpdates.drop);
    assert.equal(registry.ledger({ model: 'fraud' }).length, 1);
    assert.deepEqual(registry.aliases('fraud'), { champion: 1, challenger: null, previous: null });
    // Aliases cannot be moved behind the ledger's back, and the ledger is append-only.
    await assert.rejects(store.query(where, `UPDATE aliases SET version = 2 WHERE model = 'fraud'`), /need a new ledger entry/);
    await assert.rejects(store.query(where, `DELETE FROM aliases`), /cleared, not deleted/);
    await assert.rejects(store.query(where, `UPDATE ledger SET actor = 'mallory'`), /append-only/);
    await assert.rejects(store.query(where, `DELETE FROM ledger`), /append-only/);
    assert.equal(registry.ledger({ model: 'fraud' })[0].actor, 'alice');
  });

  test('rollback swaps champion and previous back', async () => {
    await register('fraud');
    await register('fraud');
    assert.throws(() => registry.rollback('fraud', who), code('invalid_move', /no previous version/));
    registry.promote('fraud', 1, who);
    registry.promote('fraud', 2, who);
    const entry = registry.rollback('fraud', { actor: 'rollout', reason: 'accuracy dropped 7%', workflowId: 'rollout-fraud' });
    assert.deepEqual([entry.action, entry.fromVersion, entry.toVersion, entry.workflowId], ['rollback', 2, 1, 'rollout-fraud']);
    assert.deepEqual(registry.aliases('fraud'), { champion: 1, challenger: null, previous: 2 });
  });

  test('idempotency keys: a retried registration or move is applied once', async () => {
    const file = await artifact();
    const input = { model: 'fraud', artifactUri: file, metrics: { accuracy: 0.9 }, trainer: 'builtin', idempotencyKey: 'wf-1/run-1/register' };
    const a = await registry.registerVersion(input);
    const b = await registry.registerVersion(input);
    assert.deepEqual(b, a);
    assert.equal(registry.listVersions('fraud').length, 1);
    await assert.rejects(registry.registerVersion({ ...input, model: 'churn' }), code('idempotency_conflict'));

    await register('fraud');
    const move = { ...who, idempotencyKey: 'wf-1/run-1/promote' };
    const first = registry.promote('fraud', 1, move);
    registry.promote('fraud', 2, who);
    const replay = registry.promote('fraud', 1, move);
    assert.deepEqual(replay, first);
    assert.equal(registry.aliases('fraud').champion, 2, 'the replay changed nothing');
    assert.equal(registry.ledger({ model: 'fraud' }).length, 2);
    assert.throws(() => registry.rollback('fraud', move), code('idempotency_conflict', /already used for promote/));
  });

  test('spend per month, once per idempotency key', async () => {
    const march = new Date('2025-03-15T10:00:00Z');
    assert.deepEqual(registry.recordSpend('fraud', 1.5, { idempotencyKey: 'k1', at: march }).recorded, true);
    assert.deepEqual(registry.recordSpend('fraud', 1.5, { idempotencyKey: 'k1', at: march }).recorded, false);
    registry.recordSpend('fraud', 2.25, { idempotencyKey: 'k2', at: new Date('2025-03-31T23:59:59Z') });
    registry.recordSpend('fraud', 10, { idempotencyKey: 'k3', at: new Date('2025-04-01T00:00:00Z') });
    registry.recordSpend('churn', 4, { idempotencyKey: 'k4', at: march });
    assert.equal(registry.monthlySpend('fraud', '2025-03'), 3.75);
    assert.equal(registry.monthlySpend('fraud', new Date('2025-04-20T00:00:00Z')), 10);
    assert.equal(registry.monthlySpend(undefined, '2025-03'), 7.75);
    assert.equal(registry.monthlySpend('fraud', '2025-05'), 0);
    assert.throws(() => registry.monthlySpend('fraud', 'March'), code('invalid_input'));
    assert.throws(() => registry.recordSpend('fraud', -1, { idempotencyKey: 'k5' }), code('invalid_input'));
    assert.throws(() => registry.recordSpend('churn', 1, { idempotencyKey: 'k1' }), code('idempotency_conflict'));
  });

  test('content hashes: a mismatch is refused at registration and at load', async () => {
    const file = await artifact();
    await assert.rejects(registry.registerVersion({ model: 'fraud', artifactUri: file, metrics: {}, trainer: 'builtin', contentHash: 'f'.repeat(64) }), code('hash_mismatch'));
    const v = await registry.registerVersion({ model: 'fraud', artifactUri: file, metrics: {}, trainer: 'builtin', contentHash: await sha256File(file) });
    const model = await registry.loadVersion('fraud', 1);
    assert.equal(model.sha256, v.contentHash);
    await writeFile(file, JSON.stringify({ ...LINEAR, bias: 42 }));
    await assert.rejects(registry.verifyArtifact('fraud', 1), code('hash_mismatch', /refusing to use a changed artifact/));
    await assert.rejects(registry.loadVersion('fraud', 1), code('hash_mismatch'));
    await rm(file);
    await assert.rejects(registry.verifyArtifact('fraud', 1), code('artifact_missing'));
  });

  test('bad input gets clear typed errors', async () => {
    await assert.rejects(registry.registerVersion({ model: 'fraud', artifactUri: path.join(root.dir, 'nope.json'), metrics: {}, trainer: 'builtin' }), code('artifact_missing'));
    await assert.rejects(registry.registerVersion({ model: 'fraud', artifactUri: await artifact(), metrics: { auc: 'high' } as never, trainer: 'builtin' }), code('invalid_input', /metrics\.auc/));
    assert.throws(() => registry.getVersion('ghost', 1), code('unknown_model', /unknown model "ghost"/));
    assert.throws(() => registry.promote('ghost', 1, who), code('unknown_model'));
    await register('fraud');
    await register('churn');
    assert.throws(() => registry.getVersion('fraud', 7), code('unknown_version', /has no version 7/));
    assert.throws(() => registry.promote('fraud', 7, who), code('unknown_version'));
    assert.throws(() => registry.promote('fraud', { model: 'churn', version: 1 }, who), code('cross_model', /belongs to model "churn"/));
    assert.throws(() => registry.promote('fraud', 1, { actor: '', reason: 'x' }), code('invalid_input', /actor/));
    assert.throws(() => registry.resolve('fraud', 'best'), code('invalid_input'));
    assert.equal(registry.ledger().length, 0, 'nothing was written by the refused moves');
  });

  test('schema version, and everything persists across reopen without migrating again', async () => {
    await register('fraud');
    await register('fraud');
    registry.promote('fraud', 1, who);
    registry.promote('fraud', 2, who);
    registry.recordSpend('fraud', 3, { idempotencyKey: 's1', at: new Date('2025-03-02T00:00:00Z') });
    assert.equal((registry as Registry & { schemaVersion: number }).schemaVersion, SCHEMA_VERSION);
    assert.equal(SCHEMA_VERSION, 5, 'versions, aliases, ledger, spend; config revisions; monitor state; drift violations; data-quality violations');
    const before = { versions: registry.listVersions('fraud'), ledger: registry.ledger(), aliases: registry.aliases('fraud') };
    registry.close();
    registry = store.reopen(where, { now });
    assert.deepEqual(registry.listVersions('fraud'), before.versions);
    assert.deepEqual(registry.ledger(), before.ledger);
    assert.deepEqual(registry.aliases('fraud'), before.aliases);
    assert.equal(registry.monthlySpend('fraud', '2025-03'), 3);
    const [{ n }] = await store.query(where, 'SELECT count(*) AS n FROM schema_migrations');
    assert.equal(Number(n), SCHEMA_VERSION, 'migrations are not re-applied');
  });

  test('a database from newer code is refused', async () => {
    await store.query(where, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'future', 'x')`);
    assert.throws(() => store.reopen(where), code('schema_too_new', /version 99 is newer/));
  });

  test('CLI query functions return plain JSON-ready objects', async () => {
    await register('fraud', { referenceProfile: { big: true } });
    await register('fraud');
    registry.promote('fraud', 2, who);
    registry.recordSpend('fraud', 1.25, { idempotencyKey: 's', at: new Date() });
    const detail = showModel(registry, 'fraud');
    assert.deepEqual(JSON.parse(JSON.stringify(detail)), detail);
    assert.deepEqual(detail.aliases, { champion: 2, challenger: null, previous: null });
    assert.equal(detail.versions[0].referenceProfile, '(stored)');
    assert.equal(detail.spendThisMonth, 1.25);
    assert.equal(ledgerEntries(registry, { model: 'fraud', limit: 5 }).length, 1);
    assert.throws(() => showModel(registry, 'ghost'), code('unknown_model'));
  });

  test('several processes registering at once get distinct version numbers', async () => {
    const file = await artifact();
    const script = fileURLToPath(new URL('./register-many.ts', import.meta.url));
    // MLflow assigns the numbers over HTTP (about 0.3 s a registration here): fewer suffice to interleave.
    const each = store.name === 'MLflow' ? 6 : 15;
    const run = (tag: string) => promisify(execFile)(process.execPath, ['--import', 'tsx', script, store.name, where, file, 'shared', String(each), tag]);
    const [a, b] = await Promise.all([run('a'), run('b')]);
    const versions = [...JSON.parse(a.stdout), ...JSON.parse(b.stdout)].sort((x, y) => x - y);
    assert.deepEqual(versions, Array.from({ length: 2 * each }, (_, i) => i + 1));
  });

  test('a directory artifact URI registers its model file', async () => {
    const dir = path.join(root.dir, 'outdir');
    await mkdir(dir, { recursive: true });
    await copyFile(await artifact(), path.join(dir, 'model.json'));
    const v = await registry.registerVersion({ model: 'fraud', artifactUri: dir, metrics: {}, trainer: 'builtin' });
    assert.ok(v.artifactUri.endsWith('/outdir/model.json'));
  });
}

for (const store of REGISTRY_STORES) describe(`${store.name} registry`, () => registrySuite(store));

describe('SQLite registry: the file', () => {
  let root: { dir: string; cleanup: () => Promise<void> };
  before(async () => {
    root = await tempDir('registry-file');
  });
  after(async () => {
    await root.cleanup();
  });

  test('WAL mode', () => {
    const dbPath = path.join(root.dir, 'wal.db');
    const registry = new SqliteRegistry({ path: dbPath });
    try {
      registry.recordSpend('fraud', 1, { idempotencyKey: 'k' });
      assert.equal(registry.db.pragma('journal_mode', { simple: true }), 'wal');
      assert.ok(existsSync(`${dbPath}-wal`));
    } finally {
      registry.close();
    }
  });

  test('defaults to <dataDir>/registry.db', () => {
    const previous = process.env.RETRAIN_DATA_DIR;
    process.env.RETRAIN_DATA_DIR = path.join(root.dir, 'data-dir');
    try {
      const r = new SqliteRegistry();
      assert.equal(r.path, path.join(root.dir, 'data-dir', 'registry.db'));
      r.close();
    } finally {
      if (previous === undefined) delete process.env.RETRAIN_DATA_DIR;
      else process.env.RETRAIN_DATA_DIR = previous;
    }
  });
});

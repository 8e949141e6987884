import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { artifactCacheDir, localArtifact, openArtifactStore } from '../../src/backends/artifacts/index.js';
import { loadModel, ModelLoadError, sha256Hex } from '../../src/backends/models/index.js';
import { ConfigError } from '../../src/config/load.js';
import { runtimeSettings } from '../../src/config/settings.js';
import { fraudReferenceModel } from '../../src/demo/simulator/reference-model.js';
import { useS3 } from '../helpers/s3.js';

/**
 * The s3 artifact store against a real S3 server (versitygw): content-addressed upload, idempotent
 * under retry; download once into the cache, hash checked before anything reads it; a changed or
 * missing object refused naming its URI.
 */
const s3 = useS3();

describe('RETRAIN_ARTIFACT_STORE', () => {
  it('is file by default, s3 with a bucket and prefix, and a bad value is one message naming the variable', () => {
    assert.deepEqual(runtimeSettings({}).artifactStore, { kind: 'file' });
    assert.deepEqual(runtimeSettings({ RETRAIN_ARTIFACT_STORE: 's3://models' }).artifactStore, { kind: 's3', bucket: 'models', prefix: '' });
    assert.deepEqual(runtimeSettings({ RETRAIN_ARTIFACT_STORE: 's3://models/team/a/' }).artifactStore, { kind: 's3', bucket: 'models', prefix: 'team/a' });
    for (const bad of ['models', 'gs://models/x', 's3://', 's3://Bad_Bucket/x']) {
      assert.throws(
        () => runtimeSettings({ RETRAIN_ARTIFACT_STORE: bad }),
        (err: unknown) => err instanceof ConfigError && /RETRAIN_ARTIFACT_STORE: expected s3:\/\/bucket/.test(err.message) && err.message.includes(JSON.stringify(bad)),
      );
    }
  });
});

describe('s3 artifact store (versitygw)', () => {
  let dir: string;
  let model: string;
  let bytes: string;
  const saved = { dataDir: process.env.RETRAIN_DATA_DIR, store: process.env.RETRAIN_ARTIFACT_STORE };

  before(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'retrain-s3-store-'));
    process.env.RETRAIN_DATA_DIR = dir;
    process.env.RETRAIN_ARTIFACT_STORE = `s3://${s3().bucket}/retrain/artifacts`;
    model = path.join(dir, 'artifacts', 'fraud-detector', 'run-1', 'model.json');
    mkdirSync(path.dirname(model), { recursive: true });
    bytes = JSON.stringify(fraudReferenceModel());
    writeFileSync(model, bytes);
  });
  after(() => {
    restoreEnv('RETRAIN_DATA_DIR', saved.dataDir);
    restoreEnv('RETRAIN_ARTIFACT_STORE', saved.store);
    rmSync(dir, { recursive: true, force: true });
  });

  const store = () => openArtifactStore({ dataDir: dir, artifactStore: { kind: 's3', bucket: s3().bucket, prefix: 'retrain/artifacts' } });
  const cache = () => artifactCacheDir(path.join(dir, 'artifacts'));

  it('uploads under a content-addressed key, once: the same bytes again upload nothing', async () => {
    const sha = sha256Hex(Buffer.from(bytes));
    const first = await store().put(model);
    assert.equal(first.uri, `s3://${s3().bucket}/retrain/artifacts/sha256/${sha}/model.json`);
    assert.equal(first.sha256, sha);
    assert.equal(first.uploaded, true);
    const head = await s3().client.send(new HeadObjectCommand({ Bucket: s3().bucket, Key: `retrain/artifacts/sha256/${sha}/model.json` }));
    assert.equal(head.Metadata?.sha256, sha);
    // A retry (another attempt's copy of the same bytes, under another name) finds the object.
    const copy = path.join(dir, 'elsewhere.json');
    writeFileSync(copy, bytes);
    const again = await store().put(copy);
    assert.deepEqual(again, { ...first, uploaded: false });
    const object = await s3().client.send(new GetObjectCommand({ Bucket: s3().bucket, Key: `retrain/artifacts/sha256/${sha}/model.json` }));
    assert.equal(await object.Body!.transformToString(), bytes);
  });

  it('downloads an s3:// artifact once into the cache, checked, and loads it', async () => {
    const { uri, sha256 } = await store().put(model);
    rmSync(cache(), { recursive: true, force: true });
    const local = await localArtifact(uri);
    assert.equal(local, path.join(cache(), sha256, 'model.json'));
    assert.deepEqual(readdirSync(cache()), [sha256], 'no temporary file is left in the cache');
    // Served from the cache from now on: the object can go.
    const loaded = await loadModel(uri, { sha256 });
    assert.equal(loaded.sha256, sha256);
    assert.equal(loaded.format, 'retrain-linear/v1');
    await loaded.close();
  });

  it('refuses an object whose bytes are not the expected ones (hash_mismatch naming the URI), caching nothing', async () => {
    const { uri, sha256 } = await store().put(model);
    rmSync(cache(), { recursive: true, force: true });
    const key = uri.slice(`s3://${s3().bucket}/`.length);
    const tampered = JSON.stringify({ ...fraudReferenceModel(), intercept: 42 });
    await s3().client.send(new PutObjectCommand({ Bucket: s3().bucket, Key: key, Body: tampered, Metadata: { sha256 } }));
    await assert.rejects(localArtifact(uri), (err: unknown) => err instanceof ModelLoadError && err.code === 'hash_mismatch' && err.message.includes(uri) && err.message.includes(sha256));
    await assert.rejects(loadModel(uri, { sha256 }), (err: unknown) => err instanceof ModelLoadError && err.code === 'hash_mismatch');
    assert.equal(existsSync(path.join(cache(), sha256)), false);
    assert.deepEqual(existsSync(cache()) ? readdirSync(cache()) : [], [], 'the refused download left no file');
    // The store notices the changed object (its recorded hash is right, its bytes are not: the
    // upload's checksum is what the server checks) only by a download; a put of the right bytes
    // over it repairs the key for the next reader.
    await s3().client.send(new PutObjectCommand({ Bucket: s3().bucket, Key: key, Body: bytes, Metadata: { sha256 } }));
    assert.equal(await localArtifact(uri), path.join(cache(), sha256, 'model.json'));
  });

  it('refuses a missing object as not_found naming the URI', async () => {
    const uri = `s3://${s3().bucket}/retrain/artifacts/sha256/${'0'.repeat(64)}/model.json`;
    await assert.rejects(localArtifact(uri), (err: unknown) => err instanceof ModelLoadError && err.code === 'not_found' && err.message.includes(uri));
    await assert.rejects(loadModel(uri), (err: unknown) => err instanceof ModelLoadError && err.code === 'not_found');
  });

  it('is read only by a process configured for it: without RETRAIN_ARTIFACT_STORE an s3:// URI is unsupported, as before', async () => {
    const uri = (await store().put(model)).uri;
    delete process.env.RETRAIN_ARTIFACT_STORE;
    try {
      await assert.rejects(loadModel(uri), (err: unknown) => err instanceof ModelLoadError && err.code === 'unsupported' && /RETRAIN_ARTIFACT_STORE is not set/.test(err.message));
    } finally {
      process.env.RETRAIN_ARTIFACT_STORE = `s3://${s3().bucket}/retrain/artifacts`;
    }
  });

  it('knows which URIs are its own', () => {
    const s = store();
    assert.equal(s.owns(`s3://${s3().bucket}/retrain/artifacts/sha256/${'a'.repeat(64)}/model.json`), true);
    assert.equal(s.owns(`s3://${s3().bucket}/other/model.json`), false);
    assert.equal(s.owns(`s3://another-bucket/retrain/artifacts/model.json`), false);
    assert.equal(s.owns(`s3://${s3().bucket}/retrain/artifacts/../secrets/model.json`), false);
  });
});

function restoreEnv(name: string, value: string | undefined): void {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}

import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openArtifactStore } from '../../src/backends/artifacts/index.js';
import { sha256Hex } from '../../src/backends/models/index.js';
import { useS3 } from '../helpers/s3.js';
import { admin, features, predict, startTestGateway, testEnv, type Running, type TestEnv } from './helpers.js';

/**
 * The gateway serving a version whose artifact is only in object storage (a replica on another
 * host: no trainer output, no cache): it downloads the s3:// URI into its cache, checks the hash
 * and serves it, and a restart restores it from S3 again. An s3:// URI outside the configured
 * store, a missing object or other bytes than the pinned hash are refused (422), the running
 * deployment keeps serving. Against a real S3 server (versitygw).
 */
const s3 = useS3();
const PREFIX = 'gateway/artifacts';

describe('gateway: artifacts in S3', () => {
  let env: TestEnv;
  let gw: Running | undefined;
  let v1: { uri: string; sha256: string };
  let v2: { uri: string; sha256: string };
  const saved = process.env.RETRAIN_ARTIFACT_STORE;
  const cache = () => path.join(env.dir, 'artifacts', '.s3-cache');

  before(async () => {
    process.env.RETRAIN_ARTIFACT_STORE = `s3://${s3().bucket}/${PREFIX}`;
    env = testEnv();
    const store = openArtifactStore({ dataDir: env.dir, artifactStore: { kind: 's3', bucket: s3().bucket, prefix: PREFIX } });
    v1 = await store.put(env.v1);
    v2 = await store.put(env.v2);
    assert.equal(v1.sha256, sha256Hex(readFileSync(env.v1)));
    // Only S3 has them now.
    rmSync(env.v1);
    rmSync(env.v2);
    rmSync(cache(), { recursive: true, force: true });
  });
  after(async () => {
    await gw?.close();
    env?.cleanup();
    if (saved === undefined) delete process.env.RETRAIN_ARTIFACT_STORE;
    else process.env.RETRAIN_ARTIFACT_STORE = saved;
  });

  it('loads and serves a champion whose artifact is only in S3', async () => {
    gw = await startTestGateway(env);
    const put = await admin(gw.url, 'PUT', '/champion', { version: 1, artifactUri: v1.uri, sha256: v1.sha256 });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.ok(existsSync(path.join(cache(), v1.sha256, 'model.json')), 'downloaded into the cache under the data dir');
    const answer = await predict(gw.url, { entity_id: 'e1', features: features(3) });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.equal(answer.body.model_version, '1', JSON.stringify(answer.body));
    const dep = await admin(gw.url, 'GET', '/deployment');
    assert.equal(dep.body.champion.artifactUri, v1.uri, 'the deployment names the s3:// URI, not the cached file');
  });

  it('refuses an s3:// URI outside the store, a missing object and changed bytes; the champion keeps serving', async () => {
    const refused = async (body: object, code: string, pattern: RegExp) => {
      const r = await admin(gw!.url, 'PUT', '/challenger', { version: 2, weight: 0.5, ...body });
      assert.equal(r.status, 422, JSON.stringify(r.body));
      assert.equal(r.body.error, code, JSON.stringify(r.body));
      assert.match(JSON.stringify(r.body), pattern);
    };
    await refused({ artifactUri: `s3://${s3().bucket}/elsewhere/sha256/${v2.sha256}/model.json`, sha256: v2.sha256 }, 'artifact_outside_store', /not in the artifact store/);
    const missing = `s3://${s3().bucket}/${PREFIX}/sha256/${'0'.repeat(64)}/model.json`;
    await refused({ artifactUri: missing }, 'artifact_not_found', /no such object/);
    // v1's bytes are in the cache, but the URI names v2's: refused, not served from the cache.
    await refused({ artifactUri: v2.uri, sha256: v1.sha256 }, 'artifact_hash_mismatch', new RegExp(`names content hash ${v2.sha256}, expected ${v1.sha256}`));
    assert.equal(existsSync(path.join(cache(), v1.sha256, 'model.json')), true);
    assert.equal((await predict(gw!.url, { entity_id: 'e1', features: features(3) })).body.model_version, '1');
    // An unreachable store is not the artifact's fault: 503, which the deploy activity retries.
    const endpoint = process.env.AWS_ENDPOINT_URL;
    process.env.AWS_ENDPOINT_URL = 'http://127.0.0.1:1';
    try {
      const r = await admin(gw!.url, 'PUT', '/challenger', { version: 2, weight: 0.5, artifactUri: v2.uri, sha256: v2.sha256 });
      assert.equal(r.status, 503, JSON.stringify(r.body));
      assert.equal(r.body.error, 'artifact_store_unavailable');
      assert.match(r.body.message, new RegExp(`could not download ${v2.uri}`));
    } finally {
      process.env.AWS_ENDPOINT_URL = endpoint;
    }
    // The right hash: the challenger loads from S3 too.
    const ok = await admin(gw!.url, 'PUT', '/challenger', { version: 2, weight: 0.5, artifactUri: v2.uri, sha256: v2.sha256 });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
  });

  it('a restarted gateway without the cache restores its deployment from S3', async () => {
    await gw!.close();
    gw = undefined;
    rmSync(cache(), { recursive: true, force: true });
    gw = await startTestGateway(env);
    const dep = await admin(gw.url, 'GET', '/deployment');
    assert.equal(dep.body.champion?.version, '1', JSON.stringify(dep.body));
    assert.equal(dep.body.challenger?.version, '2', JSON.stringify(dep.body));
    assert.ok(existsSync(path.join(cache(), v2.sha256, 'model.json')), 'both downloaded again');
    const answer = await predict(gw.url, { entity_id: 'e2', features: features(5) });
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
  });
});

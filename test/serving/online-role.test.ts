import assert from 'node:assert/strict';
import path from 'node:path';
import Database from 'better-sqlite3';
import { after, before, describe, test } from 'node:test';
import { loadModel } from '../../src/backends/models/index.js';
import type { ModelSpec } from '../../src/config/schema.js';
import { SqliteDeploymentStore } from '../../src/serving/deployment-store.js';
import { admin, features, fraudSpec, predict, startTestGateway, testEnv, useTwoReplicas, type Running, type TestEnv } from './helpers.js';

/**
 * The gateway's `online` role (learning: online | hybrid): the learner's copy of the champion,
 * served alone or blended with it, persisted with the deployment, followed by replicas, and
 * dropped when the champion changes.
 */
const hybrid = (): ModelSpec => ({ ...fraudSpec(), learning: { ...fraudSpec().learning, mode: 'hybrid' } });
const row = features(3);

async function scoreOf(file: string): Promise<number> {
  const model = await loadModel(file);
  const [p] = await model.predict([row]);
  await model.close();
  return p.score;
}

async function served(url: string): Promise<number> {
  const answer = await predict<{ score: number }>(url, { features: row });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  return answer.body.score;
}

describe('the online role on one gateway (SQLite)', () => {
  let env: TestEnv;
  let gw: Running;
  before(async () => {
    env = testEnv();
    gw = await startTestGateway(env, { config: { models: [hybrid()] } });
  });
  after(async () => {
    await gw?.close();
    env.cleanup();
  });

  test('hybrid serves 0.7 × champion + 0.3 × online copy, keeps the champion version, and survives a restart', async () => {
    assert.equal((await admin(gw.url, 'PUT', '/champion', { version: 1, artifactUri: env.v1 })).status, 200);
    const [batch, online] = [await scoreOf(env.v1), await scoreOf(env.v2)];
    assert.ok(Math.abs((await served(gw.url)) - batch) < 1e-12, 'no copy yet: the champion alone');

    const pushed = await admin(gw.url, 'PUT', '/online', { version: '1+online.5', artifactUri: env.v2 });
    assert.equal(pushed.status, 200, JSON.stringify(pushed.body));
    assert.deepEqual({ version: pushed.body.online.version, serving: pushed.body.online.serving }, { version: '1+online.5', serving: true });
    assert.ok(Math.abs((await served(gw.url)) - (0.7 * batch + 0.3 * online)) < 1e-12);
    const answer = await predict<{ model_version: string }>(gw.url, { features: row });
    assert.equal(answer.body.model_version, '1', 'the lake and the monitor judge "the champion"');
    assert.equal((await admin(gw.url, 'PUT', '/online', { version: '1+online.5', artifactUri: env.v2 })).status, 200, 'the same push again is a no-op');

    // A restart restores the copy from serving.db.
    await gw.close();
    gw = await startTestGateway(env, { config: { models: [hybrid()] } });
    const restored = (await admin(gw.url, 'GET', '/deployment')).body;
    assert.equal(restored.online?.version, '1+online.5');
    assert.ok(Math.abs((await served(gw.url)) - (0.7 * batch + 0.3 * online)) < 1e-12);
    assert.deepEqual((restored.events as Array<{ action: string }>).slice(0, 2).map((e) => e.action), ['set_online', 'set_champion']);
  });

  test('refuses a copy of another champion or a version that is not a copy, and changes nothing', async () => {
    const other = await admin(gw.url, 'PUT', '/online', { version: '7+online.3', artifactUri: env.v2 });
    assert.equal(other.status, 409);
    assert.match(other.body.message, /grew from v7, but the champion is v1/);
    const notCopy = await admin(gw.url, 'PUT', '/online', { version: '2', artifactUri: env.v2 });
    assert.equal(notCopy.status, 400);
    assert.match(notCopy.body.message, /expected a version "<champion>\+online.<updates>"/);
    assert.equal((await admin(gw.url, 'GET', '/deployment')).body.online?.version, '1+online.5');
  });

  test('a new champion drops the old champion\'s copy; DELETE clears it', async () => {
    assert.equal((await admin(gw.url, 'PUT', '/champion', { version: 2, artifactUri: env.v2 })).status, 200);
    assert.equal((await admin(gw.url, 'GET', '/deployment')).body.online, null);
    assert.ok(Math.abs((await served(gw.url)) - (await scoreOf(env.v2))) < 1e-12);
    assert.equal((await admin(gw.url, 'PUT', '/online', { version: '2+online.1', artifactUri: env.v1 })).status, 200);
    assert.equal((await admin(gw.url, 'DELETE', '/online')).status, 200);
    assert.equal((await admin(gw.url, 'GET', '/deployment')).body.online, null);
    assert.equal((await admin(gw.url, 'DELETE', '/online')).status, 200, 'nothing to clear is success');
  });

  test('a serving.db from before online learning is migrated in place, its rows kept', () => {
    const file = path.join(env.dir, 'old-serving.db');
    const old = new Database(file);
    old.exec(`CREATE TABLE deployment (model TEXT NOT NULL, role TEXT NOT NULL CHECK (role IN ('champion', 'challenger', 'previous')), version TEXT NOT NULL,
      artifact_uri TEXT NOT NULL, sha256 TEXT NOT NULL, weight REAL NOT NULL DEFAULT 0, shadow INTEGER NOT NULL DEFAULT 0, updated_at TEXT NOT NULL, PRIMARY KEY (model, role));
      INSERT INTO deployment VALUES ('fraud', 'champion', '3', 'file:///m.json', '${'a'.repeat(64)}', 100, 0, '2026-01-01T00:00:00.000Z');`);
    old.close();
    const store = new SqliteDeploymentStore(file);
    assert.equal(store.loadAll().get('fraud')?.champion?.version, '3');
    const online = { version: '3+online.1', artifactUri: 'file:///o.json', sha256: 'b'.repeat(64) };
    store.save('fraud', { ...store.loadAll().get('fraud'), online }, 'set_online', {});
    assert.deepEqual(store.loadAll().get('fraud')?.online, online);
    store.close();
  });
});

describe('the online role across gateway replicas (PostgreSQL)', () => {
  const replicas = useTwoReplicas('online', { config: { models: [hybrid()] } });

  test('one learner\'s push is served by every replica: they answer alike instead of each learning alone', async () => {
    const [a, b, envA] = [replicas.a(), replicas.b(), replicas.envA()];
    assert.equal((await admin(a.url, 'PUT', '/champion', { version: 1, artifactUri: envA.v1 })).status, 200);
    assert.equal((await admin(a.url, 'PUT', '/online', { version: '1+online.9', artifactUri: envA.v2 })).status, 200);
    const end = Date.now() + 10_000;
    for (;;) {
      const d = (await admin(b.url, 'GET', '/deployment')).body;
      if (d.online?.version === '1+online.9' && d.online.serving) break;
      assert.ok(Date.now() < end, 'replica B never picked up the online copy');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(Math.abs((await served(b.url)) - (await served(a.url))) < 1e-12);
  });
});

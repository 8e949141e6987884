import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type DeploymentRecord, type DeploymentStore, SqliteDeploymentStore } from '../../src/serving/deployment-store.js';
import { laggingReplicas, PostgresDeploymentStore } from '../../src/serving/deployment-store-postgres.js';
import { postgresDatabase } from '../helpers/postgres.js';
import { GatewayClient, ServingError } from '../../src/backends/serving/gateway-client.js';
import { admin, predict, features, startTestGateway, testEnv, TOKEN, useTwoReplicas, type Running, type TestEnv } from './helpers.js';

/** The gateway's deployment store: the same behaviour on SQLite (one gateway) and PostgreSQL (replicas sharing it). */
interface StoreUnderTest {
  name: string;
  /** A fresh store, and a function opening a second handle on the same data (a restart, or another replica). */
  open(dir: string): Promise<{ store: DeploymentStore; again: () => DeploymentStore }>;
}

const STORES: StoreUnderTest[] = [
  {
    name: 'SQLite',
    async open(dir) {
      const file = path.join(dir, `serving-${Math.random()}.db`);
      return { store: new SqliteDeploymentStore(file), again: () => new SqliteDeploymentStore(file) };
    },
  },
  {
    name: 'PostgreSQL',
    async open(dir) {
      const url = await postgresDatabase('deployment');
      return { store: new PostgresDeploymentStore({ url, dataDir: dir }), again: () => new PostgresDeploymentStore({ url, dataDir: dir }) };
    },
  },
];

const role = (version: string) => ({ version, artifactUri: `file:///models/v${version}/model.json`, sha256: version.repeat(64).slice(0, 64) });

for (const s of STORES) {
  describe(`${s.name} deployment store`, () => {
    let dir: string;
    const open: DeploymentStore[] = [];
    const fresh = async () => {
      const r = await s.open(dir);
      open.push(r.store);
      return { store: r.store, again: () => (open.push(r.again()), open.at(-1)!) };
    };
    before(() => {
      dir = mkdtempSync(path.join(tmpdir(), 'retrain-deployment-store-'));
    });
    after(() => {
      for (const st of open) st.close();
      rmSync(dir, { recursive: true, force: true });
    });

    test('keeps each model\'s roles, weight and shadow flag, and replaces them whole', async () => {
      const { store } = await fresh();
      assert.deepEqual([...store.loadAll()], []);
      const first: DeploymentRecord = { champion: role('1'), challenger: { ...role('2'), weight: 25, shadow: false }, updatedAt: '2026-03-01T10:00:00.000Z' };
      store.save('fraud', first, 'set_challenger', { version: '2', weight: 25 });
      store.save('churn', { champion: role('7'), updatedAt: '2026-03-01T11:00:00.000Z' }, 'set_champion', { version: '7' });
      assert.deepEqual(store.loadAll().get('fraud'), first);
      const promoted: DeploymentRecord = { champion: role('2'), previous: role('1'), updatedAt: '2026-03-01T12:00:00.000Z' };
      store.save('fraud', promoted, 'promote', { version: '2' });
      assert.deepEqual(store.loadAll().get('fraud'), promoted, 'the challenger row is gone');
      assert.deepEqual([...store.loadAll().keys()], ['churn', 'fraud']);
      const shadow: DeploymentRecord = { champion: role('2'), challenger: { ...role('3'), weight: 0, shadow: true }, previous: role('1'), updatedAt: '2026-03-01T13:00:00.000Z' };
      store.save('fraud', shadow, 'set_challenger', { version: '3', shadow: true });
      assert.deepEqual(store.loadAll().get('fraud'), shadow);
    });

    test('every change is an event (newest first) and moves the revision', async () => {
      const { store } = await fresh();
      const r0 = store.revision();
      store.save('fraud', { champion: role('1'), updatedAt: '2026-03-01T10:00:00.000Z' }, 'set_champion', { version: '1' });
      const r1 = store.revision();
      store.save('fraud', { champion: role('1'), challenger: { ...role('2'), weight: 5, shadow: false }, updatedAt: '2026-03-01T10:01:00.000Z' }, 'set_traffic', { weight: 5 });
      const r2 = store.revision();
      assert.ok(r0 < r1 && r1 < r2, `${r0} < ${r1} < ${r2}`);
      const events = store.events('fraud');
      assert.deepEqual(events.map((e) => [e.action, e.detail, e.at]), [
        ['set_traffic', { weight: 5 }, '2026-03-01T10:01:00.000Z'],
        ['set_champion', { version: '1' }, '2026-03-01T10:00:00.000Z'],
      ]);
      assert.equal(store.events('fraud', 1).length, 1);
      assert.deepEqual(store.events('nobody'), []);
    });

    test('what one handle saved, another reads without reopening (a restart, or another replica)', async () => {
      const { store, again } = await fresh();
      const other = again();
      const before = other.revision();
      store.save('fraud', { champion: role('4'), updatedAt: '2026-03-02T00:00:00.000Z' }, 'set_champion', { version: '4' });
      assert.ok(other.revision() > before);
      assert.equal(other.loadAll().get('fraud')?.champion?.version, '4');
      other.save('fraud', { champion: role('5'), previous: role('4'), updatedAt: '2026-03-02T00:01:00.000Z' }, 'set_champion', { version: '5' });
      assert.equal(store.loadAll().get('fraud')?.champion?.version, '5');
      assert.equal(store.revision(), other.revision());
    });
  });
}

describe('PostgreSQL deployment store: replicas', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'retrain-replicas-'));
  let url: string;
  const stores: PostgresDeploymentStore[] = [];
  before(async () => {
    url = await postgresDatabase('replicas');
  });
  after(() => {
    for (const s of stores) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('each replica reports what it serves; the store tells which live replicas lag', () => {
    const a = new PostgresDeploymentStore({ url, dataDir: dir });
    const b = new PostgresDeploymentStore({ url, dataDir: dir });
    stores.push(a, b);
    const v1 = { champion: role('1'), updatedAt: '2026-03-01T10:00:00.000Z' };
    a.save('fraud', v1, 'set_champion', {});
    const serving = (replica: string, rec: DeploymentRecord, revision: number) => ({
      replica, revision, models: [{ model: 'fraud', champion: rec.champion?.version ?? null, challenger: rec.challenger?.version ?? null, weight: rec.challenger?.weight ?? 0, updatedAt: rec.updatedAt ?? null }],
    });
    a.reportServing(serving('gw-a', v1, a.revision()));
    b.reportServing(serving('gw-b', v1, b.revision()));
    assert.deepEqual(laggingReplicas(a, 'fraud'), []);

    const v2 = { champion: role('1'), challenger: { ...role('2'), weight: 25, shadow: false }, updatedAt: '2026-03-01T11:00:00.000Z' };
    a.save('fraud', v2, 'set_challenger', {});
    a.reportServing(serving('gw-a', v2, a.revision()));
    assert.deepEqual(laggingReplicas(a, 'fraud').map((r) => [r.replica, r.champion, r.challenger]), [['gw-b', '1', null]], 'b has not picked up the challenger yet');
    b.reportServing(serving('gw-b', v2, b.revision()));
    assert.deepEqual(laggingReplicas(b, 'fraud'), []);
    assert.deepEqual(a.replicas('fraud').map((r) => [r.replica, r.challenger, r.weight, r.current]), [['gw-a', '2', 25, true], ['gw-b', '2', 25, true]]);
    assert.deepEqual(a.replicas('fraud', 0).length, 0, 'a replica without a recent heartbeat is not live');
  });
});

describe('two gateway replicas sharing a PostgreSQL deployment store', () => {
  const replicas = useTwoReplicas('gateways');
  let a: Running;
  let b: Running;
  let envA: TestEnv;
  before(() => {
    [a, b, envA] = [replicas.a(), replicas.b(), replicas.envA()];
  });

  async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const got = await probe();
      if (got !== undefined) return got;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  test('a change made through one replica is served by the other without a restart', async () => {
    assert.equal((await admin(a.url, 'PUT', '/champion', { version: 1, artifactUri: envA.v1 })).status, 200);
    await until('B to serve v1', async () => {
      const d = (await admin(b.url, 'GET', '/deployment')).body;
      return d.champion?.version === '1' ? d : undefined;
    });
    assert.equal((await predict(b.url, { features: features(1) })).status, 200);

    // Through B this time: A follows, and the split is the same on both.
    assert.equal((await admin(b.url, 'PUT', '/challenger', { version: 2, artifactUri: envA.v2, weight: 30 })).status, 200);
    await until('A to serve the challenger', async () => {
      const d = (await admin(a.url, 'GET', '/deployment')).body;
      return d.challenger?.version === '2' && d.challenger.weight === 30 ? true : undefined;
    });
    const store = a.gateway.ctx.store;
    await until('both replicas to report the new split', async () => {
      const live = store.replicas('fraud-detector');
      return live.length === 2 && laggingReplicas(store, 'fraud-detector').length === 0 ? live : undefined;
    });

    assert.equal((await admin(a.url, 'POST', '/promote', { version: 2 })).status, 200);
    await until('B to serve the promoted champion', async () => {
      const d = (await admin(b.url, 'GET', '/deployment')).body;
      return d.champion?.version === '2' && d.challenger === null ? true : undefined;
    });
  });

  test('a change is acknowledged once every live replica serves it; a lagging one is named and the gateway client retries', async () => {
    const store = a.gateway.ctx.store;
    // A third replica that stopped following (its heartbeat is fresh, its deployment old).
    const ghost = (updatedAt: string) => store.reportServing({ replica: 'gw-ghost', revision: 0, models: [{ model: 'fraud-detector', champion: '1', challenger: null, weight: 0, updatedAt }] });
    ghost('2000-01-01T00:00:00.000Z');
    const answer = await admin(a.url, 'PUT', '/challenger', { version: 1, artifactUri: envA.v1, weight: 10 });
    assert.equal(answer.status, 200, 'the change itself is saved and served by the replicas that follow');
    assert.deepEqual({ acknowledged: answer.body.replicas.acknowledged, lagging: answer.body.replicas.lagging }, { acknowledged: false, lagging: ['gw-ghost'] });
    const client = new GatewayClient(a.url, TOKEN);
    const refused = await client.deployChallenger('fraud-detector', { version: 1, artifactUri: envA.v1, weight: 10 }).then(() => undefined, (err: ServingError) => err);
    assert.ok(refused instanceof ServingError && refused.retryable, 'a run retries until the fleet serves the change');
    assert.match(refused.message, /1 of 3 live replicas do not serve it yet \(gw-ghost\)/);
    // The ghost follows again (it polls, as a replica does): the next change is acknowledged once it serves it.
    const following = setInterval(() => ghost(store.loadAll().get('fraud-detector')!.updatedAt!), 50);
    try {
      await client.deployChallenger('fraud-detector', { version: 1, artifactUri: envA.v1, weight: 20 });
      const acknowledged = await admin(b.url, 'PUT', '/traffic', { weight: 0 });
      assert.deepEqual(acknowledged.body.replicas, { acknowledged: true, live: 3, lagging: [] });
    } finally {
      clearInterval(following);
    }
  });
});

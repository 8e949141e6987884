import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { admin, call, deploy, features, predict, startTestGateway, testEnv, TOKEN, writeModel, type Running, type TestEnv } from './helpers.js';

const versionsOf = async (url: string, n = 200) => {
  const res = await predict(url, { instances: Array.from({ length: n }, (_, i) => ({ entity_id: `user-${i}`, features: features(i) })) });
  assert.equal(res.status, 200);
  const counts: Record<string, number> = {};
  for (const p of res.body.predictions) counts[`${p.variant}:${p.model_version}`] = (counts[`${p.variant}:${p.model_version}`] ?? 0) + 1;
  return counts;
};

describe('control plane', () => {
  describe('authentication', () => {
    let env: TestEnv;
    let gw: Running;
    before(async () => {
      env = testEnv();
      // 28 refused attempts below: more than the default budget of failed attempts (tested in security.test.ts).
      gw = await startTestGateway(env, { limits: { adminFailuresPerMinute: 100 } });
    });
    after(async () => {
      await gw.close();
      env.cleanup();
    });

    test('no token or a wrong token → 401 on every admin route', async () => {
      const routes: Array<[string, string, unknown?]> = [
        ['PUT', '/champion', { version: 1, artifactUri: env.v1 }],
        ['PUT', '/challenger', { version: 2, artifactUri: env.v2, weight: 10 }],
        ['PUT', '/traffic', { weight: 10 }],
        ['POST', '/promote'],
        ['POST', '/rollback'],
        ['GET', '/deployment'],
        ['GET', '/live-metrics'],
      ];
      for (const [method, route, body] of routes) {
        for (const token of [null, 'wrong', `${TOKEN}x`, TOKEN.slice(0, -1)]) {
          const res = await admin(gw.url, method, route, body, token);
          assert.equal(res.status, 401, `${method} ${route} with ${token}`);
          assert.match(res.body.message, token === null ? /missing bearer token/ : /invalid admin token/);
          assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="retrain-admin"');
        }
      }
      const basic = await call(`${gw.url}/v1/admin/models/fraud-detector/deployment`, 'GET', undefined, { authorization: `Basic ${TOKEN}` });
      assert.equal(basic.status, 401);
      assert.equal((await admin(gw.url, 'GET', '/deployment')).status, 200);
    });

    test('without RETRAIN_ADMIN_TOKEN the control plane refuses everything with 503', async () => {
      const closedEnv = testEnv();
      const closed = await startTestGateway(closedEnv, { adminToken: '' });
      try {
        for (const token of [null, TOKEN, '']) {
          const res = await admin(closed.url, 'GET', '/deployment', undefined, token);
          assert.equal(res.status, 503);
          assert.match(res.body.message, /control plane is disabled: start the gateway with RETRAIN_ADMIN_TOKEN/);
        }
      } finally {
        await closed.close();
        closedEnv.cleanup();
      }
    });
  });

  describe('deployments', () => {
    let env: TestEnv;
    before(() => {
      env = testEnv();
    });
    after(() => env.cleanup());

    test('champion, challenger, traffic, promote and rollback', async () => {
      const gw = await startTestGateway(env);
      try {
        const noChampion = await predict(gw.url, { features: features(1) });
        assert.equal(noChampion.status, 503);
        assert.match(noChampion.body.message, /no champion deployed/);
        const early = await admin(gw.url, 'PUT', '/challenger', { version: 2, artifactUri: env.v2, weight: 10 });
        assert.equal(early.status, 409);

        await deploy(gw.url, env, { weight: 30 });
        const dep = (await admin(gw.url, 'GET', '/deployment')).body;
        assert.equal(dep.champion.version, '1');
        assert.equal(dep.champion.weight, 70);
        assert.equal(dep.challenger.version, '2');
        assert.equal(dep.challenger.weight, 30);
        assert.equal(dep.champion.sha256, createHash('sha256').update(readFileSync(env.v1)).digest('hex'));
        assert.deepEqual(
          dep.events.map((e: { action: string }) => e.action),
          ['set_challenger', 'set_champion'],
        );
        const split = await versionsOf(gw.url, 1000);
        assert.ok(split['challenger:2'] > 220 && split['challenger:2'] < 380, JSON.stringify(split));

        const bad = await admin(gw.url, 'PUT', '/traffic', { weight: 101 });
        assert.equal(bad.status, 400);
        assert.match(bad.body.message, /weight: expected 0\.\.100/);

        assert.equal((await admin(gw.url, 'POST', '/promote', { version: 7 })).status, 409);
        const promoted = await admin(gw.url, 'POST', '/promote');
        assert.equal(promoted.status, 200);
        assert.equal(promoted.body.champion.version, '2');
        assert.equal(promoted.body.champion.weight, 100);
        assert.equal(promoted.body.challenger, null);
        assert.equal(promoted.body.previous.version, '1');
        assert.deepEqual(await versionsOf(gw.url), { 'champion:2': 200 });

        // Retries are safe: rolling back with no challenger, or promoting the version already champion, changes nothing.
        const events = (await admin(gw.url, 'GET', '/deployment')).body.events.length;
        assert.equal((await admin(gw.url, 'POST', '/rollback')).status, 200);
        assert.equal((await admin(gw.url, 'POST', '/promote', { version: 2 })).status, 200);
        assert.equal((await admin(gw.url, 'POST', '/promote')).status, 409);
        assert.equal((await admin(gw.url, 'GET', '/deployment')).body.events.length, events);

        const back = await admin(gw.url, 'POST', '/rollback', { to: 'previous' });
        assert.equal(back.status, 200);
        assert.equal(back.body.champion.version, '1');
        assert.equal(back.body.previous.version, '2');
        assert.deepEqual(await versionsOf(gw.url), { 'champion:1': 200 });

        await admin(gw.url, 'PUT', '/challenger', { version: 3, artifactUri: env.v2, weight: 50 });
        const removed = await admin(gw.url, 'POST', '/rollback');
        assert.equal(removed.body.challenger, null);
        assert.deepEqual(await versionsOf(gw.url), { 'champion:1': 200 });
      } finally {
        await gw.close();
      }
    });

    test('a restart serves the same split from serving.db', async () => {
      const first = await startTestGateway(env);
      let before: Record<string, number>;
      let dep: unknown;
      try {
        await admin(first.url, 'PUT', '/challenger', { version: 2, artifactUri: env.v2, weight: 25 });
        before = await versionsOf(first.url, 500);
        dep = (await admin(first.url, 'GET', '/deployment')).body;
      } finally {
        await first.close();
      }
      const second = await startTestGateway(env);
      try {
        assert.deepEqual(await versionsOf(second.url, 500), before);
        const again = (await admin(second.url, 'GET', '/deployment')).body;
        assert.deepEqual({ ...again, events: undefined }, { ...(dep as object), events: undefined });
        assert.equal((await call(`${second.url}/readyz`, 'GET')).status, 200);
      } finally {
        await second.close();
      }
    });

    test('a corrupted, missing, incompatible or tampered artifact is refused with 422 and the old deployment keeps serving', async () => {
      const gw = await startTestGateway(env);
      try {
        const before = (await admin(gw.url, 'GET', '/deployment')).body;
        const split = await versionsOf(gw.url);
        assert.ok(split['challenger:2'] > 0 && split['champion:1'] > 0);
        const corrupt = path.join(env.dir, 'artifacts', 'corrupt.json');
        writeFileSync(corrupt, readFileSync(env.v1, 'utf8').slice(0, 200));
        const truncated = await admin(gw.url, 'PUT', '/champion', { version: 9, artifactUri: corrupt });
        assert.equal(truncated.status, 422);
        assert.match(truncated.body.message, /not valid JSON.*the current deployment keeps serving/);

        const wrongWeights = path.join(env.dir, 'artifacts', 'wrong.json');
        const model = JSON.parse(readFileSync(env.v1, 'utf8'));
        writeFileSync(wrongWeights, JSON.stringify({ ...model, weights: model.weights.slice(1) }));
        const invalid = await admin(gw.url, 'PUT', '/challenger', { version: 9, artifactUri: wrongWeights, weight: 50 });
        assert.equal(invalid.status, 422);
        assert.match(invalid.body.message, /weights/);

        const missing = await admin(gw.url, 'PUT', '/champion', { version: 9, artifactUri: path.join(env.dir, 'artifacts', 'nope.json') });
        assert.equal(missing.status, 422);
        assert.match(missing.body.message, /not found/);

        const otherSpec = path.join(env.dir, 'artifacts', 'other.json');
        writeFileSync(otherSpec, JSON.stringify({ ...model, features: [{ name: 'x', type: 'numerical', mean: 0, std: 1, impute: 0 }], weights: [1] }));
        const incompatible = await admin(gw.url, 'PUT', '/champion', { version: 9, artifactUri: otherSpec });
        assert.equal(incompatible.status, 422);
        assert.match(incompatible.body.message, /feature "x"/);

        const tampered = await admin(gw.url, 'PUT', '/champion', { version: 9, artifactUri: env.v2, sha256: 'a'.repeat(64) });
        assert.equal(tampered.status, 422);
        assert.match(tampered.body.message, /does not match/);

        const after = (await admin(gw.url, 'GET', '/deployment')).body;
        assert.deepEqual({ ...after, events: undefined }, { ...before, events: undefined });
        assert.deepEqual(await versionsOf(gw.url), split);
        const res = await predict(gw.url, { entity_id: 'user-1', features: features(1) });
        assert.equal(res.status, 200);
      } finally {
        await gw.close();
      }
    });

    test('an artifact changed on disk after deployment is refused at restart and reported by /readyz', async () => {
      const gw = await startTestGateway(env);
      try {
        await admin(gw.url, 'POST', '/rollback').catch(() => undefined);
        assert.equal((await admin(gw.url, 'PUT', '/champion', { version: 1, artifactUri: env.v1 })).status, 200);
      } finally {
        await gw.close();
      }
      writeModel(env.v1, 5); // same path, different bytes
      const restarted = await startTestGateway(env);
      try {
        const ready = await call(`${restarted.url}/readyz`, 'GET');
        assert.equal(ready.status, 503);
        // /readyz answers anyone: it says what failed, not where (the cause names the artifact's path).
        assert.match(ready.body.message, /fraud-detector: no champion loaded \(it did not load at start: GET \/v1\/admin\/models\/fraud-detector\/deployment has the cause\)/);
        assert.deepEqual(ready.body.models['fraud-detector'], { champion: null, challenger: null, restoreFailed: true });
        assert.ok(!JSON.stringify(ready.body).includes(env.dir), 'no path in the unauthenticated answer');
        const dep = await admin(restarted.url, 'GET', '/deployment');
        assert.match(dep.body.restoreErrors.join('; '), /champion v1: .*does not match the registered/);
        assert.equal((await predict(restarted.url, { features: features(1) })).status, 503);
      } finally {
        await restarted.close();
      }
    });
  });
});

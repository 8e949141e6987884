import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { call, deploy, features, predict, startTestGateway, testEnv, type Running, type TestEnv } from './helpers.js';

describe('predict request validation', () => {
  let env: TestEnv;
  let gw: Running;

  before(async () => {
    env = testEnv();
    gw = await startTestGateway(env, { bodyLimitBytes: 64 * 1024 });
    await deploy(gw.url, env);
  });
  after(async () => {
    await gw.close();
    env.cleanup();
  });

  test('a valid row and a valid batch are scored', async () => {
    const one = await predict(gw.url, { entity_id: 'user-1', features: features(1) });
    assert.equal(one.status, 200);
    assert.deepEqual(Object.keys(one.body).sort(), ['model_version', 'prediction', 'request_id', 'score', 'variant']);
    assert.equal(one.body.model_version, '1');
    assert.ok(one.body.score > 0 && one.body.score < 1);

    const batch = await predict(gw.url, { instances: [{ features: features(2) }, { entity_id: 42, features: features(3) }] });
    assert.equal(batch.status, 200);
    assert.equal(batch.body.predictions.length, 2);
    assert.notEqual(batch.body.predictions[0].request_id, batch.body.predictions[1].request_id);
  });

  test('every bad field of a batch is listed with its path', async () => {
    const instances = [
      { features: features(0) },
      { features: { ...features(1), transaction_amount: 'NaN' } },
      { features: { ...features(2), account_age_days: true, device_type: 3 } },
      { features: { ...features(3), transaction_amount: 'abc', transaction_amout: 5 } },
      { entity_id: '', features: features(4) },
      'not an object',
    ];
    const res = await predict(gw.url, { instances });
    assert.equal(res.status, 400);
    assert.equal(res.body.error, 'invalid_request');
    const paths = res.body.issues.map((i: { path: string }) => i.path);
    assert.deepEqual(paths.sort(), [
      'instances[1].features.transaction_amount',
      'instances[2].features.account_age_days',
      'instances[2].features.device_type',
      'instances[3].features.transaction_amount',
      'instances[3].features.transaction_amout',
      'instances[4].entity_id',
      'instances[5]',
    ]);
    assert.match(res.body.message, /instances\[3\]\.features\.transaction_amount: expected a finite number/);
    assert.match(res.body.message, /instances\[3\]\.features\.transaction_amout: unknown feature/);
    assert.match(res.body.message, /instances\[2\]\.features\.device_type: expected a string/);
  });

  test('Infinity (1e400 in JSON) and numeric strings are refused in numerical fields', async () => {
    const raw = JSON.stringify({ features: { ...features(1), transaction_amount: 0 } }).replace('"transaction_amount":0', '"transaction_amount":1e400');
    const inf = await predict(gw.url, raw);
    assert.equal(inf.status, 400);
    assert.deepEqual(inf.body.issues, [{ path: 'features.transaction_amount', message: 'expected a finite number' }]);

    const nan = await predict(gw.url, { features: { ...features(1), hour_of_day: 'NaN', distance_from_home_km: '12.5' } });
    assert.equal(nan.status, 400);
    assert.deepEqual(nan.body.issues.map((i: { path: string }) => i.path).sort(), ['features.distance_from_home_km', 'features.hour_of_day']);

    // A bare NaN is not JSON at all.
    const bare = await predict(gw.url, '{"features": {"transaction_amount": NaN}}');
    assert.equal(bare.status, 400);
    assert.equal(bare.body.error, 'invalid_json');
  });

  test('missing features are refused; explicit null is accepted; unknown categories are accepted', async () => {
    const { transaction_amount: _drop, ...rest } = features(5);
    const missing = await predict(gw.url, { features: rest });
    assert.equal(missing.status, 400);
    assert.deepEqual(missing.body.issues, [{ path: 'features.transaction_amount', message: 'missing feature (send null to mark an unknown value)' }]);

    const nulls = await predict(gw.url, { features: { ...features(5), transaction_amount: null, user_country: null } });
    assert.equal(nulls.status, 200);

    const unseen = await predict(gw.url, { features: { ...features(5), user_country: 'ATLANTIS', merchant_category: 'space_travel' } });
    assert.equal(unseen.status, 200);
    assert.ok(Number.isFinite(unseen.body.score));
  });

  test('wrong body shapes get a 400 with a message', async () => {
    for (const body of ['[]', '42', '"text"', 'null', '{}', '{"instances": []}', '{"instances": {}}', '{"instances": [], "features": {}}']) {
      const res = await predict(gw.url, body);
      assert.equal(res.status, 400, body);
      assert.equal(typeof res.body.message, 'string', body);
    }
    const proto = await predict(gw.url, '{"__proto__": {"x": 1}, "features": {}}');
    assert.equal(proto.status, 400);
  });

  test('a body over the limit is refused with 413 and a clear message', async () => {
    const instances = Array.from({ length: 400 }, (_, i) => ({ entity_id: `user-${i}`, features: features(i) }));
    const res = await predict(gw.url, { instances });
    assert.equal(res.status, 413);
    assert.equal(res.body.error, 'body_too_large');
    assert.match(res.body.message, /exceeds the limit of 65536 bytes/);
  });

  test('more than 1,000 instances is refused even under the body limit', async () => {
    const res = await predict(gw.url, { instances: Array.from({ length: 1001 }, () => ({})) });
    assert.equal(res.status, 413);
    assert.match(res.body.message, /at most 1000 items per request, got 1001/);
  });

  test('unknown model → 404, unknown route → 404, non-JSON → 415', async () => {
    const res = await predict(gw.url, { features: features(1) }, 'no-such-model');
    assert.equal(res.status, 404);
    assert.match(res.body.message, /unknown model "no-such-model" \(served: fraud-detector\)/);
    const route = await call(`${gw.url}/v1/nothing`, 'GET');
    assert.equal(route.status, 404);
    const text = await fetch(`${gw.url}/v1/models/fraud-detector/predict`, { method: 'POST', body: 'a=1', headers: { 'content-type': 'text/plain' } });
    assert.equal(text.status, 415);
    assert.match(((await text.json()) as { message: string }).message, /application\/json/);
  });
});

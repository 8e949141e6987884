import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { bucketOf, inChallengerShare } from '../../src/serving/routing.js';
import { admin, deploy, features, predict, startTestGateway, testEnv, type Running, type TestEnv } from './helpers.js';

describe('sticky weighted split', () => {
  test('the hash is stable and spreads entities evenly over the buckets', () => {
    assert.equal(bucketOf('fraud-detector', 'user-00001'), bucketOf('fraud-detector', 'user-00001'));
    assert.notEqual(bucketOf('fraud-detector', 'user-00001'), bucketOf('other-model', 'user-00001'));
    const deciles = new Array(10).fill(0);
    for (let i = 0; i < 100_000; i++) deciles[Math.floor(bucketOf('m', `user-${i}`) / 1000)]++;
    for (const d of deciles) assert.ok(Math.abs(d - 10_000) < 500, `decile count ${d}`);
  });

  test('observed challenger share is within tolerance of the weight over 10k entities', () => {
    for (const weight of [1, 5, 25, 50, 90]) {
      let n = 0;
      for (let i = 0; i < 10_000; i++) if (inChallengerShare('fraud-detector', `user-${i}`, weight)) n++;
      const share = (n / 10_000) * 100;
      // Binomial sd at 10k entities is at most 0.5 percentage points; allow 4 sd.
      assert.ok(Math.abs(share - weight) < 2, `weight ${weight}: observed ${share}%`);
    }
    assert.equal(inChallengerShare('m', 'x', 0), false);
    assert.equal(inChallengerShare('m', 'x', 100), true);
  });

  test('ramping up never moves an entity back to the champion', () => {
    for (let i = 0; i < 5_000; i++) {
      const key = `user-${i}`;
      if (inChallengerShare('m', key, 5)) assert.ok(inChallengerShare('m', key, 25));
    }
  });

  describe('over HTTP', () => {
    let env: TestEnv;
    let gw: Running;
    before(async () => {
      env = testEnv();
      gw = await startTestGateway(env);
      await deploy(gw.url, env, { weight: 20 });
    });
    after(async () => {
      await gw.close();
      env.cleanup();
    });

    test('one entity always sees one variant, and 10k entities split near the weight', async () => {
      const variantOf = new Map<string, string>();
      for (let round = 0; round < 10; round++) {
        const instances = Array.from({ length: 1_000 }, (_, i) => ({ entity_id: `user-${round * 1_000 + i}`, features: features(i) }));
        const res = await predict(gw.url, { instances });
        assert.equal(res.status, 200);
        res.body.predictions.forEach((p: { variant: string; model_version: string }, i: number) => {
          variantOf.set(instances[i].entity_id, p.variant);
          assert.equal(p.model_version, p.variant === 'challenger' ? '2' : '1');
        });
      }
      const share = ([...variantOf.values()].filter((v) => v === 'challenger').length / variantOf.size) * 100;
      assert.ok(Math.abs(share - 20) < 2, `observed ${share}%`);

      // The same entities again, in single requests: the same variant every time.
      for (let i = 0; i < 200; i++) {
        const id = `user-${i * 37}`;
        const res = await predict(gw.url, { entity_id: id, features: features(i + 1) });
        assert.equal(res.body.variant, variantOf.get(id), id);
      }
    });

    test('weight 0 sends everything to the champion; rows without entity id are split by request id', async () => {
      assert.equal((await admin(gw.url, 'PUT', '/traffic', { weight: 0 })).status, 200);
      const none = await predict(gw.url, { instances: Array.from({ length: 200 }, (_, i) => ({ entity_id: `user-${i}`, features: features(i) })) });
      assert.ok(none.body.predictions.every((p: { variant: string }) => p.variant === 'champion'));

      assert.equal((await admin(gw.url, 'PUT', '/traffic', { weight: 50 })).status, 200);
      const anon = await predict(gw.url, { instances: Array.from({ length: 1_000 }, (_, i) => ({ features: features(i) })) });
      const share = anon.body.predictions.filter((p: { variant: string }) => p.variant === 'challenger').length / 10;
      assert.ok(share > 40 && share < 60, `anonymous share ${share}%`);
    });
  });
});

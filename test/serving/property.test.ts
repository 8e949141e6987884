import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { buildSchemas } from '../../src/serving/validation.js';
import { admin, call, deploy, features, fraudSpec, startTestGateway, testEnv, type Running, type TestEnv } from './helpers.js';

/**
 * Whatever a client sends, the gateway answers 200 or a 4xx carrying a message: never a 5xx,
 * never a crash, never an empty error.
 */
const FEATURES = Object.keys(features(0));

const featureValue = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.string(),
  fc.constantFrom(null, true, false, '', 'US', 'gift_cards', 'mobile', 1e308),
  fc.jsonValue({ maxDepth: 2 }),
);

/** Mostly-valid feature objects: right names with arbitrary values, some dropped, some extra. */
const featureObject = fc
  .tuple(
    fc.subarray(FEATURES, { minLength: 0 }),
    fc.array(featureValue, { minLength: FEATURES.length, maxLength: FEATURES.length }),
    fc.dictionary(fc.string({ maxLength: 12 }), featureValue, { maxKeys: 2 }),
    fc.boolean(),
  )
  .map(([names, values, extra, keepValid]) => {
    const base = keepValid ? features(values.length) : {};
    const out: Record<string, unknown> = { ...base };
    names.forEach((n, i) => (out[n] = values[i]));
    return { ...extra, ...out };
  });

const instance = fc.record(
  { entity_id: fc.oneof(fc.string(), fc.integer(), fc.double(), fc.constant(null)), features: featureObject },
  { requiredKeys: [] },
);

/** Valid rows with at most one field changed, dropped or added: the boundary the fast path must get right. */
const nearlyValid = fc
  .tuple(
    fc.nat(100),
    fc.option(fc.tuple(fc.constantFrom(...FEATURES, 'extra'), fc.oneof(featureValue, fc.constant(undefined)))),
    fc.option(fc.oneof(fc.string({ maxLength: 300 }), fc.integer(), fc.double(), fc.constantFrom(2 ** 60, '', null)), { nil: undefined }),
  )
  .map(([i, change, entity]) => {
    const f: Record<string, unknown> = { ...features(i) };
    if (change) {
      if (change[1] === undefined) delete f[change[0]];
      else f[change[0]] = change[1];
    }
    return entity === undefined ? { features: f } : { entity_id: entity, features: f };
  });

const body = fc.oneof(
  { weight: 2, arbitrary: nearlyValid },
  { weight: 2, arbitrary: instance },
  { weight: 2, arbitrary: fc.record({ instances: fc.array(instance, { maxLength: 8 }) }) },
  { weight: 2, arbitrary: fc.jsonValue() },
  { weight: 1, arbitrary: fc.record({ instances: fc.jsonValue() }) },
);

const raw = fc.oneof(
  body.map((b) => JSON.stringify(b) ?? 'null'),
  fc.string(),
  fc.constantFrom('', ' ', '{', '{"features": {"transaction_amount": NaN}}', '{"features": {"transaction_amount": 1e999}}', '{"__proto__": {}}', '{"constructor": {"prototype": {}}}'),
);

function acceptable(status: number, res: unknown): boolean {
  if (status === 200) return true;
  return status >= 400 && status < 500 && typeof (res as { message?: unknown }).message === 'string' && (res as { message: string }).message.length > 0;
}

describe('the fast validation path agrees with the zod schema', () => {
  const schemas = buildSchemas(fraudSpec());
  test('whatever the fast check accepts, zod accepts with the same result', () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.oneof({ weight: 3, arbitrary: nearlyValid }, { weight: 1, arbitrary: instance }, { weight: 1, arbitrary: fc.jsonValue() }), (value) => {
        const fast = schemas.fastInstance(value);
        const slow = schemas.instance.safeParse(value);
        if (fast !== undefined) {
          accepted++;
          assert.ok(slow.success, `fast accepted what zod refuses: ${JSON.stringify(value)}`);
          assert.deepEqual(fast, slow.data);
        }
      }),
      { numRuns: 5_000 },
    );
    assert.ok(accepted > 200, `only ${accepted} accepted: the generator should produce valid rows too`);
    // And on valid rows it does take the fast path.
    assert.deepEqual(schemas.fastInstance({ entity_id: 7, features: features(3) }), { entity_id: '7', features: features(3) });
  });
});

describe('request validation never crashes (fast-check)', () => {
  let env: TestEnv;
  let gw: Running;

  before(async () => {
    env = testEnv();
    gw = await startTestGateway(env, { lakeLog: { maxDelayMs: 50 } });
    await deploy(gw.url, env, { weight: 50 });
  });
  after(async () => {
    await gw.close();
    env.cleanup();
  });

  test('predict: arbitrary bodies get 200 or a 4xx with a message', async () => {
    let ok = 0;
    await fc.assert(
      fc.asyncProperty(raw, async (text) => {
        const res = await call(`${gw.url}/v1/models/fraud-detector/predict`, 'POST', text === '' ? '' : text, text === '' ? { 'content-type': 'application/json' } : {});
        if (res.status === 200) ok++;
        assert.ok(acceptable(res.status, res.body), `status ${res.status} for ${text.slice(0, 200)}: ${JSON.stringify(res.body).slice(0, 300)}`);
      }),
      { numRuns: 400 },
    );
    assert.ok(ok > 0, 'some generated bodies are valid');
  });

  test('feedback and admin: arbitrary bodies get 2xx or a 4xx with a message', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), fc.constantFrom('/traffic', '/challenger', '/champion', '/rollback', '/promote'), async (value, route) => {
        const fb = await call(`${gw.url}/v1/models/fraud-detector/feedback`, 'POST', JSON.stringify(value) ?? 'null');
        assert.ok(fb.status === 202 || acceptable(fb.status, fb.body), `feedback ${fb.status}: ${JSON.stringify(fb.body)}`);
        // Admin bodies: only shapes the schemas refuse, so the deployment is never actually changed.
        const method = route === '/rollback' || route === '/promote' ? 'POST' : 'PUT';
        const res = await admin(gw.url, method, route, { value, unexpected: true });
        assert.ok(acceptable(res.status, res.body) && res.status === 400, `${route} ${res.status}: ${JSON.stringify(res.body)}`);
      }),
      { numRuns: 150 },
    );
    const dep = (await admin(gw.url, 'GET', '/deployment')).body;
    assert.equal(dep.challenger.weight, 50);
  });
});

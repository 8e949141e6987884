import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { nestedDeeperThan } from '../../src/serving/gateway.js';
import { admin, call, deploy, feedback, features, predict, startTestGateway, testEnv, TOKEN, type Running, type TestEnv } from './helpers.js';
import { waitFor } from '../helpers/poll.js';

/**
 * Issue 15, as an attacker would try it against a real gateway on loopback: deeply nested JSON, a
 * body dribbled byte by byte, an unauthenticated /readyz, unauthenticated or flooding feedback,
 * guessing the admin token.
 */
const MODEL = 'fraud-detector';

describe('gateway security (issue 15)', () => {
  describe('requests', () => {
    let env: TestEnv;
    let gw: Running;
    before(async () => {
      env = testEnv();
      gw = await startTestGateway(env, { limits: { requestTimeoutMs: 1_000 } });
      await deploy(gw.url, env);
    });
    after(async () => {
      await gw.close();
      env.cleanup();
    });

    test('deeply nested JSON is refused before it is parsed, cheaply; brackets inside strings do not count', async () => {
      const n = 400_000;
      const deep = '['.repeat(n) + ']'.repeat(n); // ~800 KB
      const inFeature = `{"features": {"transaction_amount": ${'['.repeat(33)}1${']'.repeat(33)}}}`;
      for (const body of [deep, inFeature]) {
        const res = await predict(gw.url, body);
        assert.equal(res.status, 400);
        assert.equal(res.body.error, 'invalid_json');
        assert.match(res.body.message, /nested deeper than 32 levels/);
      }
      // 32 levels are still parsed (and then refused by the schema, not as JSON).
      const shallow = await predict(gw.url, `{"features": ${'['.repeat(31)}${']'.repeat(31)}}`);
      assert.equal(shallow.status, 400);
      assert.equal(shallow.body.error, 'invalid_request');
      const quoted = await predict(gw.url, { features: { ...features(1), user_country: `${'['.repeat(100)}"\\${'{'.repeat(100)}` } });
      assert.equal(quoted.status, 200);

      // The check stops at the 33rd bracket, whatever follows; JSON.parse of this body took 140-240 ms.
      // (No timing assertion: speed is measured by benchmarks, not by tests on a shared machine.)
      for (let i = 0; i < 100; i++) assert.equal(nestedDeeperThan(deep, 32), true);
      assert.equal(nestedDeeperThan(`{"a": "${'['.repeat(1_000)}", "b": [[1]]}`, 32), false);
      assert.equal(nestedDeeperThan(`["\\\\", ${'['.repeat(40)}`, 32), true); // an escaped backslash does not hide the quote's end
      assert.equal(nestedDeeperThan(`["\\"${'['.repeat(40)}"]`, 32), false); // an escaped quote does not end the string
      // (Over HTTP, client and gateway in one process: 140-180 ms of CPU per such request before the
      // check, 15-25 ms after, most of it moving 800 KB; too noisy on a shared machine to assert.)
    });

    test('a body dribbled byte by byte is cut off at the request timeout (408, socket closed)', async () => {
      const port = new URL(gw.url).port;
      const socket = connect(Number(port), '127.0.0.1');
      await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
      let received = '';
      socket.on('data', (d) => (received += d.toString()));
      const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(Date.now())));
      const started = Date.now();
      socket.write(`POST /v1/models/${MODEL}/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n{`);
      const drip = setInterval(() => socket.writable && socket.write(' '), 100);
      try {
        const at = await Promise.race([closed, new Promise<number>((_, reject) => setTimeout(() => reject(new Error('socket still open after 8 s')), 8_000))]);
        const heldMs = at - started;
        assert.ok(heldMs >= 900 && heldMs < 15_000, `held ${heldMs} ms`);
        assert.match(received, /^HTTP\/1\.1 408/);
      } finally {
        clearInterval(drip);
        socket.destroy();
      }
      // The gateway still serves.
      assert.equal((await predict(gw.url, { features: features(1) })).status, 200);
    });

    test('/readyz names no path: neither of an artifact that failed to load nor of the lake', async () => {
      await gw.close();
      writeFileSync(env.v1, '{"not": "a model"}'); // the restart cannot load the champion
      rmSync(path.join(env.dir, 'lake'), { recursive: true, force: true });
      writeFileSync(path.join(env.dir, 'lake'), 'a file where the lake folder should be');
      gw = await startTestGateway(env, { lakeLog: { maxDelayMs: 20, retryBaseMs: 50, retryMaxMs: 100 }, limits: { requestTimeoutMs: 1_000 } });
      const restarted = await call(`${gw.url}/readyz`, 'GET');
      assert.equal(restarted.status, 503);
      assert.deepEqual(restarted.body.models[MODEL], { champion: null, challenger: null, restoreFailed: true });
      assert.ok(!JSON.stringify(restarted.body).includes(env.dir), JSON.stringify(restarted.body));
      assert.match((await admin(gw.url, 'GET', '/deployment')).body.restoreErrors[0], new RegExp(`champion v1: .*${env.v1.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      // A champion loads again through the admin API; the lake stays broken.
      await deploy(gw.url, { ...env, v1: env.v2 });
      await predict(gw.url, { features: features(1) });
      await waitFor(async () => (await call(`${gw.url}/readyz`, 'GET')).body.message?.includes('lake writer') ?? false);
      const ready = await call(`${gw.url}/readyz`, 'GET');
      assert.equal(ready.status, 503);
      assert.match(ready.body.message, /lake writer: last write failed; retrying/);
      assert.ok(!JSON.stringify(ready.body).includes(env.dir), JSON.stringify(ready.body));
      rmSync(path.join(env.dir, 'lake'));
    });
  });

  describe('feedback and admin tokens', () => {
    let env: TestEnv;
    let gw: Running;
    const FEEDBACK = 'feedback-token-abcdef';
    before(async () => {
      env = testEnv();
      gw = await startTestGateway(env, { feedbackToken: FEEDBACK, limits: { feedbackPerMinute: 6, adminFailuresPerMinute: 3 } });
      await deploy(gw.url, env);
    });
    after(async () => {
      await gw.close();
      env.cleanup();
    });

    test('with RETRAIN_FEEDBACK_TOKEN, feedback needs the bearer token; per-client feedback is rate-limited; predict is not', async () => {
      const served = (await predict(gw.url, { features: features(1) })).body.request_id;
      const url = `${gw.url}/v1/models/${MODEL}/feedback`;
      const missing = await feedback(gw.url, { request_id: served, label: 1 });
      assert.equal(missing.status, 401);
      assert.match(missing.body.message, /missing bearer token/);
      assert.equal(missing.headers.get('www-authenticate'), 'Bearer realm="retrain-feedback"');
      const wrong = await call(url, 'POST', { request_id: served, label: 1 }, { authorization: `Bearer ${FEEDBACK}x` });
      assert.equal(wrong.status, 401);
      assert.match(wrong.body.message, /invalid feedback token/);
      const adminToken = await call(url, 'POST', { request_id: served, label: 1 }, { authorization: `Bearer ${TOKEN}` });
      assert.equal(adminToken.status, 401);
      const ok = await call(url, 'POST', { request_id: served, label: 1 }, { authorization: `Bearer ${FEEDBACK}` });
      assert.equal(ok.status, 202);
      assert.equal(ok.body.matched, 1);

      // 6 a minute per client, whatever the token: the 4 above, 2 more, then 429.
      for (let i = 0; i < 2; i++) assert.equal((await call(url, 'POST', { request_id: served, label: 1 }, { authorization: `Bearer ${FEEDBACK}` })).status, 202);
      const limited = await call(url, 'POST', { request_id: served, label: 1 }, { authorization: `Bearer ${FEEDBACK}` });
      assert.equal(limited.status, 429);
      assert.equal(limited.body.error, 'rate_limited');
      assert.match(limited.body.message, /at most 6 a minute/);
      assert.ok(Number(limited.headers.get('retry-after')) > 0);

      const predictions = await Promise.all(Array.from({ length: 100 }, (_, i) => predict(gw.url, { features: features(i) })));
      assert.ok(predictions.every((p) => p.status === 200));
    });

    test('failed admin-token attempts are rate-limited per client; the right token never is', async () => {
      for (let i = 0; i < 3; i++) assert.equal((await admin(gw.url, 'GET', '/deployment', undefined, `guess-${i}`)).status, 401);
      const limited = await admin(gw.url, 'GET', '/deployment', undefined, 'guess-4');
      assert.equal(limited.status, 429);
      assert.match(limited.body.message, /too many requests without a valid admin token/);
      assert.equal((await admin(gw.url, 'GET', '/deployment', undefined, null)).status, 429);
      for (let i = 0; i < 5; i++) assert.equal((await admin(gw.url, 'GET', '/deployment')).status, 200);
    });
  });
});

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fraudReferenceModel } from '../../src/demo/simulator/reference-model.js';
import { rowObject } from '../../src/serving/lake-sink.js';
import { query } from '../data/helpers.js';
import { call, deploy, features, fraudSpec, predict, startTestGateway, testEnv, type Running, type TestEnv } from './helpers.js';
import { waitFor } from '../helpers/poll.js';

/**
 * Issue 15, against a real gateway on loopback: one NUL byte in a category used to be accepted,
 * logged, and then break every read of its window; one input of 1.7e308 used to be answered
 * 200 with "score": null, after which the lake refused the whole batch and the predictions of
 * ~800 other callers went to the dead-letter folder.
 */
const MODEL = 'fraud-detector';

async function lakeRows(dir: string, table = 'predictions'): Promise<number> {
  const glob = path.join(dir, 'lake', MODEL, table, '*', '*.parquet');
  try {
    return Number((await query(`SELECT count(*)::INTEGER AS n FROM read_parquet('${glob}', hive_partitioning = false)`))[0].n);
  } catch {
    return 0; // no file yet
  }
}

function deadLetters(dir: string): { name: string; lines: any[] }[] {
  const deadDir = path.join(dir, 'serving', 'dead-letter');
  if (!existsSync(deadDir)) return [];
  return readdirSync(deadDir).map((name) => ({
    name,
    lines: readFileSync(path.join(deadDir, name), 'utf8').trim().split('\n').map((l) => JSON.parse(l)),
  }));
}

/**
 * The reference model with two features of little spread in training (std 0.01): 1.7e308 in
 * transaction_amount overflows to +Infinity, in account_age_days to -Infinity (negative weight),
 * and both together make the score NaN.
 */
function writeFragileModel(file: string): void {
  const model = fraudReferenceModel();
  model.features[0] = { ...model.features[0], std: 0.01 } as (typeof model.features)[number];
  model.features[1] = { ...model.features[1], std: 0.01 } as (typeof model.features)[number];
  writeFileSync(file, JSON.stringify(model));
}

describe('values the model or the lake cannot take (issue 15)', () => {
  let env: TestEnv;
  let gw: Running;
  before(async () => {
    env = testEnv();
    writeFragileModel(env.v1);
    gw = await startTestGateway(env, { lakeLog: { maxDelayMs: 100 } });
    await deploy(gw.url, env);
  });
  after(async () => {
    await gw.close();
    env.cleanup();
  });

  test('a control character in a category is refused with 422 naming the feature; nothing is logged', async () => {
    for (const bad of ['\u0000', 'US\u0000', 'line\nbreak', 'del\u007f', '\u001f']) {
      const one = await predict(gw.url, { features: { ...features(1), user_country: bad } });
      assert.equal(one.status, 422, JSON.stringify(bad));
      assert.equal(one.body.error, 'invalid_value');
      assert.equal(one.body.issues.length, 1);
      assert.equal(one.body.issues[0].path, 'features.user_country');
      assert.match(one.body.message, /features\.user_country: contains the control character U\+00(00|0A|7F|1F)/);
    }
    const batch = await predict(gw.url, {
      instances: [{ features: features(1) }, { features: { ...features(2), merchant_category: 'a\u0000' } }, { features: { ...features(3), device_type: '\u0000' } }],
    });
    assert.equal(batch.status, 422);
    assert.deepEqual(batch.body.issues.map((i: { path: string }) => i.path), ['instances[1].features.merchant_category', 'instances[2].features.device_type']);
    // A malformed field is still a 400 and is reported first.
    const both = await predict(gw.url, { features: { ...features(1), user_country: '\u0000', transaction_amount: 'x' } });
    assert.equal(both.status, 400);
    // Text that merely looks odd is fine.
    const fine = await predict(gw.url, { features: { ...features(1), user_country: "it's ☃ [[[ \\0 \u00a0" } });
    assert.equal(fine.status, 200);
    await new Promise((r) => setTimeout(r, 400));
    assert.deepEqual(deadLetters(env.dir), []);
  });

  test('an input that makes the score non-finite is a 422 for that request alone, naming the features', async () => {
    // 200 other callers at the same moment (same event-loop turns, so the same scorer calls).
    const others = Array.from({ length: 200 }, (_, i) => predict(gw.url, { entity_id: `user-${i}`, features: features(i) }));
    const extreme = predict(gw.url, { features: { ...features(1), transaction_amount: 1.7e308, account_age_days: 1.7e308 } });
    const answers = await Promise.all(others);
    const refused = await extreme;
    assert.ok(answers.every((a) => a.status === 200 && Number.isFinite(a.body.score)));
    assert.equal(refused.status, 422, JSON.stringify(refused.body));
    assert.equal(refused.body.error, 'non_finite_score');
    assert.deepEqual(refused.body.issues.map((i: { path: string }) => i.path).sort(), ['features.account_age_days', 'features.transaction_amount']);
    assert.match(refused.body.message, /the model's score is NaN: the value 1\.7e\+308 is too extreme for the model/);

    // In a batch: the whole request is refused, its rows named by index.
    const batch = await predict(gw.url, { instances: [{ features: features(0) }, { features: { ...features(2), transaction_amount: 1.7e308, account_age_days: 1.7e308 } }] });
    assert.equal(batch.status, 422);
    assert.ok(batch.body.issues.every((i: { path: string }) => i.path.startsWith('instances[1].features.')));

    // The answered rows reach the lake (these 200 and the one of the test before); the refused ones are
    // not logged, and nothing is dead-lettered.
    await waitFor(async () => (await lakeRows(env.dir)) >= 201);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await lakeRows(env.dir), 201);
    assert.deepEqual(deadLetters(env.dir), []);
    const metrics = (await call(`${gw.url}/metrics`, 'GET')).body as string;
    assert.match(metrics, /retrain_gateway_requests_total\{model="fraud-detector",variant="none",status="422"\} \d+/);
  });

  test('one value the lake refuses costs that row alone: the other 800 are written, it is dead-lettered with the reason', async () => {
    const spec = fraudSpec();
    const good = Array.from({ length: 8 }, (_, b) => ({ instances: Array.from({ length: 100 }, (_, i) => ({ entity_id: `batch-${b}-${i}`, features: features(i) })) }));
    const before = await lakeRows(env.dir);
    // A row that slipped past request validation (as a NUL category or a null score did before this
    // fix) lands in the same queue as 800 rows of other callers.
    const features0 = features(0);
    const bad = ['bad-row', Date.now(), '1', 'champion', null, 0, 0.5, 1, ...spec.features.map((f) => (f.name === 'user_country' ? '\u0000' : features0[f.name]))];
    const first = predict(gw.url, good[0]);
    gw.gateway.ctx.lakeLog.append('predictions', MODEL, bad);
    const answers = await Promise.all([first, ...good.slice(1).map((b) => predict(gw.url, b))]);
    assert.ok(answers.every((a) => a.status === 200));

    await waitFor(async () => (await lakeRows(env.dir)) >= before + 800);
    await waitFor(() => deadLetters(env.dir).length === 1);
    assert.equal(await lakeRows(env.dir), before + 800);
    const [letter] = deadLetters(env.dir);
    assert.match(letter.name, /^predictions-fraud-detector-refused-.*\.jsonl$/);
    assert.equal(letter.lines.length, 1);
    assert.match(letter.lines[0].reason, /feature user_country: contains the control character U\+0000/);
    assert.deepEqual(letter.lines[0].row, rowObject(spec, 'predictions', bad));
    const metrics = (await call(`${gw.url}/metrics`, 'GET')).body as string;
    assert.match(metrics, /retrain_gateway_lake_rows_dropped_total\{model="fraud-detector",table="predictions",reason="dead_letter"\} 1/);
  });
});

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { LoadedModel, Prediction } from '../../src/backends/models/index.js';
import { errorTuple } from '../../src/serving/lake-sink.js';
import { inChallengerShare } from '../../src/serving/routing.js';
import { query } from '../data/helpers.js';
import { answeredRequests, readEvidence } from '../helpers/evidence.js';
import { eventually } from '../helpers/poll.js';
import { admin, deploy, features, fraudSpec, predict, startTestGateway, testEnv, type Running, type TestEnv } from './helpers.js';

/**
 * Per-variant latency and durable errors, against a real gateway on loopback. The challenger's
 * scorer is wrapped (its loaded model's predict) to be slow, to throw or to answer NaN; the
 * champion is the plain reference model. Rows are read back from the lake.
 */
const MODEL = 'fraud-detector';
const WEIGHT = 50;
const SLOW_MS = 150;

/** Replaces a loaded model's predict for the length of `run`. */
async function withPredict<T>(model: LoadedModel, predict: (original: LoadedModel['predict'], rows: Parameters<LoadedModel['predict']>[0]) => Promise<Prediction[]>, run: () => Promise<T>): Promise<T> {
  const original = model.predict.bind(model);
  model.predict = (rows) => predict(original, rows);
  try {
    return await run();
  } finally {
    model.predict = original;
  }
}

/** A batch of `size` instances whose entities split between champion and challenger at WEIGHT. */
function mixedBatch(tag: string, size: number) {
  return { instances: Array.from({ length: size }, (_, i) => ({ entity_id: `${tag}-${i}`, features: features(i) })) };
}

async function lakeRows(dir: string, table: string, where: string): Promise<Record<string, unknown>[]> {
  const glob = path.join(dir, 'lake', MODEL, table, '*', '*.parquet');
  return query(`SELECT * FROM read_parquet('${glob}', hive_partitioning = false) WHERE ${where}`).catch(() => []);
}

describe('per-variant latency and logged scoring errors (mixed batches)', () => {
  let env: TestEnv;
  let gw: Running;
  const since = Date.now();
  const challengerModel = () => gw.gateway.ctx.deployments.get(MODEL)!.challenger!.model;

  before(async () => {
    env = testEnv();
    gw = await startTestGateway(env, { lakeLog: { maxDelayMs: 50 } });
    await deploy(gw.url, env, { weight: WEIGHT });
  });
  after(async () => {
    await gw.close();
    env.cleanup();
  });

  test("a slow challenger's scoring time is in its own rows' latency_ms, not in the champion's", async () => {
    const ids = { champion: [] as string[], challenger: [] as string[] };
    await withPredict(
      challengerModel(),
      async (original, rows) => {
        await new Promise((r) => setTimeout(r, SLOW_MS));
        return original(rows);
      },
      async () => {
        for (let b = 0; b < 6; b++) {
          const answer = await predict<{ predictions: { request_id: string; variant: 'champion' | 'challenger' }[] }>(gw.url, mixedBatch(`slow-${b}`, 40));
          assert.equal(answer.status, 200, JSON.stringify(answer.body));
          for (const p of answer.body.predictions) ids[p.variant].push(p.request_id);
        }
      },
    );
    assert.ok(ids.champion.length > 0 && ids.challenger.length > 0, 'the batches were mixed');

    const total = ids.champion.length + ids.challenger.length;
    const rows = await eventually(async () => {
      const found = await lakeRows(env.dir, 'predictions', `ts >= make_timestamp(${since * 1000})`);
      return found.length >= total ? found : undefined;
    }, `${total} prediction rows in the lake`);
    const latency = (variant: string) => rows.filter((r) => r.variant === variant).map((r) => Number(r.latency_ms));
    const champion = latency('champion');
    const challenger = latency('challenger');
    assert.equal(champion.length, ids.champion.length);
    assert.equal(challenger.length, ids.challenger.length);
    assert.ok(Math.min(...challenger) >= SLOW_MS, `every challenger row includes its scorer's ${SLOW_MS} ms: ${Math.min(...challenger)}`);
    assert.ok(Math.max(...champion) < SLOW_MS / 2, `no champion row includes the challenger's ${SLOW_MS} ms: max ${Math.max(...champion)} ms`);

    // The same figures through servedEvidence.
    const evidence = await readEvidence(env.dir, fraudSpec(), { from: since, to: Date.now() + 1, asOf: Date.now() });
    assert.ok(evidence.variants.champion.latencyMs!.p99 < SLOW_MS / 2);
    assert.ok(evidence.variants.challenger.latencyMs!.p50 >= SLOW_MS);
  });

  test('a challenger whose scorer throws: its rows are answered 200 by the champion and logged as challenger errors', async () => {
    const from = Date.now();
    const batch = mixedBatch('failing', 60);
    const toChallenger = batch.instances.map((x) => inChallengerShare(MODEL, x.entity_id, WEIGHT));
    const answer = await withPredict(
      challengerModel(),
      async () => {
        throw new Error('challenger exploded\nat line two');
      },
      () => predict<{ predictions: { request_id: string; variant: string; model_version: string }[] }>(gw.url, batch),
    );
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    assert.ok(answer.body.predictions.every((p) => p.variant === 'champion' && p.model_version === '1'));
    // Refused input is not a model error: nothing is logged for it.
    assert.equal((await predict(gw.url, { features: { ...features(1), transaction_amount: 'lots' } })).status, 400);

    const expected = answer.body.predictions.filter((_, i) => toChallenger[i]).map((p) => p.request_id).sort();
    assert.ok(expected.length > 0);
    const errors = await eventually(async () => {
      const found = await lakeRows(env.dir, 'serving_errors', `ts >= make_timestamp(${from * 1000})`);
      return found.length >= expected.length ? found : undefined;
    }, `${expected.length} serving_errors rows`);
    assert.deepEqual(errors.map((r) => r.request_id).sort(), expected);
    for (const r of errors) {
      assert.deepEqual([r.variant, r.model_version, r.reason], ['challenger', '2', 'scorer failed: challenger exploded at line two']);
      assert.ok(Number(r.latency_ms) >= 0);
    }

    const evidence = await eventually(async () => {
      const e = await readEvidence(env.dir, fraudSpec(), { from, to: Date.now() + 1, asOf: Date.now(), versions: { champion: '1', challenger: '2' } });
      return answeredRequests(e) === batch.instances.length ? e : undefined;
    }, 'the champion rows in the lake');
    assert.deepEqual([evidence.variants.challenger.requests, evidence.variants.challenger.errors], [expected.length, expected.length]);
    assert.deepEqual([evidence.variants.champion.requests, evidence.variants.champion.errors], [batch.instances.length, 0]);
  });

  test("a challenger's non-finite answer and a failing shadow are logged as their errors", async () => {
    const from = Date.now();
    const batch = mixedBatch('nan', 40);
    const shadowBatch = mixedBatch('shadow', 40);
    const share = (b: ReturnType<typeof mixedBatch>) => b.instances.filter((x) => inChallengerShare(MODEL, x.entity_id, WEIGHT)).length;
    const toChallenger = share(batch);
    const answer = await withPredict(
      challengerModel(),
      async (original, rows) => (await original(rows)).map((p) => ({ ...p, score: NaN })),
      () => predict<{ predictions: { variant: string }[] }>(gw.url, batch),
    );
    assert.equal(answer.status, 200);
    assert.ok(answer.body.predictions.every((p) => p.variant === 'champion'));

    // The same version as a shadow whose scorer throws: the callers see nothing, the lake gets its errors.
    const shadowed = await admin(gw.url, 'PUT', '/challenger', { version: 2, artifactUri: env.v2, weight: WEIGHT, shadow: true });
    assert.equal(shadowed.status, 200, JSON.stringify(shadowed.body));
    await withPredict(
      challengerModel(),
      async () => {
        throw new Error('shadow down');
      },
      async () => {
        assert.equal((await predict(gw.url, shadowBatch)).status, 200);
        // Shadow scoring runs after the reply: wait for it before the predict is restored.
        await eventually(async () => ((await lakeRows(env.dir, 'serving_errors', `variant = 'shadow'`)).length > 0 ? true : undefined), 'the shadow errors');
      },
    );
    const evidence = await eventually(async () => {
      const e = await readEvidence(env.dir, fraudSpec(), { from, to: Date.now() + 1, asOf: Date.now() });
      return e.variants.challenger.errors === toChallenger && answeredRequests(e) === 80 ? e : undefined;
    }, 'the non-finite challenger rows and the champion rows in the lake');
    const shadowErrors = await lakeRows(env.dir, 'serving_errors', `variant = 'shadow'`);
    assert.deepEqual(evidence.variants.shadow.errors, shadowErrors.length);
    assert.equal(shadowErrors.length, share(shadowBatch), "the shadow scores the challenger's share of the entities");
    assert.ok(shadowErrors.every((r) => r.reason === 'scorer failed: shadow down' && r.model_version === '2'));
    const nonFinite = await lakeRows(env.dir, 'serving_errors', `variant = 'challenger' AND ts >= make_timestamp(${from * 1000})`);
    assert.ok(nonFinite.every((r) => r.reason === 'non-finite score: NaN'));
  });

  test('an error reason is one line of at most 200 characters, never half a character', () => {
    const reason = (message: string) => errorTuple('r', 0, '1', 'challenger', 1, message)[5] as string;
    assert.equal(reason('bad\n\tthing\u0000 here '), 'bad thing here');
    assert.equal(reason('x'.repeat(500)).length, 200);
    assert.equal(reason(`${'x'.repeat(199)}\u{1F600}tail`), 'x'.repeat(199), 'a pair cut at 200 is dropped whole');
    assert.equal(reason(''), 'unknown error');
  });
});

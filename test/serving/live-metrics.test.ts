import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { LiveComparison } from '../../src/activities/contracts.js';
import { query } from '../data/helpers.js';
import { FeedbackIndex } from '../../src/serving/feedback-index.js';
import { LiveMetrics } from '../../src/serving/live-metrics.js';
import { admin, call, deploy, feedback, features, predict, startTestGateway, testEnv, type Running, type TestEnv } from './helpers.js';

async function labelRows(glob: string): Promise<number> {
  try {
    return Number((await query(`SELECT count(*)::INTEGER AS n FROM read_parquet('${glob}', hive_partitioning = false)`))[0].n);
  } catch {
    return 0; // no file yet
  }
}

interface Served {
  request_id: string;
  prediction: number;
  variant: string;
}

describe('live metrics and feedback', () => {
  let env: TestEnv;
  let gw: Running;
  let served: Served[];
  const since = new Date(Date.now() - 1_000).toISOString();

  before(async () => {
    env = testEnv();
    gw = await startTestGateway(env, { lakeLog: { maxDelayMs: 100 } });
    await deploy(gw.url, env, { weight: 50 });
    const res = await predict(gw.url, { instances: Array.from({ length: 400 }, (_, i) => ({ entity_id: `user-${i}`, features: features(i) })) });
    served = res.body.predictions;
  });
  after(async () => {
    await gw.close();
    env.cleanup();
  });

  test('requests, latency, labelled samples and accuracy per variant match the traffic and feedback sent', async () => {
    const champion = served.filter((p) => p.variant === 'champion');
    const challenger = served.filter((p) => p.variant === 'challenger');
    assert.ok(champion.length > 150 && challenger.length > 150);

    // Champion: 30 right, 10 wrong (accuracy 0.75). Challenger: 20 right (1.0). Plus 5 unknown ids.
    const labels = [
      ...champion.slice(0, 30).map((p) => ({ request_id: p.request_id, label: p.prediction })),
      ...champion.slice(30, 40).map((p) => ({ request_id: p.request_id, label: 1 - p.prediction })),
      ...challenger.slice(0, 20).map((p) => ({ request_id: p.request_id, label: p.prediction === 1 })),
      ...Array.from({ length: 5 }, (_, i) => ({ request_id: `from-another-gateway-${i}`, label: 0 })),
    ];
    const fb = await feedback(gw.url, { labels });
    assert.equal(fb.status, 202);
    assert.deepEqual(fb.body, { accepted: 65, matched: 60, unmatched: 5 });

    const res = await admin(gw.url, 'GET', `/live-metrics?since=${encodeURIComponent(since)}`);
    assert.equal(res.status, 200);
    const live = res.body as LiveComparison & Record<string, any>;
    assert.equal(live.champion.requests, champion.length);
    assert.equal(live.challenger.requests, challenger.length);
    assert.equal(live.shadow.requests, 0);
    assert.equal(live.champion.errors, 0);
    assert.equal(live.champion.labelledSamples, 40);
    assert.equal(live.champion.accuracy, 0.75);
    assert.equal(live.challenger.labelledSamples, 20);
    assert.equal(live.challenger.accuracy, 1);
    assert.equal(live.shadow.accuracy, undefined);
    assert.ok(live.champion.p99LatencyMs > 0 && live.champion.p99LatencyMs >= live.champion.p50LatencyMs);
    assert.deepEqual(live.deployment, { champion: '1', challenger: '2', weight: 50, shadow: false });

    // A corrected label replaces the earlier one instead of counting twice.
    await feedback(gw.url, { request_id: champion[30].request_id, label: champion[30].prediction });
    const again = (await admin(gw.url, 'GET', `/live-metrics?since=${encodeURIComponent(since)}`)).body;
    assert.equal(again.champion.labelledSamples, 40);
    assert.equal(again.champion.accuracy, 31 / 40);

    const future = (await admin(gw.url, 'GET', `/live-metrics?since=${new Date(Date.now() + 180_000).toISOString()}`)).body;
    assert.equal(future.champion.requests, 0);
    assert.equal(future.champion.p99LatencyMs, 0);

    const bad = await admin(gw.url, 'GET', '/live-metrics?since=yesterday');
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /since: expected an ISO-8601 time/);
  });

  test('unmatched feedback is counted in /metrics and every label reaches the lake', async () => {
    const text = (await call(`${gw.url}/metrics`, 'GET')).body as string;
    assert.match(text, /retrain_gateway_feedback_total\{model="fraud-detector",matched="false"\} 5/);
    assert.match(text, /retrain_gateway_feedback_total\{model="fraud-detector",matched="true"\} 61/);
    assert.match(text, /retrain_gateway_requests_total\{model="fraud-detector",variant="champion",status="200"\} \d+/);
    assert.match(text, /retrain_gateway_prediction_latency_seconds_bucket\{le="0.001",model="fraud-detector",variant="challenger"\}/);

    // Every label row, matched or not, is in the lake's files (countNewLabels counts only those that join a served prediction).
    const files = `${env.dir}/lake/fraud-detector/labels/*/*.parquet`;
    const deadline = Date.now() + 20_000;
    let n = 0;
    while (Date.now() < deadline && (n = await labelRows(files)) < 66) await new Promise((r) => setTimeout(r, 100));
    assert.equal(n, 66);
  });

  test('feedback is validated against the model task', async () => {
    const bad = await feedback(gw.url, { labels: [{ request_id: 'a', label: 2 }, { request_id: '', label: 1 }, { label: 0 }] });
    assert.equal(bad.status, 400);
    assert.deepEqual(
      bad.body.issues.map((i: { path: string }) => i.path),
      ['labels[0].label', 'labels[1].request_id', 'labels[2].request_id'],
    );
    const unknown = await call(`${gw.url}/v1/models/nope/feedback`, 'POST', { request_id: 'a', label: 1 });
    assert.equal(unknown.status, 404);
  });
});

describe('live metrics buckets (unit)', () => {
  test('minute buckets fold into hourly ones; memory stays bounded; since is honoured at bucket resolution', () => {
    const live = new LiveMetrics('binary_classification');
    const t0 = Date.UTC(2025, 0, 1, 0, 0, 0);
    for (let m = 0; m < 10 * 60; m++) live.recordRequest('champion', t0 + m * 60_000, 1 + (m % 10), false);
    assert.deepEqual(live.sizes(), { fine: 181, coarse: 7 }); // 3 h of minutes (+ the current one), older hours folded
    const all = live.snapshot(t0, t0 + 10 * 3_600_000);
    assert.equal(all.champion.requests, 600);
    assert.ok(Math.abs(all.champion.p50LatencyMs - 5) / 5 < 0.05, `p50 ${all.champion.p50LatencyMs}`);
    assert.ok(Math.abs(all.champion.p99LatencyMs - 10) / 10 < 0.05, `p99 ${all.champion.p99LatencyMs}`);
    assert.equal(live.snapshot(t0 + 9 * 3_600_000, t0 + 10 * 3_600_000).champion.requests, 60);
    assert.equal(live.snapshot(t0 + 9 * 3_600_000 + 30 * 60_000, t0 + 10 * 3_600_000).champion.requests, 30);
    // Older than 3 h: hourly resolution, so the whole hour holding `since` counts.
    assert.equal(live.snapshot(t0 + 30 * 60_000, t0 + 10 * 3_600_000).champion.requests, 600);
    // After 8 days everything has aged out.
    assert.equal(live.snapshot(t0, t0 + 9 * 86_400_000).champion.requests, 0);
    assert.deepEqual(live.sizes(), { fine: 0, coarse: 0 });
  });

  test('the feedback index matches a reference ring under random churn (hash table with deletions)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.array(fc.oneof(fc.nat(60), fc.constant(-1)), { minLength: 1, maxLength: 400 }), (capacity, ops) => {
        const index = new FeedbackIndex({ capacity, maxAgeMs: Number.MAX_SAFE_INTEGER });
        const ring: string[] = [];
        const added: string[] = [];
        let n = 0;
        for (const op of ops) {
          if (op >= 0) {
            const id = `req-${n++}-${op}`;
            index.add(id, 'champion', 0, 0);
            added.push(id);
            ring.push(id);
            if (ring.length > capacity) ring.shift();
          }
          assert.equal(index.size, ring.length);
        }
        for (const id of ring) assert.ok(index.join(id, 0, 'binary_classification', 0), `${id} should be found`);
        for (const id of added.slice(0, added.length - ring.length)) assert.equal(index.join(id, 0, 'binary_classification', 0), undefined, `${id} was evicted`);
        assert.equal(index.join('never-added', 0, 'binary_classification', 0), undefined);
      }),
      { numRuns: 300 },
    );
  });

  test('the feedback index is bounded by capacity and age', () => {
    const index = new FeedbackIndex({ capacity: 3, maxAgeMs: 1_000 });
    const now = 1_000_000;
    for (const id of ['a', 'b', 'c', 'd']) index.add(id, 'champion', 1, now);
    assert.equal(index.size, 3);
    assert.equal(index.join('a', 1, 'binary_classification', now), undefined, 'evicted by capacity');
    assert.equal(index.join('d', 1, 'binary_classification', now)?.outcome.correct, true);
    assert.equal(index.join('b', 1, 'binary_classification', now + 2_000), undefined, 'too old');
  });
});

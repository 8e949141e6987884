import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { LakeDataBackend } from '../../src/backends/data/lake/backend.js';
import { model as modelSchema } from '../../src/config/schema.js';
import {
  createGenerator,
  driftIntensity,
  driftPlan,
  fraudProbability,
  generateHistory,
  runSimulation,
  writeHistory,
  type DriftKind,
} from '../../src/demo/simulator/index.js';
import { admin, deploy, fraudSpec, startTestGateway, testEnv } from '../serving/helpers.js';

const spec = fraudSpec();
const MIN = 60_000;

function meanAmount(kind: DriftKind, at: number, seed = 7, n = 4_000): number {
  const g = createGenerator(spec, { seed, drift: driftPlan(kind, 3 * MIN, { windowMs: 4 * MIN, periodMs: 2 * MIN }) });
  let sum = 0;
  for (let i = 0; i < n; i++) sum += g.sample(at).features.transaction_amount as number;
  return sum / n;
}

describe('simulator', () => {
  test('drift schedules have the documented shapes', () => {
    const sudden = driftPlan('sudden', 3 * MIN);
    assert.deepEqual([0, 2.99 * MIN, 3 * MIN, 60 * MIN].map((t) => driftIntensity(sudden, t)), [0, 0, 1, 1]);
    const gradual = driftPlan('gradual', 3 * MIN, { windowMs: 4 * MIN });
    assert.deepEqual([0, 3 * MIN, 4 * MIN, 5 * MIN, 7 * MIN, 20 * MIN].map((t) => driftIntensity(gradual, t)), [0, 0, 0.25, 0.5, 1, 1]);
    const recurring = driftPlan('recurring', 3 * MIN, { periodMs: 2 * MIN });
    const r = [0, 3 * MIN, 3.5 * MIN, 4 * MIN, 5 * MIN, 6 * MIN].map((t) => Math.round(driftIntensity(recurring, t) * 1000) / 1000);
    assert.deepEqual(r, [0, 0, 0.5, 1, 0, 1]);
    assert.equal(driftIntensity(driftPlan('none', 0), 10 * MIN), 0);
  });

  test('the same seed gives the same rows; another seed does not', () => {
    const rows = (seed: number) => {
      const g = createGenerator(spec, { seed, drift: driftPlan('gradual', MIN, { windowMs: MIN }), conceptChange: true });
      return Array.from({ length: 500 }, (_, i) => g.sample(i * 500));
    };
    assert.deepEqual(rows(3), rows(3));
    assert.notDeepEqual(rows(3), rows(4));
    const first = rows(3)[0];
    assert.deepEqual(Object.keys(first.features).sort(), spec.features.map((f) => f.name).sort());
    assert.match(first.entity_id, /^user-\d{5}$/);
  });

  test('drift moves the drifted features by the schedule', () => {
    const before = meanAmount('sudden', 0);
    const after = meanAmount('sudden', 4 * MIN);
    assert.ok(after > before * 2, `sudden: ${before} → ${after}`);
    const ramp = [3, 4, 5, 7].map((m) => meanAmount('gradual', m * MIN));
    assert.ok(ramp[0] < ramp[1] && ramp[1] < ramp[2] && ramp[2] < ramp[3], `gradual: ${ramp}`);
    const low = meanAmount('recurring', 5 * MIN);
    const high = meanAmount('recurring', 4 * MIN);
    assert.ok(high > low * 2 && Math.abs(low - before) / before < 0.1, `recurring: low ${low}, high ${high}, before ${before}`);
    // Features outside the drift set keep their distribution.
    const age = (t: number) => {
      const g = createGenerator(spec, { seed: 7, drift: driftPlan('sudden', MIN, { features: ['merchant_category'] }) });
      let s = 0;
      for (let i = 0; i < 4_000; i++) s += g.sample(t).features.transaction_amount as number;
      return s / 4_000;
    };
    assert.ok(Math.abs(age(0) - age(2 * MIN)) / age(0) < 0.1);
  });

  test('a concept change alters the label function, not the features', () => {
    const f = { transaction_amount: 800, account_age_days: 20, hour_of_day: 3, distance_from_home_km: 2, user_country: 'US', merchant_category: 'gift_cards', device_type: 'desktop' };
    assert.ok(fraudProbability(f, false, 0) > 0.5);
    assert.ok(fraudProbability(f, false, 1) < 0.2);
    const rate = (concept: boolean) => {
      const g = createGenerator(spec, { seed: 5, drift: driftPlan('sudden', 0), conceptChange: concept });
      let pos = 0;
      let amount = 0;
      for (let i = 0; i < 5_000; i++) {
        const e = g.sample(MIN);
        pos += e.label;
        amount += e.features.transaction_amount as number;
      }
      return { pos, amount };
    };
    const plain = rate(false);
    const changed = rate(true);
    assert.equal(plain.amount, changed.amount);
    assert.notEqual(plain.pos, changed.pos);
  });

  test('other specs get the generic generator, following their types and categories', () => {
    const other = modelSchema.parse({
      name: 'churn',
      task: 'regression',
      features: [
        { name: 'tenure', type: 'numerical' },
        { name: 'plan', type: 'categorical', categories: ['basic', 'pro'] },
      ],
      label: { name: 'spend' },
    });
    const g = createGenerator(other, { seed: 1, drift: driftPlan('sudden', MIN) });
    assert.equal(g.kind, 'generic');
    let before = 0;
    let after = 0;
    for (let i = 0; i < 2_000; i++) {
      const a = g.sample(0);
      assert.equal(typeof a.features.tenure, 'number');
      assert.ok(['basic', 'pro'].includes(a.features.plan as string));
      assert.ok(Number.isFinite(a.label));
      before += a.features.tenure as number;
      after += g.sample(2 * MIN).features.tenure as number;
    }
    assert.ok(after / 2_000 - before / 2_000 > 1, 'the drifted numerical feature shifts by ~1.5 sd');
  });

  test('history: N days of labelled rows, hour_of_day matching the timestamp, written to the training table', async () => {
    const end = new Date(Date.UTC(2025, 2, 10, 15));
    const rows = generateHistory(spec, { days: 3, rowsPerDay: 500, seed: 2, end });
    assert.equal(rows.length, 1_500);
    assert.deepEqual(generateHistory(spec, { days: 3, rowsPerDay: 500, seed: 2, end }), rows);
    for (const r of rows) {
      const ts = r.ts as number;
      assert.ok(ts >= Date.UTC(2025, 2, 7) && ts < Date.UTC(2025, 2, 10));
      assert.equal(r.features.hour_of_day, new Date(ts).getUTCHours());
    }
    const rate = rows.reduce((a, r) => a + r.label, 0) / rows.length;
    assert.ok(rate > 0.01 && rate < 0.1, `fraud rate ${rate}`);

    const env = testEnv();
    const lake = new LakeDataBackend({ dataDir: env.dir, threads: 1 });
    try {
      const written = await writeHistory(lake, spec, { days: 3, rowsPerDay: 500, seed: 2, end });
      assert.equal(written.rowsWritten, 1_500);
      assert.deepEqual(written.partitions.sort(), ['2025-03-07', '2025-03-08', '2025-03-09']);
      const db = await DuckDBInstance.create(':memory:');
      const c = await db.connect();
      const out = await c.runAndReadAll(`SELECT count(*)::INTEGER AS n, sum(is_fraud)::INTEGER AS pos FROM read_parquet('${env.dir}/lake/fraud-detector/training/*/*.parquet')`);
      assert.deepEqual(out.getRowObjectsJS(), [{ n: 1_500, pos: written.positives }]);
      c.closeSync();
      db.closeSync();
    } finally {
      await lake.close();
      env.cleanup();
    }
  });

  test('a short run against a real gateway: rate, delayed labels all matched, summary', async () => {
    const env = testEnv();
    const gw = await startTestGateway(env, { lakeLog: { maxDelayMs: 100 } });
    try {
      await deploy(gw.url, env, { weight: 30 });
      const plan = driftPlan('sudden', 500);
      const summary = await runSimulation({
        gateway: gw.url,
        model: 'fraud-detector',
        generator: createGenerator(spec, { seed: 1, drift: plan }),
        drift: plan,
        rate: 200,
        durationMs: 1_500,
        labelDelayMs: 300,
        concurrency: 32,
      });
      assert.equal(summary.errors, 0, summary.lastError);
      // Every due request is either sent or, when `concurrency` are already waiting (a slow shared
      // machine), skipped and counted: never queued without bound.
      const due = summary.sent + summary.skipped;
      assert.ok(due >= 270 && due <= 300, `due ${due}`);
      assert.ok(summary.sent > 0);
      assert.equal(summary.ok, summary.sent);
      assert.equal(summary.labels.sent, summary.ok);
      assert.equal(summary.labels.matched, summary.ok);
      assert.equal(summary.labels.notSent, 0);
      assert.ok((summary.variants.challenger ?? 0) > 0 && summary.variants.champion > 0);
      const live = (await admin(gw.url, 'GET', `/live-metrics?since=${new Date(Date.now() - MIN).toISOString()}`)).body;
      assert.equal(live.champion.requests + live.challenger.requests, summary.ok);
      assert.equal(live.champion.labelledSamples + live.challenger.labelledSamples, summary.ok);
    } finally {
      await gw.close();
      env.cleanup();
    }
  });
});

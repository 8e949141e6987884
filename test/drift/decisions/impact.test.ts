/** The drift-to-retrain rule: worked examples for each policy and each reason not to pay. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DriftInputError } from '../../../src/drift/index.js';
import { decideDriftImpact, type FeatureDriftVerdict, type ImpactInput } from '../../../src/drift/decisions/index.js';

// amount and the KS-tested merchant drifted and matter (merchant's importance is unknown: assumed to matter);
// region drifted but carries 1% of the importance; age did not drift.
const amount: FeatureDriftVerdict = { feature: 'amount', score: 0.3, threshold: 0.05, importanceShare: 0.6 };
const region: FeatureDriftVerdict = { feature: 'region', score: 0.2, threshold: 0.1, importanceShare: 0.01 };
const age: FeatureDriftVerdict = { feature: 'age', score: 0.01, threshold: 0.05, importanceShare: 0.3 };
const merchant: FeatureDriftVerdict = { feature: 'merchant', score: 0.001, threshold: 0.01, direction: 'lower-is-drift' };

const BASELINE = 0.9; // the champion's validated accuracy
const decide = (estimate: ImpactInput['estimate'], extra: Partial<ImpactInput> = {}) =>
  decideDriftImpact({ drift: [amount, region, age, merchant], estimate, baseline: BASELINE, ...extra });

describe('drift impact', () => {
  test('drift that matters and an estimated loss of 0.05, interval [0.83, 0.87] below 0.90: material', () => {
    const d = decide({ value: 0.85, lower: 0.83, upper: 0.87 });
    assert.equal(d.material, true);
    assert.equal(d.policy, 'impact');
    assert.deepEqual(d.driftedFeatures, ['amount', 'region', 'merchant']);
    assert.deepEqual(d.importantDriftedFeatures, ['amount', 'merchant']);
    assert.ok(Math.abs((d.estimatedLoss as number) - 0.05) < 1e-12, `loss ${d.estimatedLoss}`);
    assert.match(d.reason, /amount \(0\.300 vs 0\.0500, importance 60%\), merchant \(0\.00100 vs 0\.0100\) drifted/);
    assert.match(d.reason, /loss 0\.0500 exceeds the tolerance 0\.0200/);
    assert.match(d.reason, /region .* reported only: importance below 5%/);
  });

  test('estimated loss 0.01, within the tolerance: reported, no retrain', () => {
    const d = decide({ value: 0.89, lower: 0.87, upper: 0.91 });
    assert.deepEqual([d.material, d.lossMaterial], [false, false]);
    assert.match(d.reason, /does not exceed the tolerance 0\.0200: reported, no retrain/);
  });

  test('estimated loss 0.025 but the interval reaches 0.905 > 0.90: not shown with confidence, no retrain', () => {
    const d = decide({ value: 0.875, lower: 0.85, upper: 0.905 });
    assert.equal(d.material, false);
    assert.match(d.reason, /does not exceed the tolerance 0\.0200 with confidence/);
  });

  test('only a feature that does not matter drifted: no retrain even with a material loss', () => {
    const d = decideDriftImpact({ drift: [region, age], estimate: { value: 0.8, lower: 0.78, upper: 0.82 }, baseline: BASELINE });
    assert.deepEqual([d.material, d.lossMaterial], [false, true]);
    assert.match(d.reason, /^no drifted feature matters to the model; drift of region/);
  });

  test('policies: retrain fires on drift that matters without an estimate; alert never fires; impact waits for an estimate', () => {
    assert.equal(decide(null, { policy: 'retrain' }).material, true);
    assert.equal(decide({ value: 0.7, lower: 0.68, upper: 0.72 }, { policy: 'alert' }).material, false);
    const waiting = decide(null);
    assert.equal(waiting.material, false);
    assert.match(waiting.reason, /no label-free estimate/);
    assert.equal(decideDriftImpact({ drift: [age], policy: 'retrain' }).material, false, 'nothing drifted');
  });

  test('a lower-is-better metric (log loss 0.30 -> 0.36 [0.34, 0.38]): material', () => {
    const d = decide({ value: 0.36, lower: 0.34, upper: 0.38 }, { baseline: 0.3, higherIsBetter: false });
    assert.equal(d.material, true);
    assert.ok(Math.abs((d.estimatedLoss as number) - 0.06) < 1e-12, `loss ${d.estimatedLoss}`);
  });

  test('minImportanceShare 0 makes every drifted feature matter', () => {
    const d = decideDriftImpact({ drift: [region], estimate: { value: 0.8, lower: 0.78, upper: 0.82 }, baseline: BASELINE, minImportanceShare: 0 });
    assert.equal(d.material, true);
  });

  test('bad input names the argument', () => {
    const named = (argument: string) => (e: unknown) => e instanceof DriftInputError && e.argument === argument;
    assert.throws(() => decideDriftImpact({ drift: 'x' as never }), named('drift'));
    assert.throws(() => decideDriftImpact({ drift: [{ ...amount, threshold: NaN }] }), named('drift[0].threshold'));
    assert.throws(() => decideDriftImpact({ drift: [{ ...amount, importanceShare: 2 }] }), named('drift[0].importanceShare'));
    assert.throws(() => decideDriftImpact({ drift: [{ ...amount, direction: 'up' as never }] }), named('drift[0].direction'));
    assert.throws(() => decideDriftImpact({ drift: [], estimate: { value: 0.9, lower: 0.95, upper: 0.99 } }), named('estimate'));
    assert.throws(() => decideDriftImpact({ drift: [], policy: 'always' as never }), named('policy'));
    assert.throws(() => decideDriftImpact({ drift: [], tolerance: -1 }), named('tolerance'));
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { analyseCanary } from '../../src/workflows/analysis.js';
import { evaluateGates, flaggedForApproval, rejectingFailures } from '../../src/workflows/gates.js';
import { healthyLive, testModel } from '../helpers/scripted-activities.js';

describe('evaluation gates', () => {
  const evaluation = (challenger: Record<string, number>, champion?: Record<string, number>) => ({
    challenger: { version: 2, metrics: challenger },
    champion: champion ? { version: 1, metrics: champion } : undefined,
    slices: [
      { feature: 'merchant_category', value: 'travel', samples: 400, champion: 0.9, challenger: 0.84 },
      { feature: 'merchant_category', value: 'grocery', samples: 50, champion: 0.9, challenger: 0.5 },
    ],
  });

  it('passes a better challenger, fails a floor, an improvement and a slice regression', () => {
    const gates = testModel('gates: { metric: roc_auc, floor: 0.8, minImprovement: 0.01, slices: [{ feature: merchant_category, tolerance: 0.05, minSamples: 100 }] }').gates;
    const results = evaluateGates(gates, evaluation({ roc_auc: 0.79 }, { roc_auc: 0.85 }));
    assert.deepEqual(rejectingFailures(results).map((r) => r.name), ['floor', 'improvement', 'slice:merchant_category']);
    assert.match(results.find((r) => r.name === 'slice:merchant_category')!.detail, /worst merchant_category=travel: 0\.8400 vs 0\.9000 \(400 samples, tolerance 0\.05\)/);
    const good = evaluateGates(gates, { ...evaluation({ roc_auc: 0.9 }, { roc_auc: 0.85 }), slices: [] });
    assert.deepEqual(rejectingFailures(good), []);
  });

  it('for lower-is-better metrics the comparisons flip', () => {
    const gates = testModel('gates: { metric: rmse, floor: 10, minImprovement: 0.5 }').gates;
    assert.deepEqual(rejectingFailures(evaluateGates(gates, evaluation({ rmse: 8 }, { rmse: 9 }))), []);
    assert.deepEqual(rejectingFailures(evaluateGates(gates, evaluation({ rmse: 8.8 }, { rmse: 9 }))).map((r) => r.name), ['improvement']);
  });

  it('a negative minImprovement is a non-inferiority margin: a little worse passes, much worse does not', () => {
    const gates = testModel('gates: { metric: roc_auc, floor: 0.6, minImprovement: -0.02 }').gates;
    assert.deepEqual(rejectingFailures(evaluateGates(gates, evaluation({ roc_auc: 0.84 }, { roc_auc: 0.85 }))), []);
    const worse = evaluateGates(gates, evaluation({ roc_auc: 0.82 }, { roc_auc: 0.85 }));
    assert.deepEqual(rejectingFailures(worse).map((r) => r.name), ['improvement']);
    assert.match(worse.find((r) => r.name === 'improvement')!.detail, /-0\.0300 \(needs ≥ -0\.02\)/);
  });

  it('a suspiciously perfect metric is flagged per policy; a first model has nothing to beat', () => {
    const review = testModel('gates: { metric: accuracy, onLeakage: require_approval }').gates;
    const results = evaluateGates(review, evaluation({ accuracy: 0.995 }));
    assert.deepEqual(flaggedForApproval(results).map((r) => r.name), ['leakage']);
    assert.equal(results.find((r) => r.name === 'improvement')?.detail, 'no champion yet: first model, nothing to beat');
    const strict = testModel('gates: { metric: accuracy, onLeakage: reject }').gates;
    assert.deepEqual(rejectingFailures(evaluateGates(strict, evaluation({ accuracy: 0.995 }))).map((r) => r.name), ['leakage']);
  });

  it('a missing metric rejects with a clear reason', () => {
    const [only] = evaluateGates(testModel().gates, evaluation({ f1: 0.9 }));
    assert.deepEqual(only, { name: 'metric_present', passed: false, severity: 'reject', detail: 'the evaluation has no finite accuracy for the challenger' });
  });
});

describe('canary analysis', () => {
  const rollout = testModel().rollout;
  it('passes healthy traffic, fails an accuracy drop, an error spike and slow p99', () => {
    assert.equal(analyseCanary(healthyLive(), rollout).verdict, 'pass');
    const drop = healthyLive();
    drop.challenger.accuracy = 0.85;
    assert.match(analyseCanary(drop, rollout).detail, /drop 8\.00% > 5\.00%/);
    const errors = healthyLive();
    errors.challenger.errors = 500;
    assert.match(analyseCanary(errors, rollout).detail, /error rate 10\.00% > 2\.00%/);
    const slow = healthyLive();
    slow.challenger.p99LatencyMs = 300;
    assert.equal(analyseCanary(slow, testModel('rollout: { rollbackOn: { maxP99LatencyMs: 100 } }').rollout).verdict, 'fail');
  });

  it('too few requests is inconclusive; unmatured labels leave accuracy unjudged, not failed', () => {
    assert.equal(analyseCanary(healthyLive(50), rollout).verdict, 'inconclusive');
    const unlabelled = healthyLive();
    unlabelled.challenger.labelledSamples = 10;
    unlabelled.challenger.accuracy = 0.1;
    const result = analyseCanary(unlabelled, rollout);
    assert.equal(result.verdict, 'pass');
    assert.match(result.detail, /accuracy not judged yet \(10 matured labels, needs 200\)/);
  });

  it('a drop past the limit fails only when the labels confirm it (95% one-sided bound)', () => {
    const live = (accuracy: number, labels: number) => {
      const l = healthyLive();
      l.challenger = { ...l.challenger, accuracy, labelledSamples: labels };
      l.champion = { ...l.champion, accuracy: 0.8, labelledSamples: 3 * labels };
      return l;
    };
    // 74% vs 80% on 100 challenger labels: a 6-point drop, but ±7 points of noise.
    const noisy = analyseCanary(live(0.74, 100), { ...rollout, minSamples: 80 });
    assert.equal(noisy.verdict, 'inconclusive');
    assert.match(noisy.detail, /drop 6\.00% > 5\.00%, not yet significant on 100 challenger labels \(95% lower bound -2\.15%\)/);
    // The same drop on 20,000 labels is beyond doubt.
    assert.equal(analyseCanary(live(0.74, 20_000), { ...rollout, minSamples: 80 }).verdict, 'fail');
    // A challenger that is wrong on every label fails on the first 80.
    assert.equal(analyseCanary(live(0.05, 80), { ...rollout, minSamples: 80 }).verdict, 'fail');
  });
});

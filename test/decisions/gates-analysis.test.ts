import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { evaluateGates, flaggedForApproval, rejectingFailures } from '../../src/workflows/gates.js';
import { parseConfig } from '../../src/config/load.js';
import { testModel } from '../helpers/scripted-activities.js';

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

  const regression = (gates: string) =>
    parseConfig(`models:\n  - name: price\n    task: regression\n    features: [{ name: size, type: numerical }]\n    label: { name: price }\n${gates ? `    gates: ${gates}\n` : ''}`).models[0].gates;

  it('for lower-is-better metrics the comparisons flip', () => {
    const gates = regression('{ metric: rmse, floor: 10, minImprovement: 0.5 }');
    assert.deepEqual(rejectingFailures(evaluateGates(gates, evaluation({ rmse: 8 }, { rmse: 9 }))), []);
    assert.deepEqual(rejectingFailures(evaluateGates(gates, evaluation({ rmse: 8.8 }, { rmse: 9 }))).map((r) => r.name), ['improvement']);
    assert.deepEqual(rejectingFailures(evaluateGates(gates, evaluation({ rmse: 10.5 }))).map((r) => r.name), ['floor']);
  });

  it('a regression model by default: rmse, no floor (its scale is the label\'s), at least as good as the champion', () => {
    const gates = regression('');
    const first = evaluateGates(gates, evaluation({ rmse: 12_345 }));
    assert.deepEqual(first.map((r) => [r.name, r.passed]), [['improvement', true]], 'no floor gate, and no leakage ceiling for a loss');
    assert.deepEqual(rejectingFailures(evaluateGates(gates, evaluation({ rmse: 9 }, { rmse: 9 }))), [], 'as good passes');
    assert.deepEqual(rejectingFailures(evaluateGates(gates, evaluation({ rmse: 9.01 }, { rmse: 9 }))).map((r) => r.name), ['improvement']);
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

  it('approval.when: on_flag makes a warning gate ask a person; a gate that requires approval asks in every mode', () => {
    const warned = evaluateGates(testModel('gates: { metric: accuracy }').gates, evaluation({ accuracy: 0.995 }, { accuracy: 0.9 }));
    assert.equal(warned.find((r) => r.name === 'leakage')?.severity, 'warn', 'onLeakage: warn is the default');
    assert.deepEqual(flaggedForApproval(warned, 'on_flag').map((r) => r.name), ['leakage']);
    for (const when of ['never', 'cost_above', 'always', undefined] as const) assert.deepEqual(flaggedForApproval(warned, when), [], `when: ${when}`);
    const clean = evaluateGates(testModel('gates: { metric: accuracy }').gates, evaluation({ accuracy: 0.95 }, { accuracy: 0.9 }));
    assert.deepEqual(flaggedForApproval(clean, 'on_flag'), [], 'nothing flagged, nothing to ask');
    const review = evaluateGates(testModel('gates: { metric: accuracy, onLeakage: require_approval }').gates, evaluation({ accuracy: 0.995 }, { accuracy: 0.9 }));
    for (const when of ['never', 'cost_above', 'always', 'on_flag'] as const) assert.deepEqual(flaggedForApproval(review, when).map((r) => r.name), ['leakage'], `when: ${when}`);
  });

  it('a missing metric rejects with a clear reason', () => {
    const [only] = evaluateGates(testModel().gates, evaluation({ f1: 0.9 }));
    assert.deepEqual(only, { name: 'metric_present', passed: false, severity: 'reject', detail: 'the evaluation has no finite accuracy for the challenger' });
  });
});

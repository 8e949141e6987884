import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { LinearModel } from '../../src/backends/models/format.js';
import { LinearScorer } from '../../src/backends/models/linear-scorer.js';
import { mulberry32 } from '../../src/drift/index.js';
import { blendPrediction } from '../../src/learning/blend.js';
import { judgeSnapshot, snapshotDue, startLearner, stepBudget } from '../../src/learning/learner-state.js';
import { evenSample, OnlineLinearLearner } from '../../src/learning/online-learner.js';

const oneFeature = (task: LinearModel['task'], extra: Partial<LinearModel> = {}): LinearModel => ({
  format: 'retrain-linear/v1',
  task,
  label: 'y',
  features: [{ name: 'x', type: 'numerical', mean: 0, std: 1, impute: 0 }],
  weights: [0],
  bias: 0,
  ...extra,
});

describe('OnlineLinearLearner: worked examples', () => {
  it('one logistic step moves the example\'s own logit by η of its error', () => {
    // x = 2, z = 0, p = 0.5, y = 1: r = p - y = -0.5; ‖x‖² + 1 = 5; step = 0.5 · -0.5 / 5 = -0.05.
    const learner = new OnlineLinearLearner(oneFeature('binary_classification', { threshold: 0.5 }), { learningRate: 0.5, l2: 0 });
    const report = learner.learn({ x: Float64Array.of(2) }, Float64Array.of(1), 1);
    const m = learner.toModel();
    assert.ok(Math.abs(m.weights[0] - 0.1) < 1e-12, `w = 0.05 · 2 = 0.1, got ${m.weights[0]}`);
    assert.ok(Math.abs(m.bias! - 0.05) < 1e-12);
    // New logit at x = 2: 0.2 + 0.05 = 0.25 = -η · r.
    assert.ok(Math.abs(m.weights[0] * 2 + m.bias! - 0.25) < 1e-12);
    assert.deepEqual({ applied: report.applied, correct: report.correct }, { applied: 1, correct: 1 }); // p = 0.5 ≥ 0.5 predicts 1
    assert.ok(Math.abs(report.lossSum - Math.log(2)) < 1e-12);
    assert.equal(learner.updates, 1);
    assert.equal((m.training as { online: { updates: number } }).online.updates, 1);
  });

  it('linear regression: the step is scale-free (η of the error in label units)', () => {
    // Standardised x = (10 - 0) / 5 = 2; ŷ = 1 + 0 = 1; y = 11: r = -10; step = 0.2 · -10 / 5 = -0.4.
    const model = oneFeature('regression', { features: [{ name: 'x', type: 'numerical', mean: 0, std: 5, impute: 0 }], bias: 1 });
    const learner = new OnlineLinearLearner(model, { learningRate: 0.2, l2: 0 });
    learner.learn({ x: Float64Array.of(10) }, Float64Array.of(11), 1);
    const after = new LinearScorer(learner.toModel(), '', '').scoreColumns({ x: Float64Array.of(10) }, 1);
    assert.ok(Math.abs(after.predictions[0] - 3) < 1e-12, `1 + 0.2 · 10 = 3, got ${after.predictions[0]}`);
  });

  it('class weights of the batch model weight the steps', () => {
    const model = oneFeature('binary_classification', { training: { classWeights: { negative: 0.5, positive: 4 } } });
    const learner = new OnlineLinearLearner(model, { learningRate: 0.5, l2: 0 });
    learner.learn({ x: Float64Array.of(0) }, Float64Array.of(1), 1);
    // x = 0: ‖x‖² + 1 = 1; r = 4 · (0.5 - 1) = -2; bias = 0.5 · 2 = 1.
    assert.ok(Math.abs(learner.toModel().bias! - 1) < 1e-12);
  });

  it('skips labels that are not finite or not a class, and changes nothing for them', () => {
    const learner = new OnlineLinearLearner(oneFeature('binary_classification'), { learningRate: 0.1, l2: 0 });
    const report = learner.learn({ x: Float64Array.of(1, 1, 1) }, Float64Array.of(Number.NaN, 2, 0.5), 3);
    assert.deepEqual(report, { applied: 0, skipped: 3, correct: 0, lossSum: 0 });
    assert.deepEqual(learner.toModel().weights, [0]);
  });

  it('categorical features: only the active one-hot weight and the bias move', () => {
    const model: LinearModel = {
      ...oneFeature('regression'),
      features: [{ name: 'c', type: 'categorical', vocabulary: ['a', 'b'] }],
      weights: [0, 0, 0],
    };
    const learner = new OnlineLinearLearner(model, { learningRate: 0.5, l2: 0 });
    learner.learn({ c: ['b'] }, Float64Array.of(4), 1);
    // ‖x‖² + 1 = 2; r = -4; step = -1: weight of "b" and the bias each gain 1.
    assert.deepEqual(learner.toModel().weights, [0, 1, 0]);
    assert.equal(learner.toModel().bias, 1);
  });

  it('multiclass softmax: the true class gains, the others lose, and the probabilities still sum to 1', () => {
    const model: LinearModel = { ...oneFeature('multiclass_classification'), bias: undefined, classes: ['a', 'b', 'c'], biases: [0, 0, 0], weights: [0, 0, 0] };
    const learner = new OnlineLinearLearner(model, { learningRate: 0.3, l2: 0 });
    learner.learn({ x: Float64Array.of(1) }, Float64Array.of(2), 1);
    const m = learner.toModel();
    // p = 1/3 each; residuals 1/3, 1/3, -2/3; ‖x‖² + 1 = 2: steps 0.05, 0.05, -0.1.
    assert.deepEqual(m.biases!.map((b) => Number(b.toFixed(12))), [-0.05, -0.05, 0.1]);
    const probs = new LinearScorer(m, '', '').scoreColumns({ x: Float64Array.of(1) }, 1).probabilities!;
    assert.ok(Math.abs(probs[0] + probs[1] + probs[2] - 1) < 1e-12);
    assert.ok(probs[2] > 1 / 3);
  });

  it('l2 decays the weights before each step', () => {
    const learner = new OnlineLinearLearner(oneFeature('regression', { weights: [2] }), { learningRate: 0.5, l2: 0.1 });
    // x = 0 so the step touches only the bias (ŷ = 0 = y: no step at all): w = 2 · (1 - 0.05).
    learner.learn({ x: Float64Array.of(0) }, Float64Array.of(0), 1);
    assert.ok(Math.abs(learner.toModel().weights[0] - 1.9) < 1e-12);
  });
});

describe('OnlineLinearLearner: learns', () => {
  it('tracks a concept that flips, where the frozen model does not', () => {
    // y = 1 when x > 0, then after the flip y = 1 when x < 0.
    const random = mulberry32(7);
    const model = oneFeature('binary_classification', { weights: [3], bias: 0, threshold: 0.5 });
    const learner = new OnlineLinearLearner(model, { learningRate: 0.1, l2: 0 });
    const n = 4000;
    const x = Float64Array.from({ length: n }, () => random() * 4 - 2);
    const y = Float64Array.from(x, (v) => (v < 0 ? 1 : 0));
    const first = learner.learn({ x: x.subarray(0, n / 2) }, y.subarray(0, n / 2), n / 2);
    const second = learner.learn({ x: x.subarray(n / 2) }, y.subarray(n / 2), n / 2);
    assert.ok(first.correct / (n / 2) > 0.8, `adapts within the first half: ${first.correct / (n / 2)}`);
    assert.ok(second.correct / (n / 2) > 0.97, `then serves the new concept: ${second.correct / (n / 2)}`);
    const frozen = new LinearScorer(model, '', '').scoreColumns({ x: x.subarray(n / 2) }, n / 2);
    const frozenCorrect = frozen.predictions.reduce((s, p, i) => s + (p === y[n / 2 + i] ? 1 : 0), 0);
    assert.ok(frozenCorrect / (n / 2) < 0.05);
  });

  it('a flood is thinned evenly: evenSample keeps at most max, spread over the whole run', () => {
    assert.deepEqual(Array.from(evenSample(3, 5)), [0, 1, 2]);
    assert.deepEqual(Array.from(evenSample(10, 4)), [1, 3, 6, 8]);
  });
});

describe('blendPrediction', () => {
  it('blends probabilities for classifiers and values for regression', () => {
    const w = { batch: 0.7, online: 0.3 };
    assert.deepEqual(blendPrediction({ prediction: 1, score: 0.6 }, { prediction: 0, score: 0.2 }, w, 'binary_classification', 0.5), { prediction: 0, score: 0.7 * 0.6 + 0.3 * 0.2 });
    assert.deepEqual(blendPrediction({ prediction: 10, score: 10 }, { prediction: 20, score: 20 }, w, 'regression'), { prediction: 13, score: 13 });
    const m = blendPrediction({ prediction: 0, score: 0.5, probabilities: [0.5, 0.3, 0.2] }, { prediction: 2, score: 0.9, probabilities: [0, 0.1, 0.9] }, w, 'multiclass_classification');
    assert.equal(m.prediction, 2); // 0.35, 0.24, 0.41
    assert.ok(Math.abs(m.probabilities!.reduce((a, b) => a + b, 0) - 1) < 1e-12);
  });
});

describe('learner state rules: worked examples', () => {
  const at = new Date('2026-11-30T12:00:00Z');
  it('a new learner starts at the champion, learning labels that arrive after it started', () => {
    const s = startLearner({ version: 4 }, at);
    assert.deepEqual({ base: s.base, copy: s.copy, cursor: s.cursor, lastGood: s.lastGood }, { base: 4, copy: null, cursor: { labelTs: at.toISOString(), requestId: '' }, lastGood: { registryVersion: 4, copy: null, metric: null } });
  });

  it('the step budget is the per-minute bound times the minutes since the last step, between one and sixty minutes', () => {
    const s = startLearner({ version: 1 }, at);
    assert.equal(stepBudget(s, new Date(at.getTime() + 10_000), 600), 600, 'under a minute counts as one');
    assert.equal(stepBudget(s, new Date(at.getTime() + 150_000), 600), 1500, '2.5 minutes');
    assert.equal(stepBudget(s, new Date(at.getTime() + 5 * 3_600_000), 600), 36_000, 'a learner idle for hours does not learn a flood at once');
  });

  it('a snapshot is due once the interval passed and there are updates since the last good one', () => {
    const s = startLearner({ version: 1 }, at);
    const later = new Date(at.getTime() + 3_600_000);
    assert.equal(snapshotDue(s, later, 3_600_000), false, 'no copy yet');
    const copy = { version: '1+online.10', artifactUri: 'file:///x', sha256: 'a'.repeat(64), updates: 10 };
    assert.equal(snapshotDue({ ...s, copy }, later, 3_600_000), true);
    assert.equal(snapshotDue({ ...s, copy }, new Date(at.getTime() + 60_000), 3_600_000), false, 'interval not over');
    assert.equal(snapshotDue({ ...s, copy, lastGood: { registryVersion: 2, copy, metric: 0.9 } }, later, 3_600_000), false, 'nothing new since the last good one');
    assert.equal(snapshotDue({ ...s, copy, frozen: { at: '', reason: '', snapshotVersion: 2 } }, later, 3_600_000), false, 'frozen');
  });

  it('judges a snapshot by the relative change of the gates metric, in the metric\'s direction', () => {
    // Accuracy 0.90 → 0.87: -3.33% < -2%: worse. 0.90 → 0.89: -1.11%: good.
    assert.equal(judgeSnapshot('accuracy', 0.9, 0.87, 0.02).verdict, 'worse');
    const good = judgeSnapshot('accuracy', 0.9, 0.89, 0.02);
    assert.equal(good.verdict, 'good');
    assert.ok(Math.abs(good.change! - -0.01 / 0.9) < 1e-12);
    // log_loss is lower-is-better: 0.30 → 0.32 is 6.7% worse; 0.30 → 0.25 is better.
    assert.equal(judgeSnapshot('log_loss', 0.3, 0.32, 0.05).verdict, 'worse');
    assert.equal(judgeSnapshot('log_loss', 0.3, 0.25, 0.05).verdict, 'good');
    assert.equal(judgeSnapshot('rmse', null, 3, 0.02).verdict, 'first');
  });
});

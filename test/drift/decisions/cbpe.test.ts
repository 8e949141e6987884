/**
 * CBPE: a worked example by hand, the point estimates against an independent
 * numpy / scikit-learn computation, and the intervals' coverage of the
 * metrics scikit-learn measures on labels simulated from the probabilities.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { accuracy, DriftInputError } from '../../../src/drift/index.js';
import { estimatePerformance, expectedRocAuc, type EstimatedMetric } from '../../../src/drift/decisions/index.js';
import { decisionFixture, labels, near, probabilities } from './fixture.js';

const F = decisionFixture();
const C = F.cbpe;

describe('CBPE: worked example', () => {
  // p >= 0.5 predicts 1: yhat = 1 1 0 0 1, chance each is right q = .9 .6 .7 .9 .5
  const p = [0.9, 0.6, 0.3, 0.1, 0.5];
  const e = estimatePerformance(p);

  test('expected confusion matrix: TP 2.0, FP 1.0, FN 0.4, TN 1.6', () => {
    const c = e.expectedConfusion;
    [c.tp, c.fp, c.fn, c.tn].forEach((v, i) => near(v, [2.0, 1.0, 0.4, 1.6][i], 1e-12, ['tp', 'fp', 'fn', 'tn'][i]));
  });

  test('accuracy 3.6 / 5 = 0.72, precision 2/3, recall 2/2.4, F1 4/5.4', () => {
    near(e.accuracy.value, 0.72, 1e-15, 'accuracy');
    near(e.precision.value, 2 / 3, 1e-15, 'precision');
    near(e.recall.value, 2 / 2.4, 1e-15, 'recall');
    near(e.f1.value, 4 / 5.4, 1e-15, 'f1');
  });

  test('accuracy standard errors: labels sqrt(0.88)/5, sampling sqrt(0.128)/5, total sqrt(0.72*0.28/5)', () => {
    near(e.accuracy.labelStdError, Math.sqrt(0.88) / 5, 1e-15, 'label');
    near(e.accuracy.samplingStdError, Math.sqrt(0.128) / 5, 1e-15, 'sampling');
    near(e.accuracy.stdError, Math.sqrt((0.72 * 0.28) / 5), 1e-15, 'total');
    near(e.accuracy.lower, 0.72 - 1.959963984540054 * e.accuracy.stdError, 1e-15, 'lower');
    near(e.accuracy.upper, 1, 0, 'upper clipped to 1');
  });

  test('expected ROC AUC: trapezoid of cumulative E[TP] / 2.4 over E[FP] / 2.6 = 5.02 / 6.24', () => {
    near(e.rocAuc as number, 5.02 / 6.24, 1e-15, 'auc');
    assert.equal(expectedRocAuc([1, 1]), null, 'no expected negatives');
  });

  test('explicit decisions: the same scores judged as the model decided', () => {
    const own = estimatePerformance(p, { predictions: [1, 0, 0, 0, 1] });
    near(own.accuracy.value, (0.9 + 0.4 + 0.7 + 0.9 + 0.5) / 5, 1e-15, 'accuracy with the 0.6 row predicted 0');
  });

  test('precision undefined when nothing is predicted positive: value 0, defined false', () => {
    const none = estimatePerformance([0.1, 0.2]);
    assert.equal(none.precision.defined, false);
    assert.equal(none.precision.value, 0);
    near(none.accuracy.value, 0.85, 1e-15, 'accuracy');
  });
});

describe('CBPE against numpy / scikit-learn', () => {
  test('point estimates and accuracy errors equal an independent numpy computation (window 0)', () => {
    const e = estimatePerformance(probabilities(C.probabilitySeed0, C.n));
    const x = C.numpyEstimates;
    for (const k of ['accuracy', 'precision', 'recall', 'f1'] as const) near(e[k].value, x[k], 1e-12, k);
    near(e.rocAuc as number, x.rocAuc, 1e-12, 'rocAuc = sklearn roc_auc_score on rows split by weight p / 1 - p');
    near(e.accuracy.labelStdError, x.accuracyLabelStdError, 1e-14, 'label std error');
    near(e.accuracy.stdError, x.accuracyTotalStdError, 1e-14, 'total std error');
  });

  // 400 windows of 1000 calibrated predictions; labels drawn from the probabilities.
  const windows = Array.from({ length: C.windows }, (_, w) => {
    const p = probabilities(C.probabilitySeed0 + w, C.n);
    return { p, y: labels(C.labelSeed0 + w, p), estimate: estimatePerformance(p), realised: C.realised[w] };
  });
  const share = (hit: (w: (typeof windows)[number]) => boolean) => windows.filter(hit).length / windows.length;
  const inside = (m: EstimatedMetric, v: number, se: number) => Math.abs(v - m.value) <= 1.959963984540054 * se;

  test('the rebuilt labels give scikit-learn\'s accuracy in every window', () => {
    for (const w of windows) near(accuracy(w.y, w.p.map((v) => (v >= 0.5 ? 1 : 0))), w.realised.accuracy, 1e-15, 'accuracy');
  });

  test('label part: the realised accuracy and F1 fall within estimate ± 1.96 label SE in 95% of windows', () => {
    const acc = share((w) => inside(w.estimate.accuracy, w.realised.accuracy, w.estimate.accuracy.labelStdError));
    const f1 = share((w) => inside(w.estimate.f1, w.realised.f1, w.estimate.f1.labelStdError));
    near(acc, 0.95, 0.03, 'accuracy coverage');
    near(f1, 0.95, 0.03, 'F1 coverage');
    assert.deepEqual([acc, f1], [0.955, 0.9625], 'measured');
  });

  test('sampling part: the population accuracy and F1 (exact integrals) fall within ± 1.96 sampling SE in about 95% of windows', () => {
    const acc = share((w) => inside(w.estimate.accuracy, C.population.accuracy, w.estimate.accuracy.samplingStdError));
    const f1 = share((w) => inside(w.estimate.f1, C.population.f1, w.estimate.f1.samplingStdError));
    // The delta method for a ratio is a little optimistic at n = 1000 (recall: 0.91).
    assert.deepEqual([acc, f1], [0.9525, 0.9225], 'measured');
  });

  test('the reported interval (both parts) covers the realised and the population metric at least 95% of the time', () => {
    for (const k of ['accuracy', 'f1', 'precision', 'recall'] as const) {
      const realised = share((w) => w.estimate[k].lower <= w.realised[k] && w.realised[k] <= w.estimate[k].upper);
      const population = share((w) => w.estimate[k].lower <= C.population[k] && C.population[k] <= w.estimate[k].upper);
      // Measured: realised 0.975 / 0.96 / 0.99 / 0.985, population 1 / 1 / 0.99 / 1 (accuracy, precision, recall, F1).
      assert.ok(realised >= 0.95 && population >= 0.95, `${k}: realised ${realised}, population ${population}`);
    }
  });
});

describe('CBPE: bad input', () => {
  const named = (argument: string) => (e: unknown) => e instanceof DriftInputError && e.argument === argument;
  test('names the argument', () => {
    assert.throws(() => estimatePerformance([]), named('probabilities'));
    assert.throws(() => estimatePerformance([0.2, 1.2]), named('probabilities'));
    assert.throws(() => estimatePerformance([0.2], { threshold: 2 }), named('options.threshold'));
    assert.throws(() => estimatePerformance([0.2], { confidence: 1 }), named('options.confidence'));
    assert.throws(() => estimatePerformance([0.2, 0.3], { predictions: [1] }), named('options.predictions'));
    assert.throws(() => estimatePerformance([0.2], { predictions: [0.5] }), named('options.predictions'));
  });
});

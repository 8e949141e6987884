/** Model metrics against scikit-learn (fixture), including ties and zero division. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { accuracy, DriftInputError, f1, logLoss, mae, precision, recall, rmse, rocAuc } from '../../src/drift/index.js';
import { assertRel, fixture, STAT_REL } from './helpers.js';

const F = fixture();

describe('metrics vs scikit-learn', () => {
  for (const c of F.metrics as any[]) {
    test(c.name, () => {
      let checked = 0;
      if (c.yPred) {
        assertRel(accuracy(c.yTrue, c.yPred), c.accuracy, STAT_REL, 'accuracy');
        assertRel(precision(c.yTrue, c.yPred), c.precision, STAT_REL, 'precision');
        assertRel(recall(c.yTrue, c.yPred), c.recall, STAT_REL, 'recall');
        assertRel(f1(c.yTrue, c.yPred), c.f1, STAT_REL, 'f1');
        checked += 4;
      }
      if (c.yScore) {
        assertRel(rocAuc(c.yTrue, c.yScore), c.rocAuc, STAT_REL, 'roc_auc (tied scores)');
        checked++;
      }
      if (c.yProba) {
        assertRel(rocAuc(Float64Array.from(c.yTrue), Float64Array.from(c.yProba)), c.rocAucProba, STAT_REL, 'roc_auc (proba)');
        assertRel(logLoss(c.yTrue, c.yProba), c.logLoss, STAT_REL, 'log_loss (with 0/1 probabilities clipped)');
        assertRel(mae(c.regTrue, c.regPred), c.mae, STAT_REL, 'mae');
        assertRel(rmse(c.regTrue, c.regPred), c.rmse, STAT_REL, 'rmse');
        checked += 4;
      }
      assert.ok(checked > 0);
    });
  }
});

describe('metric input validation', () => {
  test('all-tied scores give AUC 0.5', () => {
    assert.equal(rocAuc([0, 1, 1, 0], [0.3, 0.3, 0.3, 0.3]), 0.5);
  });

  test('perfect and inverted rankings', () => {
    assert.equal(rocAuc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]), 1);
    assert.equal(rocAuc([1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9]), 0);
  });

  test('roc_auc with one class throws a DriftInputError naming yTrue', () => {
    assert.throws(() => rocAuc([1, 1, 1], [0.2, 0.5, 0.9]), (e: unknown) => e instanceof DriftInputError && e.argument === 'yTrue');
  });

  test('length mismatch, empty input and NaN throw', () => {
    assert.throws(() => accuracy([1, 0], [1]), (e: unknown) => e instanceof DriftInputError && e.argument === 'yPred');
    assert.throws(() => mae([], []), (e: unknown) => e instanceof DriftInputError && /empty/.test((e as Error).message));
    assert.throws(() => rmse([1, NaN], [1, 2]), (e: unknown) => e instanceof DriftInputError && e.argument === 'yTrue');
    assert.throws(() => logLoss([1, 0], [1.5, 0.2]), (e: unknown) => e instanceof DriftInputError && e.argument === 'yProba');
  });

  test('log loss is finite for hard 0/1 probabilities (eps clipping)', () => {
    const v = logLoss([1, 0], [0, 1]);
    assertRel(v, -Math.log(2.220446049250313e-16), 1e-15, 'clipped');
  });
});

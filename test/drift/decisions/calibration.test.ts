/**
 * Isotonic calibration against sklearn.isotonic.IsotonicRegression, and why
 * CBPE needs it: an over-confident model's raw scores overstate accuracy.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DriftInputError } from '../../../src/drift/index.js';
import { applyCalibration, estimatePerformance, fitCalibration } from '../../../src/drift/decisions/index.js';
import { decisionFixture, near, overconfidentRows } from './fixture.js';

const F = decisionFixture().isotonic;

function sameArrays(actual: ArrayLike<number>, expected: number[], tolerance: number, label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  for (let i = 0; i < expected.length; i++) near(actual[i], expected[i], tolerance, `${label}[${i}]`);
}

describe('isotonic calibration', () => {
  test('worked example: ties merged, violators pooled', () => {
    // scores .1 .2 .2 .3 .4 .5 .6 .7, labels 0 1 0 0 1 0 1 1: the two 0.2 rows merge to 0.5 (weight 2);
    // 0.5 then 0 at 0.3 violates: pooled (2 * 0.5 + 0) / 3 = 1/3; 1 then 0 at 0.4, 0.5 pools to 0.5.
    const c = fitCalibration([0.1, 0.2, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7], [0, 1, 0, 0, 1, 0, 1, 1]);
    assert.deepEqual(c.x, [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
    sameArrays(c.y, [0, 1 / 3, 1 / 3, 0.5, 0.5, 1, 1], 1e-15, 'y');
    // Between 0.3 (1/3) and 0.4 (1/2), 0.35 interpolates to 5/12; outside the range it clips.
    sameArrays(applyCalibration(c, [0.35, -1, 2]), [5 / 12, 0, 1], 1e-15, 'predictions');
  });

  test('hand cases equal scikit-learn (thresholds and predictions)', () => {
    for (const c of F.cases) {
      const fitted = fitCalibration(c.scores, c.labels);
      sameArrays(fitted.x, c.x, 0, `${c.name} x`);
      sameArrays(fitted.y, c.y, 1e-15, `${c.name} y`);
      sameArrays(applyCalibration(fitted, c.testPoints), c.predictions, 1e-15, `${c.name} predict`);
    }
  });

  test('5000 generated rows with ties: the same 52 thresholds and predictions as scikit-learn', () => {
    const g = F.generated;
    const rows = overconfidentRows(g.seed, g.seed + 1, g.n);
    const fitted = fitCalibration(rows.scores, rows.labels);
    sameArrays(fitted.x, g.x, 0, 'x');
    sameArrays(fitted.y, g.y, 1e-14, 'y');
    sameArrays(applyCalibration(fitted, g.testPoints), g.predictions, 1e-14, 'predict');
    assert.equal(JSON.parse(JSON.stringify(fitted)).x.length, 52, 'plain JSON');
  });

  test('CBPE on raw over-confident scores misses the realised accuracy; calibrated, it lands within its interval', () => {
    const g = F.generated;
    const reference = overconfidentRows(g.seed, g.seed + 1, g.n);
    const window = overconfidentRows(g.seed + 2, g.seed + 3, g.window.n);
    const decisions = window.scores.map((s) => (s >= 0.5 ? 1 : 0));
    const realised = g.window.realisedAccuracy; // scikit-learn on the window's labels: 0.612
    const raw = estimatePerformance(window.scores, { predictions: decisions }).accuracy;
    assert.ok(raw.lower > realised + 0.1, `raw scores estimate ${raw.value} [${raw.lower}, ${raw.upper}]`);
    const calibrated = applyCalibration(fitCalibration(reference.scores, reference.labels), window.scores);
    const fixed = estimatePerformance(calibrated, { predictions: decisions }).accuracy;
    assert.ok(fixed.lower <= realised && realised <= fixed.upper, `calibrated estimate ${fixed.value} [${fixed.lower}, ${fixed.upper}]`);
    near(fixed.value, 0.625, 0.01, 'close to the true 0.625');
  });

  test('bad input names the argument', () => {
    const named = (argument: string) => (e: unknown) => e instanceof DriftInputError && e.argument === argument;
    assert.throws(() => fitCalibration([0.1, 0.2], [0, 2]), named('labels'));
    assert.throws(() => fitCalibration([0.1, 0.2], [0]), named('labels'));
    assert.throws(() => fitCalibration([0.1, NaN], [0, 1]), named('scores'));
    assert.throws(() => applyCalibration({ kind: 'isotonic', x: [0.2, 0.1], y: [0, 1] }, [0.1]), named('calibration'));
    assert.throws(() => applyCalibration({ kind: 'isotonic', x: [0.1], y: [0.5] }, ['a' as never]), named('scores'));
  });
});

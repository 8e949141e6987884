/**
 * Thresholds calibrated from the reference: they follow the window size on
 * iid data (PSI's null spread is about chi2(bins - 1) (1/n + 1/N_rest)), and
 * contiguous blocks raise them when the window cannot see a whole cycle.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DriftInputError } from '../../../src/drift/index.js';
import { calibrateThreshold } from '../../../src/drift/decisions/index.js';
import { generate } from '../helpers.js';
import { decisionFixture, near } from './fixture.js';

const CHI2_99_9 = decisionFixture().chi2ppf99['9']; // scipy.stats.chi2.ppf(0.99, 9) = 21.666
const reference = generate({ kind: 'normal', n: 20_000, seed: 1 });

describe('calibrated thresholds: iid reference', () => {
  const psiAt = (n: number) => calibrateThreshold(reference, { windowSize: n, statistic: 'psi' }).threshold;
  const measured = { 500: psiAt(500), 2000: psiAt(2000), 8000: psiAt(8000) };

  test('PSI threshold shrinks as the window grows: 0.0402 (n = 500), 0.0130 (2000), 0.0041 (8000)', () => {
    near(measured[500], 0.040212671875308095, 1e-12, 'n = 500');
    near(measured[2000], 0.013017029276642642, 1e-12, 'n = 2000');
    near(measured[8000], 0.004119119285637917, 1e-12, 'n = 8000');
    assert.ok(measured[500] > measured[2000] && measured[2000] > measured[8000], 'decreasing');
  });

  test('each within 15% of the chi-square approximation 21.67 (1/n + 1/(20000 - n)): 0.0444, 0.0120, 0.0045', () => {
    for (const n of [500, 2000, 8000] as const) {
      const approx = CHI2_99_9 * (1 / n + 1 / (20_000 - n));
      near(measured[n] / approx, 1, 0.15, `n = ${n}: ${measured[n]} vs ${approx}`);
    }
  });

  test('the fixed 0.15 PSI threshold is 3.7x to 36x above what iid noise reaches', () => {
    assert.ok(0.15 / measured[500] > 3.5 && 0.15 / measured[8000] > 35, 'fixed threshold far above the noise');
  });

  test('deterministic for a seed; another seed gives another draw', () => {
    const a = calibrateThreshold(reference, { windowSize: 500, statistic: 'psi', seed: 7 });
    assert.deepEqual(calibrateThreshold(reference, { windowSize: 500, statistic: 'psi', seed: 7 }), a);
    assert.notEqual(calibrateThreshold(reference, { windowSize: 500, statistic: 'psi', seed: 8 }).threshold, a.threshold);
  });

  test('p-value statistics take the lower quantile: KS p-values of iid windows are uniform, 1% quantile ~ 0.01', () => {
    const small = generate({ kind: 'normal', n: 5_000, seed: 2 });
    const ks = calibrateThreshold(small, { windowSize: 500, statistic: 'ks' });
    assert.equal(ks.direction, 'lower-is-drift');
    near(ks.level, 0.01, 1e-15, 'level');
    near(ks.threshold, 0.0066, 0.0001, 'measured 1% quantile');
    near(ks.distribution.median, 0.5, 0.05, 'median p-value');
  });

  test('categories: Jensen-Shannon and chi-square on a column with missing values', () => {
    const cats = Array.from(generate({ kind: 'int', n: 10_000, seed: 5, k: 6 }), (v) => (v === 5 ? null : `c${v}`));
    const js = calibrateThreshold(cats, { windowSize: 1000, statistic: 'jensen_shannon' });
    assert.equal(js.referenceSize, 8388, 'missing values dropped');
    near(js.threshold, 0.0520, 0.0001, 'measured JS threshold');
    const chi = calibrateThreshold(cats, { windowSize: 1000, statistic: 'chi_square' });
    near(chi.threshold, 0.0056, 0.0001, 'measured chi-square p-value threshold');
  });

  test('a custom statistic: absolute difference of means', () => {
    const meanGap = {
      name: 'mean gap',
      direction: 'higher-is-drift' as const,
      compute: (r: Float64Array, w: Float64Array) => Math.abs(r.reduce((a, b) => a + b, 0) / r.length - w.reduce((a, b) => a + b, 0) / w.length),
    };
    const t = calibrateThreshold(reference, { windowSize: 2000, statistic: meanGap, draws: 100 });
    // Irwin-Hall(4) - 2 has sd sqrt(1/3); the gap's sd is sqrt(1/3 (1/2000 + 1/18000)) = 0.0136, its 99% ~ 2.58 sd.
    near(t.threshold / (2.576 * Math.sqrt((1 / 3) * (1 / 2000 + 1 / 18_000))), 1, 0.2, `${t.threshold} vs about 0.035`);
  });
});

describe('calibrated thresholds: seasonal reference', () => {
  // 28 days of 500 rows a day in time order: a cycle plus noise; the monitor window is one day.
  const day = 500;
  const noise = generate({ kind: 'normal', n: 28 * day, seed: 3 });
  const cycle = (period: number) => noise.map((e, t) => Math.sin((2 * Math.PI * t) / period) + 0.5 * e);
  const psi = (values: Float64Array, blocks: 'random' | 'contiguous') => calibrateThreshold(values, { windowSize: day, statistic: 'psi', blocks }).threshold;

  test('weekly cycle: a day-long contiguous window sees 1/7 of it, threshold 12.0 against 0.040 for random draws', () => {
    const weekly = cycle(7 * day);
    const contiguous = psi(weekly, 'contiguous');
    const random = psi(weekly, 'random');
    near(contiguous, 12.034, 0.001, 'contiguous');
    near(random, 0.03997, 0.0001, 'random');
    assert.ok(contiguous > 100 * random, 'the cycle raises the threshold');
  });

  test('daily cycle: a day-long window sees it whole, contiguous and random thresholds agree (0.037 vs 0.045)', () => {
    const daily = cycle(day);
    const contiguous = psi(daily, 'contiguous');
    const random = psi(daily, 'random');
    assert.ok(contiguous < 1.5 * random && random < 1.5 * contiguous, `contiguous ${contiguous}, random ${random}`);
  });
});

describe('calibrated thresholds: bad input', () => {
  const named = (argument: string) => (e: unknown) => e instanceof DriftInputError && e.argument === argument;
  test('names the argument', () => {
    assert.throws(() => calibrateThreshold(null as never, { windowSize: 10, statistic: 'psi' }), named('reference'));
    assert.throws(() => calibrateThreshold(reference, { windowSize: 0, statistic: 'psi' }), named('options.windowSize'));
    assert.throws(() => calibrateThreshold([1, 2, 3], { windowSize: 3, statistic: 'psi' }), named('options.windowSize'));
    assert.throws(() => calibrateThreshold(reference, { windowSize: 10, statistic: 'energy' as never }), named('options.statistic'));
    assert.throws(() => calibrateThreshold(reference, { windowSize: 10, statistic: 'psi', quantile: 1 }), named('options.quantile'));
    assert.throws(() => calibrateThreshold(reference, { windowSize: 10, statistic: 'psi', blocks: 'weekly' as never }), named('options.blocks'));
    assert.throws(() => calibrateThreshold(reference, { windowSize: 10, statistic: 'psi', draws: 1 }), named('options.draws'));
    const nan = { name: 'nan', direction: 'higher-is-drift' as const, compute: () => NaN };
    assert.throws(() => calibrateThreshold(reference, { windowSize: 10, statistic: nan, draws: 2 }), named('options.statistic'));
  });
});

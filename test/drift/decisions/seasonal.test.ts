/**
 * The seasonal allowance: windows of consecutive rows against windows of random rows, on columns
 * with and without a cycle; and how the monitor's thresholds use it.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfig } from '../../../src/config/load.js';
import { driftThresholds } from '../../../src/monitoring/check.js';
import { buildProfile, DriftInputError, mulberry32 } from '../../../src/drift/index.js';
import { seasonalAllowance } from '../../../src/drift/decisions/index.js';
import { psiNoiseFloor } from '../../../src/drift/noise-floor.js';

const DAY = 500;

/** 28 "days" of DAY rows: N(0, 1), plus a weekly swing of `amplitude` in the mean. */
function column(amplitude: number, seed: number): Float64Array {
  const random = mulberry32(seed);
  const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return Float64Array.from({ length: 28 * DAY }, (_, i) => amplitude * Math.sin((2 * Math.PI * Math.floor(i / DAY)) / 7) + gaussian());
}

describe('seasonal allowance', () => {
  test('a weekly swing of one standard deviation: consecutive windows of a day reach a PSI far above random ones', () => {
    const a = seasonalAllowance(column(1, 1), { windowSize: DAY, statistic: 'psi' });
    assert.ok(a);
    assert.ok(a.contiguous > 0.4, JSON.stringify(a));
    assert.ok(a.random < 0.1, 'random windows: sampling noise of 500 rows in 10 bins');
    assert.equal(a.excess, a.contiguous - a.random);
    // The analytic noise floor the monitor already uses covers the random part.
    assert.ok(Math.abs(a.random - psiNoiseFloor(DAY, 28 * DAY, 10)) < 0.03, `${a.random} vs ${psiNoiseFloor(DAY, 28 * DAY, 10)}`);
  });

  test('no cycle: about no allowance; the allowance grows with the swing', () => {
    const flat = seasonalAllowance(column(0, 2), { windowSize: DAY, statistic: 'psi' })!;
    assert.ok(flat.excess < 0.02, JSON.stringify(flat));
    const small = seasonalAllowance(column(0.3, 3), { windowSize: DAY, statistic: 'psi' })!;
    const large = seasonalAllowance(column(1, 3), { windowSize: DAY, statistic: 'psi' })!;
    assert.ok(flat.excess < small.excess && small.excess < large.excess, `${flat.excess} < ${small.excess} < ${large.excess}`);
  });

  test('categories: a weekday-dependent mix', () => {
    const random = mulberry32(4);
    const mix = Array.from({ length: 28 * DAY }, (_, i) => (random() < 0.5 + 0.3 * Math.cos((2 * Math.PI * Math.floor(i / DAY)) / 7) ? 'web' : 'app'));
    const steady = Array.from({ length: 28 * DAY }, () => (random() < 0.5 ? 'web' : 'app'));
    assert.ok(seasonalAllowance(mix, { windowSize: DAY, statistic: 'jensen_shannon' })!.excess > 0.1);
    assert.ok(seasonalAllowance(steady, { windowSize: DAY, statistic: 'jensen_shannon' })!.excess < 0.02);
  });

  test('too short to tell a cycle from a trend (under four windows): null; bad input named', () => {
    assert.equal(seasonalAllowance(column(1, 5).subarray(0, 3 * DAY), { windowSize: DAY, statistic: 'psi' }), null);
    assert.throws(() => seasonalAllowance(column(1, 5), { windowSize: DAY, statistic: 'ks' as never }), (e: unknown) => e instanceof DriftInputError && /statistic/.test(e.message));
    assert.throws(() => seasonalAllowance(column(1, 5), { windowSize: 0, statistic: 'psi' }), /windowSize/);
  });
});

describe('monitor thresholds with a seasonal allowance', () => {
  const spec = parseConfig(`models:\n  - name: m\n    task: binary_classification\n    features:\n      - { name: weekly, type: numerical }\n      - { name: steady, type: numerical }\n    label: { name: y, delay: 1d }\n`, 'test.yaml').models[0];
  const weekly = column(1, 6);
  const steady = column(0, 7);
  const profile = buildProfile({ weekly, steady }, { features: spec.features });
  const seasonal = {
    windowMs: 86_400_000, windowRows: DAY,
    features: {
      weekly: seasonalAllowance(weekly, { windowSize: DAY, statistic: 'psi' })!,
      steady: seasonalAllowance(steady, { windowSize: DAY, statistic: 'psi' })!,
    },
  };
  const window = { rowCount: DAY, missing: {} };

  test('calibrated: noise floor of the window plus the cycle, never below the fixed threshold', () => {
    const t = driftThresholds(spec, { ...profile, seasonality: seasonal }, window).perFeature ?? {};
    const floor = psiNoiseFloor(DAY, weekly.length, 10);
    assert.equal(t.weekly.psi, Math.max(0.15, floor + seasonal.features.weekly.excess));
    assert.ok(t.weekly.psi! > 0.4);
    assert.equal(t.steady.psi, Math.max(0.15, floor + seasonal.features.steady.excess));
    // Without the allowance (an older profile), the thresholds are what they were.
    const before = driftThresholds(spec, profile, window).perFeature ?? {};
    assert.equal(before.weekly.psi, Math.max(0.15, floor));
  });

  test('fixed thresholds and per-feature ones are left as configured', () => {
    const fixed = parseConfig(`models:\n  - name: m\n    task: binary_classification\n    features:\n      - { name: weekly, type: numerical }\n      - { name: steady, type: numerical }\n    label: { name: y, delay: 1d }\n    triggers:\n      drift: { thresholds: fixed, perFeature: { steady: { psi: 0.3 } } }\n`, 'test.yaml').models[0];
    const t = driftThresholds(fixed, { ...profile, seasonality: seasonal }, window).perFeature ?? {};
    assert.equal(t.weekly, undefined);
    assert.equal(t.steady.psi, 0.3);
  });
});

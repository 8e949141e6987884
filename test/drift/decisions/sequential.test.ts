/**
 * The Bernoulli CUSUM on matured errors: worked numbers, false alarms and
 * detection delays measured on seeded streams, batch = one by one, restarts.
 * Baseline error 0.10, tolerance 0.02, defaults alpha 0.01 over 100k samples
 * (h = ln(1e7) = 16.118).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DriftInputError, mulberry32 } from '../../../src/drift/index.js';
import { near } from './fixture.js';
import {
  createDetector, detectorThreshold, expectedDelay, resetDetector, resultOf, update, type SequentialConfig, type SequentialState,
} from '../../../src/drift/decisions/index.js';

const BASELINE = { baseline: 0.1 };
const CHUNK = 1000;

/** Feeds a seeded stream (0/1 errors with rate p, or bounded losses uniform on [0, 2p]) until the alarm; the alarm's sample or null. */
function firstAlarm(p: number, samples: number, seed: number, config: SequentialConfig = BASELINE, loss = false): number | null {
  let state = createDetector(config);
  const random = mulberry32(seed);
  const batch = new Float64Array(CHUNK);
  for (let i = 0; i < samples; i += CHUNK) {
    for (let j = 0; j < CHUNK; j++) batch[j] = loss ? random() * 2 * p : random() < p ? 1 : 0;
    state = update(state, batch).state;
    if (state.firedAt !== null) return state.firedAt;
  }
  return null;
}

function alarmFraction(p: number, runs: number, samples: number, seed0: number): number {
  let fired = 0;
  for (let k = 0; k < runs; k++) if (firstAlarm(p, samples, seed0 + k) !== null) fired++;
  return fired / runs;
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

function bernoulli(p: number, n: number, seed: number): number[] {
  const random = mulberry32(seed);
  return Array.from({ length: n }, () => (random() < p ? 1 : 0));
}

describe('sequential detector: worked example', () => {
  const a = Math.log(0.14 / 0.12); // an error: ln(p1 / p0), H0 p0 = 0.10 + 0.02, H1 p1 = p0 + 0.02
  const b = Math.log(0.86 / 0.88); // a success: ln((1 - p1) / (1 - p0))

  test('threshold h = ln(horizon / alpha) = ln(1e7)', () => {
    assert.equal(createDetector(BASELINE).config.threshold, Math.log(1e7));
    near(detectorThreshold(0.01, 100_000), 16.11809565095832, 1e-12, 'h');
  });

  test('two errors and a success: S = 2 ln(0.14/0.12) + ln(0.86/0.88) = 0.2853', () => {
    const { result, state } = update(createDetector(BASELINE), [1, 1, 0]);
    near(result.statistic, 2 * a + b, 1e-15, 'S');
    near(result.statistic, 0.28531184143, 1e-10, 'S by hand');
    assert.equal(result.fired, false);
    assert.deepEqual(state.run, { count: 3, errors: 2 });
    // 13 successes take it below zero (0.2853 / 0.02299 = 12.4): reset, the run starts again.
    const after = update(state, new Array(13).fill(0));
    assert.equal(after.result.statistic, 0);
    assert.deepEqual(after.result.sinceChange, { samples: 0, errorRate: null });
    assert.equal(after.result.samples, 16);
  });

  test('Wald delay at 15% errors: h / (0.15 a + 0.85 b) = 4500 samples', () => {
    const drift = 0.15 * a + 0.85 * b;
    near(expectedDelay(BASELINE, 0.15), Math.log(1e7) / drift, 1e-6, 'delay');
    near(expectedDelay(BASELINE, 0.15), 4500, 5, 'delay by hand');
    assert.equal(expectedDelay(BASELINE, 0.11), Infinity, 'a rise within the tolerance drifts down');
  });
});

describe('sequential detector: measured on seeded streams', () => {
  test('stable at the baseline (10% errors): no alarm in 100k samples', () => {
    assert.equal(firstAlarm(0.1, 100_000, 42), null);
  });

  test('error rate 10% -> 15%: fires; median delay 4063 samples over 50 runs (Wald 4500)', () => {
    const delays = Array.from({ length: 50 }, (_, k) => firstAlarm(0.15, 100_000, 2000 + k));
    assert.ok(delays.every((d) => d !== null), 'every run fires');
    const m = median(delays as number[]);
    assert.equal(m, 4063, 'measured median (min 2521, max 8568)');
  });

  test('bigger rises are caught sooner: median 1256 samples at 20%, 768 at 25%', () => {
    const at = (p: number) => median(Array.from({ length: 50 }, (_, k) => firstAlarm(p, 100_000, 2000 + k) ?? Infinity));
    assert.equal(at(0.2), 1256);
    assert.equal(at(0.25), 768);
  });

  test('a 1-point rise (within tolerance): 0 of 200 runs of 100k samples fire, designed alpha 0.01', () => {
    const fraction = alarmFraction(0.11, 200, 100_000, 1000);
    assert.ok(fraction <= 0.005, `false alarm fraction ${fraction}`);
    assert.equal(fraction, 0);
  });

  test('exactly at the tolerance (12%): false alarms within 100k samples stay under alpha = 0.01 (measured 0/200)', () => {
    const fraction = alarmFraction(0.12, 200, 100_000, 1000);
    assert.ok(fraction <= 0.01, `false alarm fraction ${fraction}`);
  });

  test('bounded regression loss (uniform on [0, 2m]): mean 0.10 never fires; mean 0.20 fires, median 1307 samples', () => {
    assert.equal(firstAlarm(0.1, 100_000, 77, BASELINE, true), null);
    const delays = Array.from({ length: 50 }, (_, k) => firstAlarm(0.2, 100_000, 3000 + k, BASELINE, true) ?? Infinity);
    assert.equal(median(delays), 1307);
  });
});

describe('sequential detector: state and batches', () => {
  test('an array batch equals the same samples one at a time, exactly', () => {
    const errors = bernoulli(0.13, 5000, 9);
    const batched = update(createDetector(BASELINE), errors).state;
    let single = createDetector(BASELINE);
    for (const e of errors) single = update(single, [e]).state;
    assert.deepEqual(batched, single);
  });

  test('{ errors, count } equals the array while the statistic stays above zero, and is never above it otherwise', () => {
    const allErrors = update(createDetector(BASELINE), new Array(40).fill(1)).state;
    const counted = update(createDetector(BASELINE), { errors: 40, count: 40 }).state;
    near(counted.statistic, allErrors.statistic, 1e-12, 'all errors');
    for (let seed = 1; seed <= 20; seed++) {
      const errors = bernoulli(0.16, 800, seed);
      const perSample = update(createDetector(BASELINE), errors).result;
      const aggregate = update(createDetector(BASELINE), { errors: errors.reduce((x, y) => x + y, 0), count: errors.length }).result;
      assert.ok(aggregate.statistic <= perSample.statistic + 1e-12, `seed ${seed}`);
      near(aggregate.estimate.errorRate as number, perSample.estimate.errorRate as number, 0.01, `estimate, seed ${seed}`);
    }
  });

  test('the state is plain JSON of constant size and survives a restart mid-stream', () => {
    const errors = bernoulli(0.14, 20_000, 5);
    const straight = update(createDetector(BASELINE), errors);
    const first = update(createDetector(BASELINE), errors.slice(0, 7_000)).state;
    const restored = JSON.parse(JSON.stringify(first)) as SequentialState;
    const resumed = update(restored, errors.slice(7_000));
    assert.deepEqual(resumed, straight);
    const small = JSON.stringify(update(createDetector(BASELINE), [1, 0]).state).length;
    assert.ok(JSON.stringify(straight.state).length < small + 80, 'no history kept');
  });

  test('estimate: recent error rate with a Wilson interval; steady-state effective size 2 window - 1', () => {
    const r = update(createDetector(BASELINE), bernoulli(0.15, 30_000, 11)).result;
    near(r.estimate.effectiveSamples, 3999, 0.01, 'effective samples');
    assert.ok(r.estimate.lower < 0.15 && 0.15 < r.estimate.upper, `interval ${r.estimate.lower}..${r.estimate.upper}`);
    near(r.estimate.errorRate as number, 0.1524, 1e-4, 'recent error rate');
    near(r.estimate.upper - r.estimate.lower, 0.0223, 1e-4, 'interval width');
  });

  test('once fired it stays in alarm, and the run since the change point shows the new rate; reset clears it', () => {
    let s = update(createDetector(BASELINE), bernoulli(0.1, 20_000, 21)).state;
    s = update(s, bernoulli(0.25, 3_000, 22)).state;
    const r = resultOf(s);
    assert.equal(r.fired, true);
    assert.ok((r.firedAt as number) > 20_000 && (r.firedAt as number) < 23_000, `fired at ${r.firedAt}`);
    assert.ok(Math.abs((r.sinceChange.errorRate as number) - 0.25) < 0.05, `since change ${r.sinceChange.errorRate}`);
    assert.equal(update(s, new Array(5000).fill(0)).result.fired, true, 'latched');
    const cleared = resultOf(resetDetector(s));
    assert.deepEqual([cleared.fired, cleared.statistic, cleared.samples], [false, 0, 23_000]);
  });
});

describe('sequential detector: bad input', () => {
  const named = (argument: string) => (e: unknown) => e instanceof DriftInputError && e.argument === argument;
  test('config', () => {
    assert.throws(() => createDetector({ baseline: 0 }), named('config.baseline'));
    assert.throws(() => createDetector({ baseline: 0.9, tolerance: 0.05, detectableShift: 0.05 }), named('config'));
    assert.throws(() => createDetector({ baseline: 0.1, alpha: 1 }), named('config.alpha'));
    assert.throws(() => createDetector({ baseline: 0.1, window: 1 }), named('config.window'));
    assert.throws(() => createDetector(null as never), named('config'));
  });
  test('batches and state', () => {
    const s = createDetector(BASELINE);
    assert.throws(() => update(s, [0, 2]), named('batch'));
    assert.throws(() => update(s, [0, NaN]), named('batch'));
    assert.throws(() => update(s, { errors: 5, count: 4 }), named('batch.errors'));
    assert.throws(() => update(s, { errors: 1, count: 2.5 }), named('batch.count'));
    assert.throws(() => update({ ...s, statistic: -1 }, [1]), named('state.statistic'));
    assert.throws(() => update({ ...s, kind: 'adwin' } as never, [1]), named('state'));
  });
});

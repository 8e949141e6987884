import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { arlThreshold, createDetector, detectorThreshold, expectedDelay, update } from '../../../src/drift/decisions/index.js';
import { mulberry32 } from '../../../src/drift/random.js';

/** Runs of `samples` Bernoulli(p) errors through a fresh detector; how many alarm. */
function alarms(threshold: number, p: number, runs: number, samples: number, seed: number): number {
  const random = mulberry32(seed);
  let fired = 0;
  for (let r = 0; r < runs; r++) {
    let state = createDetector({ baseline: 0.1, tolerance: 0.02, threshold });
    const errors = new Float64Array(1_000);
    for (let done = 0; done < samples && state.firedAt === null; done += errors.length) {
      for (let i = 0; i < errors.length; i++) errors[i] = random() < p ? 1 : 0;
      state = update(state, errors).state;
    }
    if (state.firedAt !== null) fired++;
  }
  return fired;
}

describe('sequential detector: threshold from the average run length (Siegmund)', () => {
  const h = arlThreshold({ baseline: 0.1, tolerance: 0.02, arl: 100_000 / 0.01 });

  test('worked example: baseline 10%, tolerance 2%, ARL 1e7 at the edge → h ≈ 9.76, 40% below the union bound', () => {
    assert.ok(Math.abs(h - 9.757) < 0.01, `h = ${h}`);
    assert.ok(h < 0.61 * detectorThreshold(0.01, 100_000), 'far less evidence needed than ln(horizon / alpha)');
    // A 5-point rise (15%): about 40% fewer samples to an alarm.
    const bound = expectedDelay({ baseline: 0.1, tolerance: 0.02 }, 0.15);
    const arl = expectedDelay({ baseline: 0.1, tolerance: 0.02, threshold: h }, 0.15);
    assert.ok(arl < 0.65 * bound, `${arl.toFixed(0)} vs ${bound.toFixed(0)} samples`);
  });

  test('measured: at the tolerance edge about the designed 1% of 100,000-sample runs alarm; at the baseline none', () => {
    const edge = alarms(h, 0.12, 300, 100_000, 11);
    assert.ok(edge <= 9, `${edge} of 300 runs at the edge alarmed (designed ≈ 3)`);
    assert.equal(alarms(h, 0.1, 100, 100_000, 12), 0, 'a model at its validated error never alarms');
    assert.ok(alarms(h, 0.17, 50, 20_000, 13) === 50, 'a 7-point rise is always caught within 20,000 samples');
  });
});

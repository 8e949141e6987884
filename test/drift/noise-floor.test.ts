import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { jensenShannonFromProportions } from '../../src/drift/categorical.js';
import { chi2Quantile, jensenShannonNoiseFloor, psiNoiseFloor } from '../../src/drift/noise-floor.js';
import { psiFromProportions } from '../../src/drift/psi.js';
import { mulberry32 } from '../../src/drift/random.js';

/** Counts of n draws from the categorical distribution p. */
function draw(p: number[], n: number, random: () => number): number[] {
  const counts = p.map(() => 0);
  for (let i = 0; i < n; i++) {
    let u = random();
    let k = 0;
    while (k < p.length - 1 && u >= p[k]) u -= p[k++];
    counts[k]++;
  }
  return counts;
}

describe('drift noise floors', () => {
  it('chi-square quantiles match scipy.stats.chi2.ppf', () => {
    // scipy.stats.chi2.ppf(0.99, 9) = 21.665994333461924; ppf(0.95, 4) = 9.487729036781154; ppf(0.99, 1) = 6.6348966010212145
    assert.ok(Math.abs(chi2Quantile(0.99, 9) - 21.665994333461924) < 1e-8);
    assert.ok(Math.abs(chi2Quantile(0.95, 4) - 9.487729036781154) < 1e-8);
    assert.ok(Math.abs(chi2Quantile(0.99, 1) - 6.6348966010212145) < 1e-8);
  });

  it('a window drawn from the reference exceeds the 99% PSI floor about 1% of the time, at every window size', () => {
    const p = Array.from({ length: 10 }, () => 0.1);
    const random = mulberry32(7);
    for (const n of [200, 1_000, 5_000]) {
      const floor = psiNoiseFloor(n, 1e12, 10);
      let above = 0;
      const trials = 2_000;
      for (let t = 0; t < trials; t++) {
        const q = draw(p, n, random).map((c) => Math.max(c / n, 1e-4));
        if (psiFromProportions(p, q) > floor) above++;
      }
      assert.ok(above / trials < 0.03 && above / trials > 0.001, `n=${n}: ${above} of ${trials} above ${floor.toFixed(4)}`);
    }
    assert.ok(psiNoiseFloor(200, 1e6, 10) > psiNoiseFloor(5_000, 1e6, 10), 'the floor falls as the window grows');
  });

  it('the Jensen–Shannon floor holds at its level for uneven categories', () => {
    const p = [0.5, 0.25, 0.15, 0.07, 0.03];
    const random = mulberry32(3);
    const n = 500;
    const floor = jensenShannonNoiseFloor(n, 1e12, p.length);
    let above = 0;
    for (let t = 0; t < 2_000; t++) if (jensenShannonFromProportions(p, draw(p, n, random).map((c) => c / n)) > floor) above++;
    assert.ok(above / 2_000 < 0.03, `${above} of 2000 above ${floor.toFixed(4)}`);
  });
});

/** The normal quantile and the Wilson interval against scipy / statsmodels (decision fixtures). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DriftInputError } from '../../../src/drift/index.js';
import { normalQuantile, wilsonInterval } from '../../../src/drift/decisions/index.js';
import { decisionFixture, near } from './fixture.js';

const F = decisionFixture();

describe('normal quantile and Wilson interval', () => {
  test('normalQuantile = scipy.stats.norm.ppf to 1e-15 relative, from 1e-300 to 1 - 1e-12', () => {
    F.normalQuantile.p.forEach((p: number, i: number) => {
      const expected = F.normalQuantile.ppf[i];
      near(normalQuantile(p), expected, 1e-15 * Math.max(1, Math.abs(expected)), `ppf(${p})`);
    });
    assert.equal(normalQuantile(0.5), 0);
  });

  test('wilsonInterval = statsmodels proportion_confint(method="wilson")', () => {
    for (const c of F.wilson) {
      const { lower, upper } = wilsonInterval(c.successes, c.n, c.confidence);
      near(lower, c.interval[0], 1e-14, `lower ${c.successes}/${c.n}`);
      near(upper, c.interval[1], 1e-14, `upper ${c.successes}/${c.n}`);
    }
  });

  test('bad input names the argument', () => {
    const named = (argument: string) => (e: unknown) => e instanceof DriftInputError && e.argument === argument;
    assert.throws(() => normalQuantile(1), named('p'));
    assert.throws(() => wilsonInterval(3, 2), named('successes'));
    assert.throws(() => wilsonInterval(1, 2, 1.5), named('confidence'));
  });
});

/** Benjamini-Hochberg and Holm adjusted p-values against scipy and statsmodels. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DriftInputError } from '../../../src/drift/index.js';
import { adjustPValues, rejectAtLevel } from '../../../src/drift/decisions/index.js';
import { decisionFixture, near } from './fixture.js';

const CASES = decisionFixture().multipleTesting;

function sameValues(actual: Array<number | null>, expected: number[], label: string): void {
  assert.equal(actual.length, expected.length, `${label}: length`);
  expected.forEach((e, i) => near(actual[i] as number, e, 1e-15, `${label}[${i}]`));
}

describe('multiple testing', () => {
  test('worked example: p = .01 .04 .03 .2 .5 (m = 5)', () => {
    // BH, sorted .01 .03 .04 .2 .5: 5p/rank = .05 .075 .0667 .25 .5, then running minimum from the top.
    sameValues(adjustPValues([0.01, 0.04, 0.03, 0.2, 0.5]), [0.05, 0.0666666666666667, 0.0666666666666667, 0.25, 0.5], 'bh');
    // Holm: (m - rank + 1) p = .05 .12 .12 .4 .5, then running maximum.
    sameValues(adjustPValues([0.01, 0.04, 0.03, 0.2, 0.5], 'holm'), [0.05, 0.12, 0.12, 0.4, 0.5], 'holm');
  });

  for (const c of CASES) {
    test(`${c.name}: BH = scipy false_discovery_control, Holm = statsmodels multipletests`, () => {
      sameValues(adjustPValues(c.pValues, 'bh'), c.bh, 'bh');
      sameValues(adjustPValues(c.pValues, 'holm'), c.holm, 'holm');
      assert.deepEqual(rejectAtLevel(c.pValues, 0.05, 'holm').rejected, c.holmRejectedAt05, 'holm rejections');
      assert.deepEqual(rejectAtLevel(c.pValues, 0.05, 'bh').rejected, c.bhRejectedAt05, 'bh rejections');
    });
  }

  test('forty features, three shifted (p 1e-6, 2e-4, 0.004): raw p <= 0.01 flags 4, one of them noise; BH and Holm flag only shifted ones', () => {
    const c = CASES.find((x: { name: string }) => x.name.startsWith('forty'));
    const flagged = (rejected: boolean[]) => rejected.flatMap((r, i) => (r ? [i] : []));
    const raw = flagged(c.pValues.map((p: number) => p <= 0.01));
    assert.equal(raw.length, 4, 'unadjusted');
    assert.ok(raw.some((i) => i < 37), 'a stable feature among the unadjusted flags');
    assert.deepEqual(flagged(rejectAtLevel(c.pValues, 0.01, 'bh').rejected), [37, 38], 'bh');
    assert.deepEqual(flagged(rejectAtLevel(c.pValues, 0.01, 'holm').rejected), [37, 38], 'holm');
  });

  test('null entries (insufficient data) stay null and do not count in m', () => {
    const adjusted = adjustPValues([0.01, null, 0.04]);
    assert.equal(adjusted[1], null);
    sameValues([adjusted[0], adjusted[2]], [0.02, 0.04], 'm = 2');
    assert.deepEqual(rejectAtLevel([null], 0.05).rejected, [false]);
  });

  test('bad input names the argument', () => {
    const named = (argument: string) => (e: unknown) => e instanceof DriftInputError && e.argument === argument;
    assert.throws(() => adjustPValues([0.1, 1.5]), named('pValues'));
    assert.throws(() => adjustPValues([0.1, NaN]), named('pValues'));
    assert.throws(() => adjustPValues('0.1' as never), named('pValues'));
    assert.throws(() => adjustPValues([0.1], 'bonferroni' as never), named('method'));
    assert.throws(() => rejectAtLevel([0.1], 0), named('alpha'));
  });
});

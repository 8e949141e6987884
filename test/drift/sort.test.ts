/** The fast ordering primitives must be exact: property tests against Array#sort. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ksStatisticSorted, ksStatisticUnsorted, selectRanks, sortedCopy } from '../../src/drift/index.js';
import { generate } from './helpers.js';

const byValue = (a: number, b: number): number => a - b;
const finiteDouble = fc.double({ noNaN: true, noDefaultInfinity: true });

describe('sortedCopy', () => {
  test('equals a comparator sort for arbitrary finite doubles (small and radix paths)', () => {
    fc.assert(
      fc.property(fc.array(finiteDouble, { maxLength: 300 }), fc.integer({ min: 0, max: 3 }), (xs, dup) => {
        // pad beyond the radix threshold with repeats so both code paths run
        const big = dup > 0 ? Array.from({ length: 4100 }, (_, i) => xs.length ? xs[i % xs.length] : i * 0.5) : xs;
        const got = Array.from(sortedCopy(Float64Array.from(big)));
        const want = [...big].sort(byValue);
        assert.deepEqual(got.map((v) => v + 0), want.map((v) => v + 0)); // -0 and 0 compare equal
      }),
      { numRuns: 60 },
    );
  });

  test('sorts large data with negatives, ties, subnormals and extremes', () => {
    const x = generate({ kind: 'normal', n: 300000, seed: 5, scale: 1e6 });
    for (let i = 0; i < x.length; i += 997) x[i] = [0, -0, 5e-324, -5e-324, 1.7976931348623157e308, -1.7976931348623157e308, 42][i % 7];
    const got = sortedCopy(x);
    const want = Array.from(x).sort(byValue);
    for (let i = 0; i < want.length; i++) assert.ok(got[i] === want[i], `index ${i}`);
  });
});

describe('selectRanks', () => {
  test('returns exact order statistics on large inputs, including heavy ties', () => {
    const datasets = [
      generate({ kind: 'normal', n: 250000, seed: 1 }),
      generate({ kind: 'int', n: 250000, seed: 2, k: 3 }),
      generate({ kind: 'grid', n: 200000, seed: 3, step: 0.5 }),
      generate({ kind: 'uniform', n: 100001, seed: 4, loc: -1e-300, scale: 2e-300 }),
      new Float64Array(50000).fill(7),
      // a third of continuous data tied on one value (zero-inflated features)
      generate({ kind: 'normal', n: 90000, seed: 6 }).map((v, i) => (i % 3 === 0 ? 0.125 : v)),
    ];
    for (const x of datasets) {
      const sorted = Array.from(x).sort(byValue);
      const n = x.length;
      const ranks = [0, 1, 2, Math.floor(n / 100), Math.floor(n / 10), Math.floor(n / 3), n >> 1, (n >> 1) + 1, n - 3, n - 2, n - 1];
      const got = selectRanks(x, ranks);
      ranks.forEach((r, i) => assert.equal(got[i], sorted[r], `rank ${r} of ${n}`));
    }
  });

  test('matches sorting for arbitrary ranks (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 31 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 40 }), (seed, qs) => {
        const x = generate({ kind: 'normal', n: 30000, seed });
        const sorted = Array.from(x).sort(byValue);
        const ranks = qs.map((q) => Math.min(x.length - 1, Math.floor(q * x.length)));
        const got = selectRanks(x, ranks);
        ranks.forEach((r, i) => assert.equal(got[i], sorted[r]));
      }),
      { numRuns: 15 },
    );
  });
});

describe('ksStatisticUnsorted', () => {
  test('equals the merge of fully sorted samples, bit for bit, with and without ties', () => {
    const pairs: Array<[Float64Array, Float64Array]> = [
      [generate({ kind: 'normal', n: 200000, seed: 1 }), generate({ kind: 'normal', n: 150001, seed: 2, loc: 0.002 })],
      [generate({ kind: 'normal', n: 100000, seed: 3 }), generate({ kind: 'normal', n: 100000, seed: 4, loc: 0.3 })],
      [generate({ kind: 'int', n: 100000, seed: 5, k: 7 }), generate({ kind: 'int', n: 80000, seed: 6, k: 8 })],
      [generate({ kind: 'grid', n: 120000, seed: 7, step: 0.01 }), generate({ kind: 'grid', n: 90000, seed: 8, step: 0.01, loc: 0.005 })],
      [generate({ kind: 'uniform', n: 300000, seed: 9 }), generate({ kind: 'uniform', n: 5000, seed: 10 })],
      [generate({ kind: 'normal', n: 100000, seed: 11 }).map((v, i) => (i % 4 === 0 ? 0 : v)), generate({ kind: 'normal', n: 100000, seed: 12 })],
    ];
    for (const [a, b] of pairs) {
      const want = ksStatisticSorted(sortedCopy(a), sortedCopy(b));
      assert.ok(want > 0);
      assert.equal(ksStatisticUnsorted(a, b), want);
      assert.equal(ksStatisticUnsorted(b, a), want);
    }
  });
});

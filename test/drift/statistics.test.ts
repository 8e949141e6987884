/**
 * Agreement with numpy / scipy on the fixture (scripts/drift-fixtures/generate.py):
 * statistics to 1e-9 relative, p-values to 1e-6 absolute.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  binCounts, kolmogorovSmirnovSf, ksAgainstSortedReference, ksTest, percentile, psi, psiBinEdges, smirnovSf,
  sortedCopy, wasserstein,
} from '../../src/drift/index.js';
import { assertAbs, assertRel, fixture, materialise, P_ABS, STAT_REL } from './helpers.js';

const F = fixture();

describe('numpy.percentile (linear)', () => {
  for (const [i, c] of (F.percentile as any[]).entries()) {
    test(`dataset ${i}`, () => {
      const x = materialise(c.data);
      const got = percentile(x, c.q);
      c.expected.forEach((e: number, j: number) => assertRel(got[j], e, 1e-12, `q=${c.q[j]}`));
    });
  }
});

describe('psi vs numpy percentile + histogram', () => {
  for (const c of F.psi as any[]) {
    test(c.name, () => {
      const ref = materialise(c.reference);
      const cur = materialise(c.current);
      const edges = psiBinEdges(ref, c.bins);
      // edges must be bit-identical: a value equal to an edge must fall in the same bin
      assert.deepEqual(Array.from(edges, (e) => (Number.isFinite(e) ? e : null)), c.edges);
      assert.deepEqual(Array.from(binCounts(ref, edges)), c.referenceCounts);
      assert.deepEqual(Array.from(binCounts(cur, edges)), c.currentCounts);
      assertRel(psi(ref, cur, { bins: c.bins }), c.psi, STAT_REL, 'psi');
    });
  }

  test('plain arrays and Float64Array give the same result', () => {
    const c = (F.psi as any[])[0];
    const ref = materialise(c.reference);
    assert.equal(psi(Array.from(ref), c.current.values, { bins: c.bins }), psi(ref, Float64Array.from(c.current.values), { bins: c.bins }));
  });
});

describe('ks_2samp', () => {
  for (const c of F.ks as any[]) {
    test(c.name, () => {
      const ref = materialise(c.reference);
      const cur = materialise(c.current);
      const r = ksTest(ref, cur);
      assertRel(r.statistic, c.statistic, STAT_REL, 'statistic');
      assertAbs(r.pValue, c.pValue, P_ABS, 'pValue');
      assert.equal(r.method, c.method);
      // the unsorted-current variant used by compareToProfile must agree exactly
      const r2 = ksAgainstSortedReference(sortedCopy(ref), cur);
      assert.equal(r2.statistic, r.statistic);
      assert.equal(r2.pValue, r.pValue);
    });
  }

  test('is symmetric in its arguments', () => {
    const c = (F.ks as any[]).find((x) => x.name === '30-45');
    const a = ksTest(materialise(c.reference), materialise(c.current));
    const b = ksTest(materialise(c.current), materialise(c.reference));
    assert.equal(a.statistic, b.statistic);
    assertAbs(a.pValue, b.pValue, 1e-12, 'pValue');
  });
});

describe('kstwo.sf (asymptotic branch of ks_2samp)', () => {
  test('matches scipy over every algorithm branch', () => {
    let checked = 0;
    for (const c of F.kstwo as any[]) {
      const got = kolmogorovSmirnovSf(c.n, c.x);
      assertAbs(got, c.sf, P_ABS, `kstwo.sf(${c.x}, ${c.n})`);
      // and well beyond the brief's tolerance where the value is not tiny
      if (c.sf > 1e-300) assertRel(got, c.sf, 1e-8, `kstwo.sf(${c.x}, ${c.n}) relative`, 1e-14);
      checked++;
    }
    assert.ok(checked > 300);
  });

  test('smirnov one-sided sf matches scipy.special.smirnov', () => {
    for (const c of F.smirnov as any[]) {
      const got = smirnovSf(c.n, c.x);
      assertAbs(got, c.sf, P_ABS, `smirnov(${c.n}, ${c.x})`);
      if (c.sf > 1e-300) assertRel(got, c.sf, 1e-8, `smirnov(${c.n}, ${c.x}) relative`, 1e-14);
    }
  });
});

describe('wasserstein_distance', () => {
  for (const c of F.wasserstein as any[]) {
    test(c.name, () => {
      assertRel(wasserstein(materialise(c.reference), materialise(c.current)), c.distance, STAT_REL, 'distance');
    });
  }
});

/**
 * Jensen-Shannon and chi-square against scipy, the special functions behind
 * the p-values, and the documented handling of new / vanished categories.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  CHI_SQUARE_PSEUDO_COUNT, chi2Sf, chiSquare, gammaincLower, gammaincUpper, jensenShannon, lgamma,
} from '../../src/drift/index.js';
import { assertAbs, assertRel, fixture, P_ABS, STAT_REL } from './helpers.js';

const F = fixture();

describe('jensenshannon and chisquare vs scipy', () => {
  for (const c of F.categorical as any[]) {
    test(c.name, () => {
      assertRel(jensenShannon(c.reference, c.current), c.js2, STAT_REL, 'js base 2');
      assertRel(jensenShannon(c.reference, c.current, { base: Math.E }), c.jsE, STAT_REL, 'js base e');
      assertRel(jensenShannon(c.reference, c.current, { base: 10 }), c.js10, STAT_REL, 'js base 10');
      const asMap = jensenShannon(new Map(Object.entries(c.reference)), new Map(Object.entries(c.current)));
      assertRel(asMap, c.js2, STAT_REL, 'js from Map');
      const r = chiSquare(c.reference, c.current);
      assertRel(r.statistic, c.chiSquare.statistic, STAT_REL, 'chi2 statistic');
      assertAbs(r.pValue, c.chiSquare.pValue, P_ABS, 'chi2 pValue');
      assert.equal(r.smoothed, c.chiSquare.smoothed);
    });
  }
});

describe('category appearance and disappearance', () => {
  test('JS distance is 0 for identical, 1 for disjoint distributions (base 2)', () => {
    assert.equal(jensenShannon({ a: 1, b: 3 }, { a: 2, b: 6 }), 0);
    assertRel(jensenShannon({ a: 5 }, { b: 5 }), 1, 1e-15, 'disjoint');
  });

  test('a new category raises JS distance and gives a large finite chi-square', () => {
    const ref = { a: 500, b: 300, c: 200 };
    const base = jensenShannon(ref, { a: 500, b: 300, c: 200 });
    const withNew = jensenShannon(ref, { a: 450, b: 300, c: 200, z: 50 });
    assert.equal(base, 0);
    assert.ok(withNew > 0.1, `new category should be visible, got ${withNew}`);
    const r = chiSquare(ref, { a: 450, b: 300, c: 200, z: 50 });
    assert.ok(Number.isFinite(r.statistic) && r.statistic > 1000, `statistic ${r.statistic}`);
    assert.equal(r.smoothed, true);
    assert.ok(r.pValue < 1e-12);
    // expected count of the new category is pseudo-count-based: (0 + 0.5) / (1000 + 0.5 * 4) * 1000
    const expectedZ = (CHI_SQUARE_PSEUDO_COUNT / (1000 + CHI_SQUARE_PSEUDO_COUNT * 4)) * 1000;
    assert.ok(r.statistic > ((50 - expectedZ) ** 2) / expectedZ);
  });

  test('the chi-square statistic grows with how often the new category occurs', () => {
    const ref = { a: 5000, b: 5000 };
    const s1 = chiSquare(ref, { a: 5000, b: 4990, new: 10 }).statistic;
    const s2 = chiSquare(ref, { a: 5000, b: 4900, new: 100 }).statistic;
    assert.ok(s2 > s1 && s1 > 0);
  });

  test('a vanished category is counted without smoothing', () => {
    const r = chiSquare({ a: 500, b: 300, c: 200 }, { a: 600, b: 400 });
    assert.equal(r.smoothed, false);
    assert.equal(r.dof, 2);
    // expected c = 200 with 0 observed contributes exactly 200
    assert.ok(r.statistic >= 200);
  });

  test('a single category gives statistic 0, p-value 1', () => {
    assert.deepEqual(chiSquare({ x: 4 }, { x: 9 }), { statistic: 0, pValue: 1, dof: 0, smoothed: false });
  });
});

describe('special functions vs scipy.special', () => {
  test('gammaincc / gammainc', () => {
    for (const c of F.special.gammainc as any[]) {
      assertAbs(gammaincUpper(c.a, c.x), c.q, 1e-12, `Q(${c.a}, ${c.x})`);
      assertAbs(gammaincLower(c.a, c.x), c.p, 1e-12, `P(${c.a}, ${c.x})`);
      if (c.q > 1e-250) assertRel(gammaincUpper(c.a, c.x), c.q, 1e-10, `Q(${c.a}, ${c.x}) relative`, 1e-300);
    }
  });

  test('gammaln', () => {
    for (const c of F.special.lgamma as any[]) assertRel(lgamma(c.x), c.lgamma, 1e-13, `lgamma(${c.x})`, 1e-15);
  });

  test('chi2.sf', () => {
    for (const c of F.special.chi2 as any[]) {
      assertAbs(chi2Sf(c.x, c.k), c.sf, 1e-13, `chi2.sf(${c.x}, ${c.k})`);
      if (c.sf > 1e-250) assertRel(chi2Sf(c.x, c.k), c.sf, 1e-10, `chi2.sf(${c.x}, ${c.k}) relative`, 1e-300);
    }
  });
});

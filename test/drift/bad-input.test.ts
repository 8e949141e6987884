/** Bad input: missing values are skipped and counted, empty input throws a named DriftInputError. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  buildProfile, chiSquare, compareToProfile, DriftInputError, finiteValues, jensenShannon, ksTest, percentile, psi,
  wasserstein, type DriftProfile,
} from '../../src/drift/index.js';
import { generate } from './helpers.js';

const isDriftError = (argument: string, pattern?: RegExp) => (e: unknown): boolean =>
  e instanceof DriftInputError && e.argument === argument && (pattern === undefined || pattern.test(e.message));

describe('pure functions', () => {
  const ref = generate({ kind: 'normal', n: 500, seed: 1 });
  const cur = generate({ kind: 'normal', n: 400, seed: 2, loc: 0.3 });

  for (const [name, fn] of [
    ['psi', (a: any, b: any) => psi(a, b)],
    ['ksTest', (a: any, b: any) => ksTest(a, b)],
    ['wasserstein', (a: any, b: any) => wasserstein(a, b)],
  ] as const) {
    test(`${name}: empty reference or current throws DriftInputError naming it`, () => {
      assert.throws(() => fn([], cur), isDriftError('reference', /empty/));
      assert.throws(() => fn(ref, new Float64Array(0)), isDriftError('current', /empty/));
    });

    test(`${name}: all-missing input throws and says how many were missing`, () => {
      assert.throws(() => fn([NaN, null, undefined, Infinity], cur), isDriftError('reference', /4 missing/));
      assert.throws(() => fn(ref, Float64Array.from([NaN, -Infinity])), isDriftError('current', /2 missing/));
    });

    test(`${name}: missing values are ignored, never turned into NaN`, () => {
      const dirty = [...Array.from(cur), NaN, null, Infinity, -Infinity, undefined] as Array<number | null | undefined>;
      const clean = fn(ref, cur);
      const got = fn(ref, dirty);
      assert.deepEqual(got, clean);
      const v = typeof got === 'number' ? got : got.pValue;
      assert.ok(Number.isFinite(v));
    });
  }

  test('non-array input throws', () => {
    assert.throws(() => psi(null as any, [1]), isDriftError('reference'));
    assert.throws(() => ksTest([1], undefined as any), isDriftError('current'));
  });

  test('bad bins throw', () => {
    assert.throws(() => psi([1, 2], [1, 2], { bins: 0 }), isDriftError('bins'));
    assert.throws(() => psi([1, 2], [1, 2], { bins: 2.5 }), isDriftError('bins'));
  });

  test('percentile ignores missing values and rejects all-missing input', () => {
    assert.deepEqual(Array.from(percentile([1, NaN, 3, null as any, 2], [0, 50, 100])), [1, 2, 3]);
    assert.throws(() => percentile([NaN], [50]), isDriftError('values'));
  });

  test('finiteValues counts every kind of missing value', () => {
    const { values, missing } = finiteValues([1, null, NaN, 2, undefined, Infinity, -Infinity, 3]);
    assert.deepEqual(Array.from(values), [1, 2, 3]);
    assert.equal(missing, 5);
  });

  test('category tables: empty, all-zero and negative counts throw, naming the argument', () => {
    assert.throws(() => jensenShannon({}, { a: 1 }), isDriftError('referenceCounts', /no observations/));
    assert.throws(() => jensenShannon({ a: 1 }, { a: 0 }), isDriftError('currentCounts', /no observations/));
    assert.throws(() => chiSquare({ a: -1, b: 3 }, { a: 1 }), isDriftError('referenceCounts', /finite number >= 0/));
    assert.throws(() => chiSquare({ a: 1 }, new Map([['a', NaN]])), isDriftError('currentCounts'));
    assert.throws(() => jensenShannon({ a: 1 }, { a: 1 }, { base: 1 }), isDriftError('base'));
  });
});

describe('profile and report', () => {
  const profile = buildProfile({ x: generate({ kind: 'normal', n: 2000, seed: 3 }) }, { features: [{ name: 'x', type: 'numerical' }] });

  test('buildProfile rejects a spec naming a column that does not exist', () => {
    assert.throws(() => buildProfile({ x: [1] }, { features: [{ name: 'y', type: 'numerical' }] }), isDriftError('columns', /"y"/));
    assert.throws(() => buildProfile({ x: [1] }, { features: [{ name: 'x', type: 'numerical' }], bins: 0 }), isDriftError('spec.bins'));
    assert.throws(
      () => buildProfile({ x: [1] }, { features: [{ name: 'x', type: 'numerical' }, { name: 'x', type: 'numerical' }] }),
      isDriftError('spec.features', /duplicate/),
    );
  });

  test('compareToProfile rejects a profile of another version and invalid thresholds', () => {
    assert.throws(() => compareToProfile({ ...profile, version: 2 } as unknown as DriftProfile, {}), isDriftError('profile'));
    assert.throws(() => compareToProfile(profile, {}, { numericalMethod: 'chi' as any }), isDriftError('thresholds.numericalMethod'));
    assert.throws(() => compareToProfile(profile, {}, { psi: -1 }), isDriftError('thresholds.psi'));
    assert.throws(() => compareToProfile(profile, {}, { perFeature: { x: { minSamples: NaN } } }), isDriftError('thresholds.perFeature.x.minSamples'));
  });

  test('compareToProfile turns bad data into insufficient_data, never into an exception or NaN', () => {
    const r = compareToProfile(profile, { x: ['a', 'b', null] as any });
    assert.equal(r.features[0].verdict, 'insufficient_data');
    assert.equal(r.features[0].missingCount, 3);
    assert.equal(r.features[0].score, null);
    assert.ok(!JSON.stringify(r).includes('NaN'));
  });
});

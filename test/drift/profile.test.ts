/**
 * Reference profile and drift report: agreement with the pure functions,
 * JSON round trip, size, deterministic sampling, insufficient data and
 * missing-value reporting.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  buildProfile, chiSquare, compareToProfile, decodeSample, jensenShannon, ksTest, OTHER_CATEGORY, psi, psiBinEdges,
  wasserstein, type Columns, type DriftProfile, type NumericalFeatureDrift, type CategoricalFeatureDrift,
  type NumericalProfile, type CategoricalProfile,
} from '../../src/drift/index.js';
import { assertRel, fixture, generate, materialise, STAT_REL } from './helpers.js';

const F = fixture();

function categorical(n: number, seed: number, weights: Record<string, number>): string[] {
  const names = Object.keys(weights);
  const total = names.reduce((s, k) => s + weights[k], 0);
  const u = generate({ kind: 'uniform', n, seed });
  return Array.from(u, (x) => {
    let acc = 0;
    for (const k of names) {
      acc += weights[k] / total;
      if (x < acc) return k;
    }
    return names[names.length - 1];
  });
}

/** Recursively asserts that a JSON-bound value holds only finite numbers and plain containers. */
function assertJsonSafe(v: unknown, path = '$'): void {
  if (typeof v === 'number') assert.ok(Number.isFinite(v), `${path} is ${v}`);
  else if (Array.isArray(v)) v.forEach((x, i) => assertJsonSafe(x, `${path}[${i}]`));
  else if (v !== null && typeof v === 'object') {
    assert.ok(Object.getPrototypeOf(v) === Object.prototype, `${path} is not a plain object`);
    for (const [k, x] of Object.entries(v)) assertJsonSafe(x, `${path}.${k}`);
  } else assert.ok(v === null || typeof v === 'string' || typeof v === 'boolean', `${path} has type ${typeof v}`);
}

const N = 6000;
const refCols: Columns = {
  age: generate({ kind: 'normal', n: N, seed: 1, loc: 40, scale: 20 }),
  income: Array.from(generate({ kind: 'uniform', n: N, seed: 2, scale: 1e5 })),
  score: generate({ kind: 'int', n: N, seed: 3, k: 5 }),
  city: categorical(N, 4, { paris: 5, lyon: 3, nice: 2 }),
  label: Array.from(generate({ kind: 'int', n: N, seed: 5, k: 2 })),
};
const spec = {
  features: [
    { name: 'age', type: 'numerical' as const },
    { name: 'income', type: 'numerical' as const },
    { name: 'score', type: 'numerical' as const },
    { name: 'city', type: 'categorical' as const },
  ],
  label: { name: 'label', type: 'binary' as const },
};
const curCols: Columns = {
  age: generate({ kind: 'normal', n: 5000, seed: 11, loc: 48, scale: 20 }), // shifted
  income: Array.from(generate({ kind: 'uniform', n: 5000, seed: 12, scale: 1e5 })), // same
  score: generate({ kind: 'int', n: 5000, seed: 13, k: 5 }), // same
  city: categorical(5000, 14, { paris: 2, lyon: 3, nice: 2, marseille: 3 }), // new category
  label: Array.from(generate({ kind: 'int', n: 5000, seed: 15, k: 2 })),
};

describe('buildProfile', () => {
  test('summary statistics match numpy (mean, std ddof=0, min, max, quantiles)', () => {
    for (const c of F.summary as any[]) {
      const x = materialise(c.data);
      const p = buildProfile({ x }, { features: [{ name: 'x', type: 'numerical' }] });
      const s = (p.features[0] as NumericalProfile).summary;
      assert.ok(s);
      assertRel(s.mean, c.mean, STAT_REL, 'mean');
      assertRel(s.std, c.std, STAT_REL, 'std');
      assert.equal(s.min, c.min);
      assert.equal(s.max, c.max);
      assert.deepEqual(s.quantileLevels, c.quantileLevels);
      s.quantiles.forEach((q, i) => assertRel(q, c.quantiles[i], 1e-12, `q${c.quantileLevels[i]}`));
    }
  });

  test('histogram edges are psi() edges with null for ±Infinity, proportions sum to 1', () => {
    const p = buildProfile(refCols, spec);
    const age = p.features[0] as NumericalProfile;
    const edges = Array.from(psiBinEdges(refCols.age as Float64Array, 10), (e) => (Number.isFinite(e) ? e : null));
    assert.deepEqual(age.histogram?.edges, edges);
    assert.equal(age.histogram?.edges[0], null);
    assert.equal(age.histogram?.edges[10], null);
    assertRel(age.histogram!.proportions.reduce((a, b) => a + b, 0), 1, 1e-12, 'sum');
  });

  test('is JSON-safe: plain objects and arrays, finite numbers only, version 1', () => {
    const p = buildProfile(refCols, spec);
    assert.equal(p.version, 1);
    assertJsonSafe(p);
  });

  test('the sample is deterministic for a seed, bounded, sorted and drawn from the data', () => {
    const a = buildProfile(refCols, { ...spec, seed: 7, sampleSize: 500 });
    const b = buildProfile(refCols, { ...spec, seed: 7, sampleSize: 500 });
    const c = buildProfile(refCols, { ...spec, seed: 8, sampleSize: 500 });
    assert.equal(JSON.stringify(a), JSON.stringify(b));
    const sa = decodeSample((a.features[0] as NumericalProfile).sample!.data);
    const sc = decodeSample((c.features[0] as NumericalProfile).sample!.data);
    assert.equal(sa.length, 500);
    assert.notDeepEqual(Array.from(sa), Array.from(sc));
    const data = new Set(refCols.age as Float64Array);
    for (let i = 0; i < sa.length; i++) {
      assert.ok(data.has(sa[i]));
      if (i > 0) assert.ok(sa[i - 1] <= sa[i]);
    }
    // a column's sample depends on its name and the seed, not on the other features
    const alone = buildProfile({ age: refCols.age }, { features: [{ name: 'age', type: 'numerical' }], seed: 7, sampleSize: 500 });
    assert.equal((alone.features[0] as NumericalProfile).sample!.data, (a.features[0] as NumericalProfile).sample!.data);
  });

  test('the sample is roughly uniform over the data (mean close to the population mean)', () => {
    const x = generate({ kind: 'uniform', n: 200000, seed: 77 });
    const p = buildProfile({ x }, { features: [{ name: 'x', type: 'numerical' }], sampleSize: 4000 });
    const s = decodeSample((p.features[0] as NumericalProfile).sample!.data);
    const mean = s.reduce((a, b) => a + b, 0) / s.length;
    assert.ok(Math.abs(mean - 0.5) < 0.02, `sample mean ${mean}`);
    assert.ok(s[0] < 0.01 && s[s.length - 1] > 0.99);
  });

  test('a 50-feature profile stays small (a few hundred KB of JSON)', () => {
    const cols: Columns = {};
    const features: Array<{ name: string; type: 'numerical' | 'categorical' }> = [];
    for (let i = 0; i < 40; i++) {
      cols[`num${i}`] = generate({ kind: 'normal', n: 20000, seed: 100 + i, loc: i, scale: 1 + i / 10 });
      features.push({ name: `num${i}`, type: 'numerical' });
    }
    for (let i = 0; i < 10; i++) {
      const u = generate({ kind: 'int', n: 20000, seed: 200 + i, k: 400 }); // 400 distinct -> top 200 + __other__
      cols[`cat${i}`] = Array.from(u, (v) => `category-${v}`);
      features.push({ name: `cat${i}`, type: 'categorical' });
    }
    const p = buildProfile(cols, { features });
    const bytes = Buffer.byteLength(JSON.stringify(p));
    assert.ok(bytes < 700_000, `profile is ${bytes} bytes`);
    assert.ok(bytes > 100_000, `profile suspiciously small: ${bytes} bytes`);
    const cat = p.features[45] as CategoricalProfile;
    assert.equal(cat.categories.length, 201);
    assert.equal(cat.categories[200], OTHER_CATEGORY);
    assert.equal(cat.truncated, true);
    assert.equal(cat.counts.reduce((a, b) => a + b, 0), 20000);
  });
});

describe('compareToProfile', () => {
  const profile = buildProfile(refCols, spec);

  test('scores equal the pure functions on the same data', () => {
    const r = compareToProfile(profile, curCols, { minSamples: 100 });
    const age = r.features[0] as NumericalFeatureDrift;
    assert.equal(age.metric, 'psi');
    assertRel(age.score!, psi(refCols.age as Float64Array, curCols.age as Float64Array), 1e-12, 'psi');
    const city = r.features[3] as CategoricalFeatureDrift;
    const count = (xs: string[]): Record<string, number> => xs.reduce((m, x) => ({ ...m, [x]: (m[x] ?? 0) + 1 }), {} as Record<string, number>);
    assertRel(city.score!, jensenShannon(count(refCols.city as string[]), count(curCols.city as string[])), 1e-12, 'js');
    assert.deepEqual(city.newCategories, ['marseille']);

    const ks = compareToProfile(profile, curCols, { minSamples: 100, numericalMethod: 'ks', categoricalMethod: 'chi_square' });
    const sample = decodeSample((profile.features[0] as NumericalProfile).sample!.data);
    const expected = ksTest(sample, curCols.age as Float64Array);
    assert.equal(ks.features[0].metric, 'ks');
    assert.equal(ks.features[0].score, expected.pValue);
    assert.equal(ks.features[0].statistic, expected.statistic);
    const chi = chiSquare(
      Object.fromEntries((profile.features[3] as CategoricalProfile).categories.map((k, i) => [k, (profile.features[3] as CategoricalProfile).counts[i]])),
      count(curCols.city as string[]),
    );
    assert.equal(ks.features[3].metric, 'chi_square');
    assert.equal(ks.features[3].statistic, chi.statistic);
    assert.equal(ks.features[3].pValue, chi.pValue);

    const w = compareToProfile(profile, curCols, { minSamples: 100, numericalMethod: 'wasserstein' });
    assertRel(w.features[1].score!, wasserstein(decodeSample((profile.features[1] as NumericalProfile).sample!.data), curCols.income as number[]), 1e-12, 'wasserstein');
    assertRel(w.features[1].threshold, 0.1 * (profile.features[1] as NumericalProfile).summary!.std, 1e-15, 'default wasserstein threshold');
  });

  test('flags the shifted and new-category features, not the stable ones', () => {
    const r = compareToProfile(profile, curCols, { minSamples: 100 });
    assert.deepEqual(r.features.map((f) => [f.feature, f.verdict]), [
      ['age', 'drift'], ['income', 'ok'], ['score', 'ok'], ['city', 'drift'],
    ]);
    assert.equal(r.driftedFeatures, 2);
    assert.deepEqual(r.driftedFeatureNames, ['age', 'city']);
    assert.equal(r.evaluatedFeatures, 4);
    assert.equal(r.driftShare, 0.5);
    assert.equal(r.datasetDrift, true); // 0.5 >= driftShare 0.5
    assert.equal(compareToProfile(profile, curCols, { minSamples: 100, driftShare: 0.6 }).datasetDrift, false);
    const age = r.features[0] as NumericalFeatureDrift;
    assert.equal(age.referenceProportions.length, 10);
    assert.equal(age.currentProportions!.length, 10);
    assert.ok(age.current!.mean > age.reference!.mean + 5);
  });

  test('perFeature thresholds override the globals for that feature only', () => {
    const r = compareToProfile(profile, curCols, { minSamples: 100, perFeature: { age: { psi: 10 }, income: { numericalMethod: 'ks' } } });
    assert.equal(r.features[0].threshold, 10);
    assert.equal(r.features[0].verdict, 'ok');
    assert.equal(r.features[1].metric, 'ks');
    assert.equal(r.features[2].metric, 'psi');
    assert.equal(r.features[2].threshold, 0.15);
  });

  test('label shift is reported with Jensen-Shannon on the label distribution', () => {
    const r = compareToProfile(profile, curCols, { minSamples: 100 });
    assert.ok(r.labelShift);
    assert.equal(r.labelShift.metric, 'jensen_shannon');
    assert.equal(r.labelShift.verdict, 'ok');
    assert.ok(r.labelShift.score! >= 0 && r.labelShift.score! < 0.05);
    const flipped = compareToProfile(profile, { ...curCols, label: Array.from(curCols.label as number[], () => 1) }, { minSamples: 100 });
    assert.equal(flipped.labelShift?.verdict, 'drift');
    const noLabel = compareToProfile(profile, { age: curCols.age }, { minSamples: 100 });
    assert.equal(noLabel.labelShift, null);
  });

  test('JSON round trip of the profile gives the same report', () => {
    const again: DriftProfile = JSON.parse(JSON.stringify(profile));
    for (const numericalMethod of ['psi', 'ks', 'wasserstein'] as const) {
      const t = { minSamples: 100, numericalMethod, categoricalMethod: 'chi_square' as const };
      assert.deepEqual(compareToProfile(again, curCols, t), compareToProfile(profile, curCols, t));
    }
    const report = compareToProfile(again, curCols, { minSamples: 100 });
    assertJsonSafe(report);
    assert.deepEqual(JSON.parse(JSON.stringify(report)), report);
  });

  test('Float64Array and plain-array columns give the same report', () => {
    const plain: Columns = Object.fromEntries(Object.entries(curCols).map(([k, v]) => [k, Array.from(v as ArrayLike<unknown>)])) as Columns;
    assert.deepEqual(compareToProfile(profile, plain, { minSamples: 100 }), compareToProfile(profile, curCols, { minSamples: 100 }));
  });

  test('insufficient data: too few rows, empty, all-missing or absent columns (no exception)', () => {
    const r = compareToProfile(profile, {
      age: generate({ kind: 'normal', n: 50, seed: 3 }),
      income: [],
      score: [NaN, null, Infinity, -Infinity, undefined] as unknown as number[],
      // city absent
    });
    const byName = Object.fromEntries(r.features.map((f) => [f.feature, f]));
    assert.equal(byName.age.verdict, 'insufficient_data');
    assert.equal(byName.age.count, 50);
    assert.match(byName.age.reason!, /minSamples=1000/);
    assert.ok(byName.age.score !== null && Number.isFinite(byName.age.score), 'score still given as information');
    assert.equal(byName.income.verdict, 'insufficient_data');
    assert.equal(byName.income.count, 0);
    assert.equal(byName.income.score, null);
    assert.equal(byName.income.missingRate, null);
    assert.equal(byName.score.verdict, 'insufficient_data');
    assert.equal(byName.score.count, 0);
    assert.equal(byName.score.missingCount, 5);
    assert.equal(byName.score.missingRate, 1);
    assert.equal(byName.city.verdict, 'insufficient_data');
    assert.equal(byName.city.columnPresent, false);
    assert.equal(r.evaluatedFeatures, 0);
    assert.equal(r.insufficientFeatures, 4);
    assert.equal(r.driftShare, 0);
    assert.equal(r.datasetDrift, false);
    assertJsonSafe(r);
  });

  test('an empty reference column is profiled with count 0 and reported as insufficient_data', () => {
    const p = buildProfile({ x: [], c: [] }, { features: [{ name: 'x', type: 'numerical' }, { name: 'c', type: 'categorical' }] });
    assert.equal(p.features[0].count, 0);
    const r = compareToProfile(p, { x: [1, 2, 3], c: ['a'] }, { minSamples: 1 });
    assert.deepEqual(r.features.map((f) => [f.verdict, f.score, f.referenceCount]), [['insufficient_data', null, 0], ['insufficient_data', null, 0]]);
  });

  test('missing values are counted and reported, never scored', () => {
    const withMissing = Array.from(curCols.age as Float64Array) as Array<number | null>;
    for (let i = 0; i < withMissing.length; i += 10) withMissing[i] = i % 20 === 0 ? null : NaN; // 10% missing
    const cityMissing = (curCols.city as Array<string | null>).map((v, i) => (i % 4 === 0 ? null : v)); // 25% missing
    const refAge = Array.from(refCols.age as Float64Array) as number[];
    for (let i = 0; i < refAge.length; i += 50) refAge[i] = Infinity; // 2% missing in reference
    const p = buildProfile({ ...refCols, age: refAge }, spec);
    assert.equal(p.features[0].missingCount, N / 50);
    const r = compareToProfile(p, { ...curCols, age: withMissing, city: cityMissing }, { minSamples: 100 });
    const age = r.features[0];
    assert.equal(age.missingCount, 500);
    assert.equal(age.count, 4500);
    assert.equal(age.missingRate, 0.1);
    assert.equal(age.referenceMissingRate, 0.02);
    const finite = withMissing.filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
    assertRel(age.score!, psi(refAge, finite), 1e-12, 'psi on finite values only');
    assert.equal(r.features[3].missingRate, 0.25);
    assert.equal(r.features[3].referenceMissingRate, 0);
    assertJsonSafe(r);
  });

  test('categories beyond the kept top-N are compared through __other__', () => {
    const ref = Array.from(generate({ kind: 'int', n: 20000, seed: 9, k: 30 }), (v) => `c${v}`);
    const p = buildProfile({ c: ref }, { features: [{ name: 'c', type: 'categorical' }], maxCategories: 10 });
    const cp = p.features[0] as CategoricalProfile;
    assert.equal(cp.truncated, true);
    assert.equal(cp.distinct, 30);
    const cur = Array.from(generate({ kind: 'int', n: 20000, seed: 10, k: 30 }), (v) => `c${v}`);
    const r = compareToProfile(p, { c: [...cur, 'brand-new'] });
    const f = r.features[0] as CategoricalFeatureDrift;
    assert.deepEqual(f.newCategories, []); // unseen values cannot be told from rare ones: lumped into __other__
    assert.ok(f.categories.includes(OTHER_CATEGORY));
    assert.equal(f.verdict, 'ok');
  });
});

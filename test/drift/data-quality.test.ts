/**
 * Data-quality checks of a window against the reference profile, on worked examples: each check
 * at, just under and over its limit, and what is not judged.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { assessDataQuality, type DataQualityPolicy } from '../../src/drift/data-quality.js';
import { buildProfile, mulberry32 } from '../../src/drift/index.js';

const POLICY: DataQualityPolicy = { missingRate: 0.05, outOfRange: 0.02, unseenCategories: 0.05, meanShift: 3, keyFeatures: ['amount'], minSamples: 100 };

/** Reference: amount uniform on [0, 100) with 2% missing, age uniform on [20, 60), country of three. */
function reference() {
  const random = mulberry32(1);
  const n = 10_000;
  const amount = Float64Array.from({ length: n }, (_, i) => (i % 50 === 0 ? Number.NaN : 100 * random()));
  const age = Float64Array.from({ length: n }, () => 20 + 40 * random());
  const country = Array.from({ length: n }, (_, i) => ['DE', 'FR', 'US'][i % 3]);
  return buildProfile({ amount, age, country }, { features: [{ name: 'amount', type: 'numerical' }, { name: 'age', type: 'numerical' }, { name: 'country', type: 'categorical' }] });
}
const profile = reference();

function window(n: number, edit: (i: number, row: { amount: number; age: number; country: string | null }) => void = () => {}) {
  const random = mulberry32(2);
  const amount = new Float64Array(n);
  const age = new Float64Array(n);
  const country: Array<string | null> = [];
  for (let i = 0; i < n; i++) {
    const row = { amount: 1 + 98 * random(), age: 21 + 38 * random(), country: ['DE', 'FR', 'US'][i % 3] as string | null };
    edit(i, row);
    amount[i] = row.amount;
    age[i] = row.age;
    country.push(row.country);
  }
  return { amount, age, country };
}

const find = (r: ReturnType<typeof assessDataQuality>, feature: string, check: string) => r.findings.find((f) => f.feature === feature && f.check === check);

describe('data quality', () => {
  test('a clean window: every check judged, none violated; the mean shift only on the key feature', () => {
    const r = assessDataQuality(profile, window(1_000), POLICY);
    assert.deepEqual(r.violations, []);
    assert.deepEqual(r.findings.map((f) => `${f.feature}/${f.check}`).sort(), ['age/missing_rate', 'age/out_of_range', 'amount/mean_shift', 'amount/missing_rate', 'amount/out_of_range', 'country/missing_rate', 'country/unseen_categories']);
    const missing = find(r, 'amount', 'missing_rate')!;
    assert.equal(missing.reference, 0.02, 'the reference has 2% missing amounts');
    assert.equal(missing.threshold, 0.07);
  });

  test('missing rate: 8% missing amounts against 2% + 5% is a violation; 6% is not', () => {
    const over = assessDataQuality(profile, window(1_000, (i, r) => { if (i % 25 < 2) r.amount = Number.NaN; }), POLICY);
    assert.equal(find(over, 'amount', 'missing_rate')!.value, 0.08);
    assert.ok(find(over, 'amount', 'missing_rate')!.violated);
    const under = assessDataQuality(profile, window(1_000, (i, r) => { if (i % 50 < 3) r.amount = Number.NaN; }), POLICY);
    assert.equal(find(under, 'amount', 'missing_rate')!.value, 0.06);
    assert.equal(find(under, 'amount', 'missing_rate')!.violated, false);
  });

  test('out of range: 3% of ages at 75 (the reference stops at 60) is a violation; 2% is not', () => {
    const over = assessDataQuality(profile, window(1_000, (i, r) => { if (i % 100 < 3) r.age = 75; }), POLICY);
    assert.equal(find(over, 'age', 'out_of_range')!.value, 0.03);
    assert.ok(find(over, 'age', 'out_of_range')!.violated);
    const at = assessDataQuality(profile, window(1_000, (i, r) => { if (i % 100 < 2) r.age = -1; }), POLICY);
    assert.equal(find(at, 'age', 'out_of_range')!.violated, false, '2% is the limit, not over it');
  });

  test('unseen categories: 6% "BR" is a violation; missing categories count as missing, not unseen', () => {
    const r = assessDataQuality(profile, window(1_000, (i, row) => { if (i % 50 < 3) row.country = 'BR'; else if (i % 50 === 3) row.country = null; }), POLICY);
    const unseen = find(r, 'country', 'unseen_categories')!;
    assert.ok(Math.abs(unseen.value - 60 / 980) < 1e-12, `${unseen.value}`);
    assert.ok(unseen.violated);
    assert.equal(find(r, 'country', 'missing_rate')!.value, 0.02);
  });

  test('mean shift: amounts raised by 4 on a std of ~29 over 1,000 rows is 4.4 standard errors; by 2 it is not', () => {
    const std = profile.features.find((f) => f.name === 'amount')!.type === 'numerical' ? (profile.features[0] as { summary: { std: number; mean: number } }).summary : null;
    assert.ok(std);
    const base = assessDataQuality(profile, window(1_000), POLICY);
    const shifted = assessDataQuality(profile, window(1_000, (_, r) => { r.amount = Math.min(99.9, r.amount + 4); }), POLICY);
    const a = find(base, 'amount', 'mean_shift')!;
    const b = find(shifted, 'amount', 'mean_shift')!;
    assert.ok(Math.abs(a.value) < 3, `unshifted: ${a.value}`);
    assert.ok(b.value > 3 && b.violated, `shifted: ${b.value}`);
    // The value is (window mean − reference mean) / (std / √n), by hand:
    const w = window(1_000, (_, r) => { r.amount = Math.min(99.9, r.amount + 4); }).amount;
    const mean = w.reduce((x, y) => x + y, 0) / w.length;
    assert.ok(Math.abs(b.value - (mean - std.mean) / (std.std / Math.sqrt(1_000))) < 1e-9);
    assert.equal(find(shifted, 'age', 'mean_shift'), undefined, 'age is not a key feature');
  });

  test('too few rows or values: not judged', () => {
    assert.deepEqual(assessDataQuality(profile, window(99), POLICY).findings, []);
    const mostlyMissing = assessDataQuality(profile, window(150, (i, r) => { if (i > 50) r.age = Number.NaN; }), POLICY);
    assert.ok(find(mostlyMissing, 'age', 'missing_rate')!.violated, 'the missing rate is judged on rows');
    assert.equal(find(mostlyMissing, 'age', 'out_of_range'), undefined, 'the range needs 100 values');
  });

  test('a reference that lumped rare categories cannot judge unseen ones', () => {
    const lumped = buildProfile({ c: Array.from({ length: 500 }, (_, i) => `v${i % 300}`) }, { features: [{ name: 'c', type: 'categorical' }], maxCategories: 50 });
    const r = assessDataQuality(lumped, { c: Array.from({ length: 200 }, () => 'new') }, POLICY);
    assert.equal(find(r, 'c', 'unseen_categories'), undefined);
  });
});

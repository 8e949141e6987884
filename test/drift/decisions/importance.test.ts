/** Permutation importance: a feature the label depends on matters, one it does not, does not. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DriftInputError } from '../../../src/drift/index.js';
import {
  accuracyAt, negativeLogLoss, permutationImportance, type FeatureTable,
} from '../../../src/drift/decisions/index.js';
import { generate } from '../helpers.js';
import { near } from './fixture.js';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

describe('permutation importance', () => {
  test('worked example: a model that reads only a; shuffling b changes nothing (importance 0, share 0)', () => {
    const table: FeatureTable = { a: Float64Array.from([0.1, 0.2, 0.8, 0.9]), b: ['x', 'y', null, 'y'] };
    const score = (t: FeatureTable) => Float64Array.from(t.a as Float64Array);
    const r = permutationImportance({ score, table, labels: [0, 0, 1, 1], metric: accuracyAt(0.5), repeats: 3 });
    assert.equal(r.baseline, 1);
    const [a, b] = r.features;
    assert.deepEqual([b.feature, b.importance, b.std, b.share], ['b', 0, 0, 0]);
    assert.ok(a.importance > 0, `a: ${a.importance}`);
    assert.equal(a.share, 1);
  });

  // 3000 rows; the label depends on a only; the model leans a little on b and c (as a fitted model would).
  const n = 3000;
  const a = generate({ kind: 'normal', n, seed: 11 });
  const b = generate({ kind: 'normal', n, seed: 12 });
  const c = Array.from(generate({ kind: 'int', n, seed: 13, k: 3 }), (v) => `c${v}`);
  const labels = a.map((x) => (x > 0 ? 1 : 0));
  const table: FeatureTable = { a, b, c };
  const score = (t: FeatureTable) => {
    const ta = t.a as Float64Array;
    const tb = t.b as Float64Array;
    const tc = t.c as string[];
    return ta.map((x, i) => sigmoid(6 * x + 0.1 * tb[i] + (tc[i] === 'c1' ? 0.05 : 0)));
  };

  test('label depends on a only: importance a 0.496, b 0.002, c -0.0001 (accuracy drop; share of a 99.6%)', () => {
    const r = permutationImportance({ score, table, labels, metric: accuracyAt(0.5), repeats: 5, seed: 1 });
    const [ia, ib, ic] = r.features;
    near(r.baseline, 0.99, 0.01, 'baseline accuracy');
    near(ia.importance, 0.5, 0.03, 'a: shuffled, accuracy falls to a coin flip');
    near(ib.importance, 0, 0.01, 'b');
    near(ic.importance, 0, 0.01, 'c');
    assert.ok(ia.share > 0.98, `share of a ${ia.share}`);
    near(ia.share + ib.share + ic.share, 1, 1e-12, 'shares sum to 1');
  });

  test('with negative log loss the ranking is the same', () => {
    const r = permutationImportance({ score, table, labels, metric: negativeLogLoss, repeats: 3, seed: 1 });
    const [ia, ib, ic] = r.features;
    assert.ok(ia.importance > 100 * Math.max(ib.importance, ic.importance, 1e-6), `a ${ia.importance}, b ${ib.importance}, c ${ic.importance}`);
  });

  test('deterministic, and a feature\'s result does not depend on which others are measured', () => {
    const all = permutationImportance({ score, table, labels, metric: accuracyAt(), repeats: 2, seed: 9 });
    const again = permutationImportance({ score, table, labels, metric: accuracyAt(), repeats: 2, seed: 9 });
    assert.deepEqual(again, all);
    const onlyB = permutationImportance({ score, table, labels, metric: accuracyAt(), repeats: 2, seed: 9, features: ['b'] });
    assert.equal(onlyB.features[0].importance, all.features[1].importance);
  });

  test('bad input names the argument', () => {
    const named = (argument: string) => (e: unknown) => e instanceof DriftInputError && e.argument === argument;
    const base = { score, table, labels, metric: accuracyAt() };
    assert.throws(() => permutationImportance({ ...base, table: { a, b: b.subarray(1) } }), named('table.b'));
    assert.throws(() => permutationImportance({ ...base, labels: labels.subarray(1) }), named('labels'));
    assert.throws(() => permutationImportance({ ...base, features: ['z'] }), named('features'));
    assert.throws(() => permutationImportance({ ...base, repeats: 0 }), named('repeats'));
    assert.throws(() => permutationImportance({ ...base, score: () => [0.5] }), named('score(table)'));
    assert.throws(() => permutationImportance({ ...base, metric: () => NaN }), named('metric'));
    assert.throws(() => permutationImportance({ ...base, score: 'model' as never }), named('score'));
  });
});

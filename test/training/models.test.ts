import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { artifactUri, type LinearModel, loadModel, ModelLoadError, sha256File, sigmoid } from '../../src/backends/models/index.js';
import { fitPreprocessing } from '../../src/backends/training/index.js';
import { tempDir } from './fixtures.js';

const MODEL: LinearModel = {
  format: 'retrain-linear/v1',
  task: 'binary_classification',
  label: 'is_fraud',
  features: [
    { name: 'amount', type: 'numerical', mean: 100, std: 40, impute: 90 },
    { name: 'country', type: 'categorical', vocabulary: ['DE', 'FR'] },
  ],
  //        amount  DE    FR    <unknown>
  weights: [0.5, 1.0, -1.0, 0.25],
  bias: -0.2,
  threshold: 0.5,
};

const SPEC = {
  task: 'binary_classification' as const,
  features: [
    { name: 'amount', type: 'numerical' as const },
    { name: 'country', type: 'categorical' as const },
  ],
};

function refused(code: ModelLoadError['code'], pattern: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof ModelLoadError, `expected ModelLoadError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, pattern);
    return true;
  };
}

describe('retrain-linear/v1 scoring', () => {
  let root: { dir: string; cleanup: () => Promise<void> };
  let file: string;
  const write = async (name: string, value: unknown) => {
    const target = path.join(root.dir, name);
    await writeFile(target, typeof value === 'string' ? value : JSON.stringify(value));
    return target;
  };

  before(async () => {
    root = await tempDir('models');
    file = await write('model.json', MODEL);
  });
  after(() => root.cleanup());

  test('scores with standardisation, one-hot, the unknown bucket and imputation', async () => {
    const model = await loadModel(artifactUri(file), { spec: SPEC });
    assert.equal(model.format, 'retrain-linear/v1');
    assert.equal(model.sha256, await sha256File(file));
    const rows = [
      { amount: 140, country: 'DE' }, // z = -0.2 + 0.5·1 + 1
      { amount: 140, country: 'XX' }, // unseen category → unknown bucket
      { amount: 140, country: null }, // missing category → unknown bucket
      { amount: null, country: 'FR' }, // missing amount → imputed 90 → standardised −0.25
      { country: 'FR' }, // absent is missing too
      { amount: '140', country: 'DE' }, // numeric strings, as JSON clients send them
    ];
    const expected = [-0.2 + 0.5 + 1, -0.2 + 0.5 + 0.25, -0.2 + 0.5 + 0.25, -0.2 - 0.125 - 1, -0.2 - 0.125 - 1, -0.2 + 0.5 + 1].map(sigmoid);
    const predictions = await model.predict(rows);
    predictions.forEach((p, i) => {
      assert.ok(Math.abs(p.score - expected[i]) < 1e-12, `row ${i}: ${p.score} vs ${expected[i]}`);
      assert.equal(p.prediction, expected[i] >= 0.5 ? 1 : 0);
    });

    // The batch path (plain arrays and dictionary-encoded columns) gives the same numbers.
    const columns = await model.predictColumns({
      amount: Float64Array.from([140, 140, 140, Number.NaN, Number.NaN, 140]),
      country: { codes: Int32Array.from([0, 1, -1, 2, 2, 0]), dictionary: ['DE', 'XX', 'FR'] },
    });
    assert.deepEqual(Array.from(columns.scores), predictions.map((p) => p.score));
    await assert.rejects(model.predict([{ amount: 'lots', country: 'DE' }]), /feature "amount" is numerical, got "lots"/);
  });

  test('regression models return the value as prediction and score', async () => {
    const regression = { ...MODEL, task: 'regression', threshold: undefined };
    const model = await loadModel(await write('regression.json', regression));
    const [p] = await model.predict([{ amount: 100, country: 'FR' }]);
    assert.equal(p.prediction, -0.2 - 1);
    assert.equal(p.score, p.prediction);
  });

  test('a trainer output directory resolves to its model file', async () => {
    const dir = path.join(root.dir, 'outdir');
    await mkdir(dir);
    await writeFile(path.join(dir, 'model.json'), JSON.stringify(MODEL));
    const model = await loadModel(dir);
    assert.equal(model.path, path.join(dir, 'model.json'));
  });

  test('artifacts the gateway could not serve are refused with a clear message', async () => {
    await assert.rejects(loadModel(path.join(root.dir, 'missing.json')), refused('not_found', /not found/));
    await assert.rejects(loadModel(await write('broken.json', '{"format": ')), refused('invalid', /not valid JSON/));
    await assert.rejects(loadModel(await write('v2.json', { ...MODEL, format: 'retrain-linear/v2' })), refused('unsupported', /unsupported model format "retrain-linear\/v2"/));
    await assert.rejects(loadModel(await write('short.json', { ...MODEL, weights: [1, 2] })), refused('invalid', /weights: expected 4 weights for these features, got 2/));
    await assert.rejects(loadModel(await write('nan.json', { ...MODEL, bias: 'NaN' })), refused('invalid', /bias/));
    await assert.rejects(loadModel(await write('nothreshold.json', { ...MODEL, threshold: undefined })), refused('invalid', /threshold/));
    await assert.rejects(loadModel(await write('model.txt', 'x')), refused('unsupported', /expected a \.json/));
    await assert.rejects(loadModel('s3://bucket/model.json'), refused('unsupported', /only file:\/\//));
  });

  test('a model that does not fit the spec is refused', async () => {
    await assert.rejects(loadModel(file, { spec: { ...SPEC, task: 'regression' } }), refused('incompatible', /task is binary_classification, the spec expects regression/));
    await assert.rejects(
      loadModel(file, { spec: { ...SPEC, features: [{ name: 'amount', type: 'categorical' }, SPEC.features[1]] } }),
      refused('incompatible', /feature "amount" is numerical in the model but categorical in the spec/),
    );
    await assert.rejects(loadModel(file, { spec: { ...SPEC, features: [SPEC.features[0]] } }), refused('incompatible', /reads feature "country", which the spec does not declare/));
  });

  test('a content hash mismatch is refused', async () => {
    await assert.rejects(loadModel(file, { sha256: '0'.repeat(64) }), refused('hash_mismatch', /does not match the registered/));
    const model = await loadModel(file, { sha256: (await sha256File(file)).toUpperCase() });
    assert.equal(model.task, 'binary_classification');
  });
});

describe('preprocessing fit', () => {
  test('numerical: mean and std of present values, mean imputation, constant columns', () => {
    const features = fitPreprocessing(
      [
        { name: 'x', type: 'numerical' },
        { name: 'k', type: 'numerical' },
      ],
      { x: Float64Array.from([1, 2, Number.NaN, 3]), k: [5, 5, null, 5] },
      4,
    );
    assert.deepEqual(features[0], { name: 'x', type: 'numerical', mean: 2, std: Math.sqrt(2 / 3), impute: 2 });
    assert.deepEqual(features[1], { name: 'k', type: 'numerical', mean: 5, std: 1, impute: 5 });
  });

  test('categorical: vocabulary by frequency (ties by value), declared categories win', () => {
    const column = ['b', 'a', 'c', 'a', null, 'b', 'a', 'c'];
    const [seen, declared] = fitPreprocessing(
      [
        { name: 'c', type: 'categorical' },
        { name: 'd', type: 'categorical', categories: ['z', 'y'] },
      ],
      { c: column, d: column },
      column.length,
    );
    assert.deepEqual(seen, { name: 'c', type: 'categorical', vocabulary: ['a', 'b', 'c'] });
    assert.deepEqual(declared, { name: 'd', type: 'categorical', vocabulary: ['z', 'y'] });
  });
});

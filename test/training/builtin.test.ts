import assert from 'node:assert/strict';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type LinearModel, loadModel } from '../../src/backends/models/index.js';
import { BuiltinTrainingBackend, evaluate, TrainingError } from '../../src/backends/training/index.js';
import { binarySpec, recordingContext, regressionSpec, tempDir, writeBinaryDataset, writeRegressionDataset } from './fixtures.js';

const backend = new BuiltinTrainingBackend();

async function readModel(uri: string): Promise<LinearModel> {
  return JSON.parse(await readFile(new URL(uri), 'utf8')) as LinearModel;
}

describe('built-in trainer', () => {
  let root: { dir: string; cleanup: () => Promise<void> };
  let binaryDir: string;
  let bigDir: string;
  let regressionDir: string;
  let run = 0;
  const out = () => path.join(root.dir, `out-${++run}`);

  before(async () => {
    root = await tempDir('builtin');
    binaryDir = path.join(root.dir, 'binary');
    bigDir = path.join(root.dir, 'big');
    regressionDir = path.join(root.dir, 'regression');
    await writeBinaryDataset(binaryDir, { rows: 20_000 });
    await writeBinaryDataset(bigDir, { rows: 400_000 });
    await writeRegressionDataset(regressionDir, { rows: 20_000, noise: 0.1 });
  });
  after(() => root.cleanup());

  test('logistic regression learns: holdout AUC well above 0.5, progress reported per epoch', async (t) => {
    const { ctx, progress } = recordingContext();
    const spec = binarySpec({ backend: 'builtin', params: { epochs: 10 }, costPerHour: 2 });
    const result = await backend.train({ spec, datasetDir: binaryDir, outputDir: out(), runId: 'r1' }, ctx);
    assert.equal(result.format, 'retrain-linear/v1');
    assert.ok((result.metrics.roc_auc ?? 0) > 0.75, `validation AUC ${result.metrics.roc_auc}`);
    assert.ok(result.costUsd > 0 && Math.abs(result.costUsd - (result.wallMs / 3_600_000) * 2) < 1e-12);
    assert.equal(progress.filter((p) => p.message.startsWith('epoch')).length, 10);
    assert.equal(progress.at(-1)!.fraction, 1);
    assert.ok(progress.every((p, i) => i === 0 || p.fraction >= progress[i - 1].fraction), 'progress never goes back');
    assert.ok(typeof progress.find((p) => p.message === 'epoch 10/10')!.metrics!.roc_auc === 'number');

    const holdout = await evaluate(result.artifactUri, path.join(binaryDir, 'holdout.parquet'), spec, { slices: ['country', 'amount'] });
    assert.equal(holdout.rowCount, 2_000);
    t.diagnostic(`validation AUC ${result.metrics.roc_auc?.toFixed(4)}, holdout AUC ${holdout.metrics.roc_auc?.toFixed(4)}`);
    assert.ok((holdout.metrics.roc_auc ?? 0) > 0.75, `holdout AUC ${holdout.metrics.roc_auc}`);
    assert.ok((holdout.metrics.accuracy ?? 0) > 0.65);
    const country = holdout.slices.find((s) => s.feature === 'country')!;
    assert.equal(country.kind, 'category');
    assert.deepEqual(new Set(country.values.map((v) => v.value)), new Set(['DE', 'FR', 'US', 'BR', '(missing)']));
    assert.equal(country.values.reduce((sum, v) => sum + v.count, 0), 2_000);
    const amount = holdout.slices.find((s) => s.feature === 'amount')!;
    assert.equal(amount.kind, 'quartile');
    assert.equal(amount.values.length, 5, 'four quartiles and the missing rows');
    assert.equal(amount.values.reduce((sum, v) => sum + v.count, 0), 2_000);
  });

  test('deterministic given a seed; another seed gives another model', async () => {
    const train = (seed: number) =>
      backend.train({ spec: binarySpec({ backend: 'builtin', params: { epochs: 3, seed } }), datasetDir: binaryDir, outputDir: out(), runId: `seed-${seed}` }, recordingContext().ctx);
    const [a, b, c] = [await readModel((await train(7)).artifactUri), await readModel((await train(7)).artifactUri), await readModel((await train(8)).artifactUri)];
    assert.deepEqual(a.weights, b.weights);
    assert.equal(a.bias, b.bias);
    assert.deepEqual(a.features, b.features);
    assert.notDeepEqual(a.weights, c.weights);
  });

  test('class weights: balanced raises recall on the minority class', async () => {
    const train = (classWeight: 'balanced' | 'none') =>
      backend.train({ spec: binarySpec({ backend: 'builtin', params: { epochs: 3, classWeight } }), datasetDir: binaryDir, outputDir: out(), runId: classWeight }, recordingContext().ctx);
    const plain = await train('none');
    const balanced = await train('balanced');
    assert.ok((balanced.metrics.recall ?? 0) > (plain.metrics.recall ?? 1), `recall ${balanced.metrics.recall} vs ${plain.metrics.recall}`);
  });

  test('linear regression recovers known coefficients', async (t) => {
    const spec = regressionSpec({ backend: 'builtin', algorithm: 'linear_regression', params: { epochs: 20, l2: 0 } });
    const result = await backend.train({ spec, datasetDir: regressionDir, outputDir: out(), runId: 'reg' }, recordingContext().ctx);
    assert.ok((result.metrics.rmse ?? 1) < 0.15, `rmse ${result.metrics.rmse} (noise sd is 0.1)`);
    const model = await readModel(result.artifactUri);
    const [x1, x2, cat] = model.features;
    assert.ok(x1.type === 'numerical' && x2.type === 'numerical' && cat.type === 'categorical');
    // Weights apply to standardised inputs: the raw coefficient is weight / std.
    assert.ok(Math.abs(model.weights[0] / x1.std - 2) < 0.02, `x1 coefficient ${model.weights[0] / x1.std}`);
    assert.ok(Math.abs(model.weights[1] / x2.std - -1.5) < 0.03, `x2 coefficient ${model.weights[1] / x2.std}`);
    t.diagnostic(`coefficients x1 ${(model.weights[0] / x1.std).toFixed(4)} (2), x2 ${(model.weights[1] / x2.std).toFixed(4)} (-1.5), rmse ${result.metrics.rmse?.toFixed(4)}`);
    const effect = (value: string) => model.weights[2 + cat.vocabulary.indexOf(value)];
    assert.ok(Math.abs(effect('a') - effect('c') - 1) < 0.03);
    assert.ok(Math.abs(effect('b') - effect('c') - -1) < 0.03);

    const scorer = await loadModel(result.artifactUri);
    const [p] = await scorer.predict([{ x1: 1, x2: 0, cat: 'a' }]);
    assert.ok(Math.abs(p.prediction - 6) < 0.1, `3 + 2·1 − 0 + 1 = 6, got ${p.prediction}`);
  });

  test('the worker thread does not block the event loop', async (t) => {
    let ticks = 0;
    let maxGap = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const now = performance.now();
      maxGap = Math.max(maxGap, now - last);
      last = now;
      ticks++;
    }, 10);
    const started = performance.now();
    try {
      await backend.train({ spec: binarySpec({ backend: 'builtin', params: { epochs: 10 } }), datasetDir: bigDir, outputDir: out(), runId: 'loop' }, recordingContext().ctx);
    } finally {
      clearInterval(timer);
    }
    const elapsed = performance.now() - started;
    t.diagnostic(`${ticks} ticks of a 10 ms interval in ${Math.round(elapsed)} ms of training; longest gap ${Math.round(maxGap)} ms`);
    assert.ok(elapsed > 1000, `training took ${elapsed} ms, long enough to matter`);
    assert.ok(ticks > elapsed / 10 / 5, `${ticks} ticks in ${Math.round(elapsed)} ms`);
    // Training on this thread would show up as one gap as long as the whole run.
    assert.ok(maxGap < 500, `longest event-loop stall ${Math.round(maxGap)} ms`);
  });

  test('abort terminates the training thread promptly and writes no model', async () => {
    const controller = new AbortController();
    const outputDir = out();
    let abortedAt = 0;
    const ctx = {
      signal: controller.signal,
      onProgress: (p: { message: string }) => {
        if (p.message.startsWith('epoch 1/') && !abortedAt) {
          abortedAt = performance.now();
          controller.abort();
        }
      },
    };
    await assert.rejects(backend.train({ spec: binarySpec({ backend: 'builtin', params: { epochs: 50 } }), datasetDir: bigDir, outputDir, runId: 'abort' }, ctx), (err: unknown) => {
      assert.ok(err instanceof TrainingError);
      assert.equal(err.kind, 'aborted');
      return true;
    });
    assert.ok(abortedAt > 0);
    assert.ok(performance.now() - abortedAt < 5_000, 'stopped within seconds of the abort, not after 50 epochs');
    await assert.rejects(stat(path.join(outputDir, 'model.json')));
  });

  test('timeout stops the run', async () => {
    const spec = binarySpec({ backend: 'builtin', params: { epochs: 50 }, timeout: '300ms' });
    await assert.rejects(backend.train({ spec, datasetDir: bigDir, outputDir: out(), runId: 'timeout' }, recordingContext().ctx), (err: unknown) => {
      assert.ok(err instanceof TrainingError && err.kind === 'timeout' && err.nonRetryable);
      assert.match(err.message, /timeout of 300ms/);
      return true;
    });
  });

  test('bad input is a non-retryable TrainingError with a clear message', async () => {
    const wrongAlgorithm = binarySpec({ backend: 'builtin', algorithm: 'linear_regression' });
    await assert.rejects(backend.train({ spec: wrongAlgorithm, datasetDir: binaryDir, outputDir: out(), runId: 'bad1' }, recordingContext().ctx), (err: unknown) => {
      assert.ok(err instanceof TrainingError && err.kind === 'bad_input' && err.nonRetryable);
      assert.match(err.message, /linear_regression does not fit task binary_classification/);
      return true;
    });
    const missingColumn = { ...binarySpec(), label: { ...binarySpec().label, name: 'no_such_label' } };
    await assert.rejects(backend.train({ spec: missingColumn, datasetDir: binaryDir, outputDir: out(), runId: 'bad2' }, recordingContext().ctx), (err: unknown) => {
      assert.ok(err instanceof TrainingError && err.kind === 'bad_input');
      assert.match(err.message, /missing column\(s\) no_such_label/);
      return true;
    });
    await assert.rejects(backend.train({ spec: binarySpec(), datasetDir: path.join(root.dir, 'nope'), outputDir: out(), runId: 'bad3' }, recordingContext().ctx), /dataset file not found/);
  });
});

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ensureSklearnDeps, REPO_ROOT, type SklearnDeps, TRAIN_SCRIPT } from '../../examples/trainers/sklearn/install.js';
import { loadModel, ModelLoadError } from '../../src/backends/models/index.js';
import { CommandTrainingBackend, evaluate } from '../../src/backends/training/index.js';
import { createLogger, setLogger } from '../../src/runtime/logger.js';
import { binarySpec, recordingContext, regressionSpec, tempDir, writeBinaryDataset, writeRegressionDataset } from './fixtures.js';

setLogger(createLogger({ level: 'warn', pretty: false }));

/**
 * The scikit-learn example trainer end to end through the command backend: HistGradientBoosting,
 * exported to ONNX, loaded and scored by the same loadModel the gateway uses.
 */
describe('scikit-learn example trainer (ONNX)', () => {
  let deps: SklearnDeps;
  let root: { dir: string; cleanup: () => Promise<void> };
  const backend = new CommandTrainingBackend();

  before(async () => {
    deps = await ensureSklearnDeps({ log: (line) => console.log(line) });
    if (!deps.ok) console.log(`skipping the scikit-learn end-to-end tests: ${deps.reason}`);
    root = await tempDir('sklearn');
  });
  after(() => root.cleanup());

  const trainer = (params: Record<string, unknown>) => {
    if (!deps.ok) throw new Error('unreachable');
    return { backend: 'command', command: [deps.python, TRAIN_SCRIPT], cwd: REPO_ROOT, env: { PYTHONPATH: deps.pythonPath }, params, timeout: '10m' };
  };

  test('binary classification: trains, exports ONNX, scores through loadModel', async (t) => {
    if (!deps.ok) return t.skip(deps.reason);
    const datasetDir = path.join(root.dir, 'binary');
    await writeBinaryDataset(datasetDir, { rows: 10_000 });
    const spec = binarySpec(trainer({ max_iter: 40, seed: 3 }));
    const { ctx, progress } = recordingContext();
    const result = await backend.train({ spec, datasetDir, outputDir: path.join(root.dir, 'out-binary'), runId: 'sk-1' }, ctx);
    assert.equal(result.format, 'onnx');
    assert.ok(result.artifactUri.endsWith('/model.onnx'));
    assert.ok((result.metrics.roc_auc ?? 0) > 0.75, `validation AUC ${result.metrics.roc_auc}`);
    assert.ok(progress.length >= 6 && progress.at(-1)!.fraction === 1, `progress: ${JSON.stringify(progress.map((p) => p.message))}`);

    // The same scoring path as the gateway reproduces the trainer's own validation numbers.
    const validation = await evaluate(result.artifactUri, path.join(datasetDir, 'validation.parquet'), spec);
    assert.ok(Math.abs((validation.metrics.accuracy ?? 0) - (result.metrics.accuracy ?? 1)) < 0.005, `${validation.metrics.accuracy} vs ${result.metrics.accuracy}`);
    assert.ok(Math.abs((validation.metrics.roc_auc ?? 0) - (result.metrics.roc_auc ?? 1)) < 0.005);
    const holdout = await evaluate(result.artifactUri, path.join(datasetDir, 'holdout.parquet'), spec, { slices: ['country'] });
    t.diagnostic(`sklearn validation AUC ${result.metrics.roc_auc?.toFixed(4)}; ONNX holdout AUC ${holdout.metrics.roc_auc?.toFixed(4)}`);
    assert.ok((holdout.metrics.roc_auc ?? 0) > 0.75);
    assert.equal(holdout.slices[0].values.reduce((n, v) => n + v.count, 0), 1_000);

    const model = await loadModel(result.artifactUri, { spec });
    assert.deepEqual(model.features.map((f) => `${f.name}:${f.type}`), ['amount:numerical', 'age:numerical', 'country:categorical']);
    const scored = await model.predict([
      { amount: 300, age: 20, country: 'BR' },
      { amount: null, age: 40, country: 'XX' }, // missing number, unseen category
      { amount: 50, age: 60, country: null },
    ]);
    for (const p of scored) assert.ok(p.score >= 0 && p.score <= 1 && (p.prediction === 0 || p.prediction === 1));
    assert.ok(scored[0].score > scored[2].score, 'high amount, young, BR is riskier than low amount, old');
    await model.close();

    await assert.rejects(loadModel(result.artifactUri, { spec: { ...spec, task: 'regression' } }), (err: unknown) => err instanceof ModelLoadError && err.code === 'incompatible');
  });

  test('regression: HistGradientBoostingRegressor through the same contract', async (t) => {
    if (!deps.ok) return t.skip(deps.reason);
    const datasetDir = path.join(root.dir, 'regression');
    await writeRegressionDataset(datasetDir, { rows: 5_000, noise: 0.1 });
    const spec = regressionSpec(trainer({ max_iter: 100 }));
    const result = await backend.train({ spec, datasetDir, outputDir: path.join(root.dir, 'out-regression'), runId: 'sk-2' }, recordingContext().ctx);
    assert.equal(result.format, 'onnx');
    const holdout = await evaluate(result.artifactUri, path.join(datasetDir, 'holdout.parquet'), spec);
    t.diagnostic(`holdout rmse ${holdout.metrics.rmse?.toFixed(4)} (label sd ≈ 4.3)`);
    assert.ok((holdout.metrics.rmse ?? 99) < 0.5);
  });
});

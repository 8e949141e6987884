import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { model as modelSchema, type ModelSpec } from '../../src/config/schema.js';
import { estimateMulticlassAccuracy } from '../../src/drift/decisions/cbpe.js';
import { type LinearModel, loadModel, ModelLoadError } from '../../src/backends/models/index.js';
import { runBuiltinJob } from '../../src/backends/training/builtin-core.js';
import { BuiltinTrainingBackend, evaluate } from '../../src/backends/training/index.js';
import { macroF1, multiclassLogLoss, taskMetrics } from '../../src/backends/training/metrics.js';
import { canaryEvidenceFrom, estimatedAccuracy } from '../../src/activities/canary-evidence.js';
import { labelProblem } from '../../src/backends/data/row-rules.js';
import type { ServedEvidence } from '../../src/backends/data/types.js';
import { FeedbackIndex } from '../../src/serving/feedback-index.js';
import { LiveMetrics } from '../../src/serving/live-metrics.js';
import { buildSchemas } from '../../src/serving/validation.js';
import { recordingContext, tempDir } from './fixtures.js';

/**
 * Multiclass classification (issue 18 item 7): the metrics and the built-in softmax trainer
 * against scikit-learn (test/fixtures/multiclass-fixtures.json, from
 * scripts/multiclass-fixtures/generate.py), the linear scorer's artifact, and the spec's checks.
 */
interface MetricCase {
  name: string;
  classes: number;
  yTrue: number[];
  yPred: number[];
  probabilities: number[];
  expected: { accuracy: number; macro_f1: number; log_loss: number };
}
interface Fixtures {
  metrics: MetricCase[];
  trainer: {
    classes: string[];
    l2: number;
    train: number;
    columns: { x1: number[]; x2: number[]; x3: number[]; region: string[]; label: number[] };
    expected: { accuracy: number; macro_f1: number; log_loss: number; firstProbabilities: number[][] };
  };
}
const fixtures = JSON.parse(readFileSync(new URL('../fixtures/multiclass-fixtures.json', import.meta.url), 'utf8')) as Fixtures;

const specInput = (extra: Record<string, unknown> = {}) => ({
  name: 'species',
  task: 'multiclass_classification',
  classes: fixtures.trainer.classes,
  features: [
    { name: 'x1', type: 'numerical' },
    { name: 'x2', type: 'numerical' },
    { name: 'x3', type: 'numerical' },
    { name: 'region', type: 'categorical' },
  ],
  label: { name: 'label' },
  ...extra,
});
const multiclassSpec = (extra: Record<string, unknown> = {}): ModelSpec => modelSchema.parse(specInput(extra));

/** The schema's issues as "path: message" lines. */
function issues(input: unknown): string[] {
  const parsed = modelSchema.safeParse(input);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('multiclass metrics agree with scikit-learn', () => {
  for (const c of fixtures.metrics) {
    test(c.name, () => {
      const scored = { predictions: Float64Array.from(c.yPred), scores: new Float64Array(c.yPred.length), probabilities: Float64Array.from(c.probabilities) };
      const m = taskMetrics('multiclass_classification', c.yTrue, scored);
      assert.ok(Math.abs(m.accuracy! - c.expected.accuracy) < 1e-12, `accuracy ${m.accuracy} vs ${c.expected.accuracy}`);
      assert.ok(Math.abs(m.macro_f1! - c.expected.macro_f1) < 1e-12, `macro F1 ${m.macro_f1} vs ${c.expected.macro_f1}`);
      assert.ok(Math.abs(m.log_loss! - c.expected.log_loss) < 1e-9 * Math.max(1, c.expected.log_loss), `log loss ${m.log_loss} vs ${c.expected.log_loss}`);
    });
  }

  test('without class probabilities (matured labels in the lake) log loss is unknown, accuracy and macro F1 exact', () => {
    const c = fixtures.metrics[0];
    const m = taskMetrics('multiclass_classification', c.yTrue, { predictions: Float64Array.from(c.yPred), scores: new Float64Array(c.yPred.length) });
    assert.equal(m.log_loss, null);
    assert.equal(m.accuracy, c.expected.accuracy);
    assert.ok(Math.abs(m.macro_f1! - c.expected.macro_f1) < 1e-12);
    assert.deepEqual(taskMetrics('multiclass_classification', [], { predictions: new Float64Array(), scores: new Float64Array() }), { accuracy: null, macro_f1: null, log_loss: null });
  });

  test('bad input is refused, not guessed', () => {
    assert.throws(() => macroF1([0, 1], [0]), /2 labels but 1 predictions/);
    assert.throws(() => multiclassLogLoss([0, 3], [0.5, 0.3, 0.2, 0.1, 0.1, 0.8]), /label 3 at row 1 is not a class index below 3/);
  });
});

describe('multiclass in the model file (retrain.yaml)', () => {
  test('defaults: gate on macro F1 without an absolute floor, trigger on accuracy, the multinomial trainer', () => {
    const spec = multiclassSpec();
    assert.equal(spec.gates.metric, 'macro_f1');
    assert.equal(spec.gates.floor, undefined);
    assert.equal(spec.gates.minImprovement, 0.01);
    assert.equal(spec.triggers.performance.metric, 'accuracy');
    assert.equal(spec.trainer.backend === 'builtin' && spec.trainer.algorithm, 'logistic_regression');
    assert.deepEqual(spec.rollout.analysis.metrics.map((m) => m.kind), ['error_rate', 'latency', 'accuracy_drop', 'shadow_agreement', 'estimated_accuracy_drop', 'score_distance']);
  });

  test('a regression model gets the linear trainer by default (it was logistic_regression, which cannot fit a number)', () => {
    const spec = modelSchema.parse({ name: 'price', task: 'regression', features: [{ name: 'x', type: 'numerical' }], label: { name: 'y' } });
    assert.equal(spec.trainer.backend === 'builtin' && spec.trainer.algorithm, 'linear_regression');
    assert.equal(spec.gates.metric, 'rmse');
    const explicit = modelSchema.parse({ name: 'price', task: 'regression', features: [{ name: 'x', type: 'numerical' }], label: { name: 'y' }, trainer: { backend: 'builtin', params: { epochs: 3 } } });
    assert.equal(explicit.trainer.backend === 'builtin' && explicit.trainer.algorithm, 'linear_regression');
  });

  test('each mistake is one message naming its path', () => {
    const { classes: _, ...withoutClasses } = specInput();
    assert.deepEqual(issues(withoutClasses), ['classes: a multiclass_classification model needs its classes: their names in label order, e.g. classes: [setosa, versicolor, virginica] (labels 0, 1, 2)']);
    assert.deepEqual(issues(specInput({ classes: ['cat', 'dog'] })), ['classes: expected at least 3 classes, got 2 (two classes: use task: binary_classification)']);
    assert.deepEqual(issues(specInput({ classes: ['cat', 'dog', 'cat'] })), ['classes.2: duplicate class "cat" (also classes[0])']);
    assert.deepEqual(issues(specInput({ gates: { metric: 'roc_auc' } })), ['gates.metric: roc_auc does not judge a multiclass classification model; expected one of accuracy, macro_f1, log_loss']);
    assert.deepEqual(issues(specInput({ triggers: { performance: { metric: 'f1' } } })), ['triggers.performance.metric: f1 does not judge a multiclass classification model; expected one of accuracy, macro_f1, log_loss']);
    assert.deepEqual(issues(specInput({ trainer: { backend: 'builtin', algorithm: 'linear_regression' } })), ['trainer.algorithm: linear_regression does not train a multiclass model; expected logistic_regression (multinomial)']);
    assert.deepEqual(issues({ ...specInput(), task: 'binary_classification' }), ['classes: classes applies to multiclass_classification models only; this model is binary_classification']);
    assert.deepEqual(issues({ ...specInput(), task: 'multiclass' }), ['task: expected binary_classification, multiclass_classification or regression']);
    assert.deepEqual(issues(specInput({ gates: { metric: 'macro_f1' } })), []);
    assert.deepEqual(issues({ ...withoutClasses, task: 'binary_classification', gates: { metric: 'macro_f1' } }), ['gates.metric: macro_f1 does not judge a binary classification model; expected one of accuracy, precision, recall, f1, roc_auc, log_loss']);
  });

  test('feedback takes the class index or its name; anything else is named', () => {
    const schemas = buildSchemas(multiclassSpec());
    assert.equal(schemas.feedbackItem.parse({ request_id: 'r', label: 2 }).label, 2);
    assert.equal(schemas.feedbackItem.parse({ request_id: 'r', label: 'delta' }).label, 3);
    for (const bad of [4, 1.5, -1, 'omega', true]) {
      const parsed = schemas.feedbackItem.safeParse({ request_id: 'r', label: bad });
      assert.equal(parsed.success, false, `label ${JSON.stringify(bad)}`);
      assert.match(parsed.error!.issues[0].message, /expected a class index 0\.\.3 or a class name \(alpha, beta, gamma, delta\)/);
    }
  });
});

describe('built-in softmax trainer against scikit-learn', () => {
  let root: { dir: string; cleanup: () => Promise<void> };
  let datasetDir: string;
  const { columns, train, expected, l2 } = fixtures.trainer;

  before(async () => {
    root = await tempDir('multiclass');
    datasetDir = path.join(root.dir, 'dataset');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(datasetDir, { recursive: true });
    const n = columns.label.length;
    const lines = Array.from({ length: n }, (_, i) => JSON.stringify({ i, x1: columns.x1[i], x2: columns.x2[i], x3: columns.x3[i], region: columns.region[i], label: columns.label[i] }));
    const jsonl = path.join(root.dir, 'rows.jsonl');
    await writeFile(jsonl, lines.join('\n'));
    const instance = await DuckDBInstance.create(':memory:');
    const connection = await instance.connect();
    try {
      const source = `SELECT x1::DOUBLE AS x1, x2::DOUBLE AS x2, x3::DOUBLE AS x3, region::VARCHAR AS region, label::DOUBLE AS label FROM read_json_auto('${jsonl}')`;
      await connection.run(`COPY (${source} WHERE i < ${train} ORDER BY i) TO '${path.join(datasetDir, 'train.parquet')}' (FORMAT parquet)`);
      // The holdout doubles as the validation split: the trainer's own metrics are then sklearn's too.
      for (const split of ['validation', 'holdout']) await connection.run(`COPY (${source} WHERE i >= ${train} ORDER BY i) TO '${path.join(datasetDir, `${split}.parquet`)}' (FORMAT parquet)`);
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
  });
  after(() => root.cleanup());

  const job = (outputDir: string, spec: ModelSpec) => ({
    task: spec.task,
    classes: spec.classes,
    algorithm: 'logistic_regression' as const,
    features: spec.features,
    labelName: 'label',
    params: { learningRate: 0.5, epochs: 300, l2, classWeight: 'none' as const, seed: 11 },
    datasetDir,
    outputDir,
    runId: 'mc',
  });

  test('holdout accuracy, macro F1 and log loss match LogisticRegression (multinomial, same penalty); deterministic for a seed', async (t) => {
    const spec = multiclassSpec();
    const first = await runBuiltinJob(job(path.join(root.dir, 'a'), spec));
    const again = await runBuiltinJob(job(path.join(root.dir, 'b'), spec));
    const a = JSON.parse(await readFile(first.artifactPath, 'utf8')) as LinearModel;
    const b = JSON.parse(await readFile(again.artifactPath, 'utf8')) as LinearModel;
    assert.deepEqual([a.weights, a.biases], [b.weights, b.biases], 'same data, params and seed: identical weights');
    assert.deepEqual(a.classes, fixtures.trainer.classes);
    assert.equal(a.weights.length, 4 * (3 + 3 + 1), '4 classes × (3 numerical + 3 regions + unknown)');

    const holdout = await evaluate(first.artifactPath, path.join(datasetDir, 'holdout.parquet'), spec);
    const m = holdout.metrics;
    t.diagnostic(`built-in: accuracy ${m.accuracy} macro F1 ${m.macro_f1} log loss ${m.log_loss}; sklearn: ${expected.accuracy} ${expected.macro_f1} ${expected.log_loss}`);
    assert.ok(Math.abs(m.log_loss! - expected.log_loss) < 0.002, `log loss ${m.log_loss} vs sklearn ${expected.log_loss}`);
    assert.ok(Math.abs(m.accuracy! - expected.accuracy) <= 0.01, `accuracy ${m.accuracy} vs sklearn ${expected.accuracy}`);
    assert.ok(Math.abs(m.macro_f1! - expected.macro_f1) <= 0.015, `macro F1 ${m.macro_f1} vs sklearn ${expected.macro_f1}`);
    assert.deepEqual(first.metrics, holdout.metrics, 'the trainer scores its validation split through the same scorer');

    const model = await loadModel(first.artifactPath, { spec });
    const rows = [0, 1, 2].map((r) => ({ x1: columns.x1[train + r], x2: columns.x2[train + r], x3: columns.x3[train + r], region: columns.region[train + r] }));
    const predictions = await model.predict(rows);
    predictions.forEach((p, r) => {
      const probabilities = p.probabilities!;
      assert.equal(probabilities.length, 4);
      assert.ok(Math.abs(probabilities.reduce((s, q) => s + q, 0) - 1) < 1e-12);
      assert.equal(p.prediction, probabilities.indexOf(Math.max(...probabilities)));
      assert.equal(p.score, probabilities[p.prediction]);
      probabilities.forEach((q, c) => assert.ok(Math.abs(q - expected.firstProbabilities[r][c]) < 0.01, `row ${r} class ${c}: ${q} vs sklearn ${expected.firstProbabilities[r][c]}`));
    });
    const [unknown] = await model.predict([{ x1: null, x2: null, x3: null, region: 'west' }]);
    assert.ok(unknown.probabilities!.every((q) => q > 0 && q < 1), 'missing values and an unseen region still score');
    await model.close();
  });

  test('the worker-thread backend trains it; the artifact is refused for a spec with other classes', async () => {
    const spec = multiclassSpec({ trainer: { backend: 'builtin', params: { epochs: 5 } } });
    const { ctx, progress } = recordingContext();
    const result = await new BuiltinTrainingBackend().train({ spec, datasetDir, outputDir: path.join(root.dir, 'c'), runId: 'mc-2' }, ctx);
    assert.ok((result.metrics.accuracy ?? 0) > 0.5 && result.metrics.macro_f1 !== null && result.metrics.log_loss !== null, JSON.stringify(result.metrics));
    assert.ok(progress.some((p) => p.metrics?.train_log_loss !== undefined && p.metrics.macro_f1 !== undefined));
    await assert.rejects(loadModel(result.artifactUri, { spec: { ...spec, classes: ['a', 'b', 'c'] } }), (err: unknown) => err instanceof ModelLoadError && /4 class probabilities, the spec declares 3 classes/.test(err.message));
    await assert.rejects(loadModel(result.artifactUri, { spec: { ...spec, classes: ['alpha', 'beta', 'delta', 'gamma'] } }), /the model's classes are \[alpha, beta, gamma, delta\], the spec's \[alpha, beta, delta, gamma\]/);
  });

  test('labels that are not class indices are refused with the row', async () => {
    const spec = multiclassSpec({ classes: ['alpha', 'beta', 'gamma'] });
    await assert.rejects(runBuiltinJob(job(path.join(root.dir, 'd'), spec)), /multiclass labels must be class indices 0\.\.2, found 3/);
  });

  test('a malformed multiclass artifact is refused at load', async () => {
    const file = path.join(root.dir, 'bad.json');
    const features = [{ name: 'x1', type: 'numerical', mean: 0, std: 1, impute: 0 }];
    await writeFile(file, JSON.stringify({ format: 'retrain-linear/v1', task: 'multiclass_classification', label: 'label', features, weights: [1, 2, 3], classes: ['a', 'b', 'c'], biases: [0, 0] }));
    await assert.rejects(loadModel(file), /biases: expected one bias per class \(3\), got 2/);
  });
});

describe('label-free accuracy of a multiclass model (CBPE on the predicted class probability)', () => {
  test('the mean calibrated confidence, with the binary estimate\'s two variances', () => {
    const q = [0.9, 0.6, 0.75, 0.5];
    const e = estimateMulticlassAccuracy(q);
    assert.ok(Math.abs(e.value - 0.6875) < 1e-12);
    const label = Math.sqrt(q.reduce((s, x) => s + x * (1 - x), 0) / 16);
    const sampling = Math.sqrt(q.reduce((s, x) => s + (x - 0.6875) ** 2, 0) / 16);
    assert.ok(Math.abs(e.labelStdError - label) < 1e-12 && Math.abs(e.samplingStdError - sampling) < 1e-12);
    assert.ok(e.lower < e.value && e.upper > e.value && e.upper <= 1);
    assert.throws(() => estimateMulticlassAccuracy([1.2]));
  });
});

describe('an ONNX multiclass model (scikit-learn LogisticRegression exported by skl2onnx)', () => {
  const onnxFile = new URL('../fixtures/multiclass-model.onnx', import.meta.url).pathname;
  const expected = JSON.parse(readFileSync(new URL('../fixtures/multiclass-onnx.json', import.meta.url), 'utf8')) as { rows: Array<Record<string, number | string>>; probabilities: number[][] };

  test('scores through loadModel: its probabilities [N, k], the argmax class and its probability', async () => {
    const model = await loadModel(onnxFile, { spec: multiclassSpec() });
    assert.equal(model.task, 'multiclass_classification');
    assert.equal(model.classCount, 4);
    const predictions = await model.predict(expected.rows);
    predictions.forEach((p, r) => {
      p.probabilities!.forEach((q, c) => assert.ok(Math.abs(q - expected.probabilities[r][c]) < 1e-5, `row ${r} class ${c}: ${q} vs sklearn ${expected.probabilities[r][c]}`));
      assert.equal(p.prediction, p.probabilities!.indexOf(Math.max(...p.probabilities!)));
      assert.equal(p.score, p.probabilities![p.prediction]);
    });
    await model.close();
  });

  test('refused for a spec with another number of classes, or another task', async () => {
    await assert.rejects(loadModel(onnxFile, { spec: multiclassSpec({ classes: ['a', 'b', 'c'] }) }), /no class-probability output for 3 classes/);
    const { classes: _, ...binary } = specInput();
    await assert.rejects(loadModel(onnxFile, { spec: modelSchema.parse({ ...binary, task: 'binary_classification' }) }), /output "probabilities" has 4 classes, a binary classifier 2/);
    const bare = await loadModel(onnxFile);
    assert.equal(bare.task, 'multiclass_classification', 'without a spec, four probabilities say multiclass');
    await bare.close();
  });
});

describe('multiclass through the lake rules, the gateway\'s live numbers and the canary evidence', () => {
  test('a label is a class index of the spec', () => {
    const classes = ['a', 'b', 'c'];
    assert.equal(labelProblem('multiclass_classification', 2, classes), undefined);
    assert.equal(labelProblem('multiclass_classification', 3, classes), 'expected a class index 0..2 (multiclass classification: a, b, c), got 3');
    assert.match(labelProblem('multiclass_classification', 0.5, classes)!, /got 0\.5/);
  });

  test('feedback joins count right and wrong like binary: accuracy = prediction === label', () => {
    const index = new FeedbackIndex();
    const live = new LiveMetrics('multiclass_classification');
    const now = Date.now();
    [2, 0, 1, 2].forEach((prediction, i) => {
      index.add(`r${i}`, 'champion', prediction, now);
      live.recordRequest('champion', now, 1, false);
    });
    for (const [id, label] of [['r0', 2], ['r1', 1], ['r2', 1], ['r3', 0]] as const) {
      const joined = index.join(id, label, 'multiclass_classification', now)!;
      live.recordLabel(joined.variant, joined.tsMs, joined.outcome, joined.previous);
    }
    const snapshot = live.snapshot(now - 60_000, now);
    assert.equal(snapshot.champion.accuracy, 0.5);
    assert.equal(snapshot.champion.mae, undefined);
  });

  test('the canary evidence: labelled accuracy, and the label-free accuracy from the calibrated max probability', () => {
    const edges = Array.from({ length: 11 }, (_, i) => i / 10);
    // P(right | score): the calibration is the identity, so a bin is right with its midpoint.
    const identity = { kind: 'isotonic' as const, x: [0, 1], y: [0, 1] };
    const histogram = [0, 0, 0, 0, 10, 0, 0, 0, 10, 0];
    assert.ok(Math.abs(estimatedAccuracy(histogram, edges, identity, true)! - (0.45 + 0.85) / 2) < 1e-12);
    // Binary reads a score under 0.5 as a prediction of class 0, right with 1 − q.
    assert.ok(Math.abs(estimatedAccuracy(histogram, edges, identity)! - (0.55 + 0.85) / 2) < 1e-12);
    const variant = (correct: number) => ({ version: '1', requests: 20, errors: 0, latencyMs: null, labelled: 20, correct, absErrorSum: 0, squaredErrorSum: 0, scoreHistogram: histogram });
    const served = { from: '', to: '', asOf: '', scoreEdges: edges, variants: { champion: variant(15), challenger: variant(12), shadow: variant(0) }, shadowPairs: { paired: 0, agreed: 0 } } as unknown as ServedEvidence;
    const evidence = canaryEvidenceFrom(served, { task: 'multiclass_classification' }, 'canary', { champion: identity, challenger: identity });
    assert.equal(evidence.champion.accuracy, 0.75);
    assert.equal(evidence.challenger.accuracy, 0.6);
    assert.equal(evidence.challenger.mae, undefined);
    assert.ok(Math.abs(evidence.challenger.estimatedAccuracy! - 0.65) < 1e-9);
  });
});

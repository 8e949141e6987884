import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { buildActivities, openBackends, type Backends } from '../../src/activities/index.js';
import { parseConfig } from '../../src/config/load.js';
import { runtimeSettings } from '../../src/config/settings.js';
import { mulberry32 } from '../../src/drift/index.js';
import { createLogger } from '../../src/runtime/logger.js';

/**
 * The pipeline and monitor activities on the real backends: a Parquet lake read by DuckDB, the
 * built-in trainer in a worker thread, the SQLite registry. Only the gateway is absent here (the
 * end-to-end test drives it), so promotion is done on the registry directly.
 */
const config = parseConfig(`
models:
  - name: card-fraud
    task: binary_classification
    features: [{ name: amount, type: numerical }, { name: country, type: categorical }]
    label: { name: is_fraud, delay: 1h }
    data: { monitorWindow: 6h }
    trainer: { backend: builtin, params: { epochs: 5, seed: 7 } }
    triggers: { drift: { minSamples: 500 } }
`);
const spec = config.models[0];
const NOW = Date.now();
const HOUR = 3_600_000;
const COUNTRIES = ['FR', 'DE', 'US', 'BR'];

function row(random: () => number, shift = 0) {
  const amount = Math.exp(3 + random() * 2) + shift;
  const country = COUNTRIES[Math.floor(random() * COUNTRIES.length)];
  const risk = -4 + amount / 40 + (country === 'BR' ? 1.5 : 0);
  return { features: { amount, country }, label: random() < 1 / (1 + Math.exp(-risk)) ? 1 : 0 };
}

describe('activities on the real backends', () => {
  let backends: Backends;
  let acts: ReturnType<typeof buildActivities>;
  const mock = new MockActivityEnvironment({ attempt: 1 });
  // MockActivityEnvironment.run loses the activity's types; this keeps them.
  const env = { run: <A extends unknown[], R>(fn: (...args: A) => Promise<R>, ...args: A) => mock.run(fn as never, ...(args as unknown as never[])) as Promise<R> };
  const run = { model: spec.name, workflowId: 'retrain-card-fraud', runId: 'run-1' };

  before(async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'retrain-acts-'));
    backends = openBackends({ config, settings: { ...runtimeSettings(), dataDir }, logger: createLogger({ level: 'warn', pretty: false, destination: process.stderr }) });
    acts = buildActivities(backends);
    const random = mulberry32(11);
    const rows = Array.from({ length: 6_000 }, (_, i) => ({ request_id: `t${i}`, ts: new Date(NOW - 30 * 24 * HOUR + i * 400_000), ...row(random) }));
    await backends.data.appendTraining(spec, rows);
  });
  after(async () => {
    await backends?.close();
  });

  it('estimates cost from config before any run, against the month spend and cap', async () => {
    assert.deepEqual(await env.run(acts.estimateRunCost, { ref: { model: spec.name } }), { estimatedCostUsd: 5, monthSpendUsd: 0, monthlyCapUsd: 10_000, capScope: 'model' });
  });

  let dataset: Awaited<ReturnType<typeof acts.buildDataset>>;
  it('builds a dataset snapshot, the same one again for the same inputs', async () => {
    dataset = await env.run(acts.buildDataset, { ref: { model: spec.name }, asOf: new Date(NOW).toISOString() });
    const { train, validation, holdout } = dataset.rowCounts;
    assert.equal(train + validation + holdout, 6_000);
    assert.ok(holdout >= 500 && validation >= 500, JSON.stringify(dataset.rowCounts));
    assert.equal((await env.run(acts.buildDataset, { ref: { model: spec.name }, asOf: new Date(NOW).toISOString() })).datasetId, dataset.datasetId);
  });

  it('trains and registers a challenger with its reference profile; a retry does not train again', async () => {
    const first = await env.run(acts.trainChallenger, { ref: { model: spec.name }, dataset, run });
    assert.equal(first.version, 1);
    assert.ok(first.costUsd > 0);
    const version = backends.registry.getVersion(spec.name, 1);
    assert.equal(version.datasetId, dataset.datasetId);
    assert.equal((version.referenceProfile as { version: number }).version, 1);
    const retried = await env.run(acts.trainChallenger, { ref: { model: spec.name }, dataset, run });
    assert.deepEqual(retried, first);
    assert.equal(backends.registry.listVersions(spec.name).length, 1);
  });

  it('evaluates on the holdout through the serving code path; a first model has no champion', async () => {
    const evaluation = await env.run(acts.evaluateCandidates, { ref: { model: spec.name }, dataset, challengerVersion: 1 });
    assert.equal(evaluation.champion, undefined);
    assert.ok(evaluation.challenger.metrics.roc_auc > 0.7, JSON.stringify(evaluation.challenger.metrics));
    assert.ok(evaluation.challenger.metrics.accuracy > 0.5);
  });

  it('records spend once per idempotency key', async () => {
    await env.run(acts.recordSpend, { model: spec.name, costUsd: 2.5, idempotencyKey: 'run-1:train' });
    await env.run(acts.recordSpend, { model: spec.name, costUsd: 2.5, idempotencyKey: 'run-1:train' });
    assert.equal((await env.run(acts.estimateRunCost, { ref: { model: spec.name } })).monthSpendUsd, 2.5);
  });

  it('the monitor sees drift on a shifted window, nothing on a calm one, and performance on matured labels', async () => {
    backends.registry.promote(spec.name, 1, { actor: 'test', reason: 'first model' });
    const random = mulberry32(5);
    const calm = Array.from({ length: 2_000 }, (_, i) => {
      const r = row(random);
      return { request_id: `c${i}`, ts: new Date(NOW - 5 * HOUR + i * 1_000), model_version: '1', variant: 'champion' as const, features: r.features, prediction: r.label, score: r.label ? 0.9 : 0.1 };
    });
    await backends.data.appendPredictions(spec, calm);
    await backends.data.appendLabels(spec, calm.map((p) => ({ request_id: p.request_id, label: p.prediction, label_ts: new Date(NOW - 2 * HOUR) })));

    const quiet = await env.run(acts.checkModel, { ref: { model: spec.name }, asOf: new Date(NOW).toISOString() });
    assert.equal(quiet.champion?.version, 1);
    assert.equal(quiet.window.rows, 2_000);
    assert.equal(quiet.drift.verdict, 'ok', JSON.stringify(quiet.drift));
    assert.deepEqual(quiet.performance, { metric: 'accuracy', value: 1, labels: 2_000, baseline: backends.registry.getVersion(spec.name, 1).metrics.accuracy });
    assert.deepEqual(quiet.labels, { matured: 2_000, labelled: 2_000, coverage: 1, revised: 0 });
    // The label-free estimate of the window's scores, read through the champion's own calibration, with its interval; the sequential test fed once.
    assert.ok(quiet.estimate && quiet.estimate.samples === 2_000 && quiet.estimate.lower < quiet.estimate.value && quiet.estimate.value < quiet.estimate.upper, JSON.stringify(quiet.estimate));
    assert.equal(quiet.sequential?.fired, false);
    assert.equal(quiet.sequential?.newSamples, 2_000);
    assert.equal((await env.run(acts.checkModel, { ref: { model: spec.name }, asOf: new Date(NOW).toISOString() })).sequential?.newSamples, 0, 'a matured prediction feeds the detector once');
    assert.equal(quiet.newLabels, 0, 'these labels arrived before the model was trained');
    assert.ok(quiet.lastRetrainAt);

    const shifted = Array.from({ length: 2_000 }, (_, i) => {
      const r = row(random, 150);
      return { request_id: `s${i}`, ts: new Date(NOW - HOUR + i * 1_000), model_version: '1', variant: 'champion' as const, features: r.features, prediction: 0, score: 0.2 };
    });
    await backends.data.appendPredictions(spec, shifted);
    await backends.data.appendLabels(spec, shifted.slice(0, 700).map((p) => ({ request_id: p.request_id, label: 1, label_ts: new Date(NOW + HOUR) })));
    const later = await env.run(acts.checkModel, { ref: { model: spec.name }, asOf: new Date(NOW + 2 * HOUR).toISOString() });
    assert.equal(later.drift.verdict, 'drift');
    assert.deepEqual(later.drift.drifted.map((d) => d.feature), ['amount']);
    assert.ok(later.drift.drifted[0].score > 0.15);
    assert.equal(later.newLabels, 700);

    // Every check leaves a self-contained HTML report with the drifted feature's chart, and a history point.
    assert.ok(later.reportPath && later.reportUrl, 'a report was written');
    assert.notEqual(later.reportPath, quiet.reportPath);
    assert.match(later.reportUrl, /^http:\/\/localhost:\d+\/reports\/[^/]+\/checks\/.+\.html$/);
    const html = readFileSync(later.reportPath, 'utf8');
    assert.match(html, /<svg/);
    assert.match(html, /amount/);
    assert.doesNotMatch(html, /<script/i);
    const history = readFileSync(path.join(path.dirname(path.dirname(later.reportPath)), 'history.jsonl'), 'utf8').trim().split('\n');
    assert.equal(history.length, 3, 'one history point per check');
  });
});

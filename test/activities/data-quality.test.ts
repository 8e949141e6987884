import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import type { CheckResult } from '../../src/activities/contracts.js';
import { buildActivities, openBackends, type Backends } from '../../src/activities/index.js';
import { parseConfig } from '../../src/config/load.js';
import { runtimeSettings } from '../../src/config/settings.js';
import { buildProfile, mulberry32 } from '../../src/drift/index.js';
import { createLogger } from '../../src/runtime/logger.js';
import { evaluateTriggers } from '../../src/drift/decisions/triggers.js';

/**
 * Data-quality checks through the monitor's check activity on the real lake and registry: a client
 * that starts sending nulls for `amount` and a new country. Each fault is recorded in the
 * violations store every check it lasts, and marked as started (what the monitor alerts on) only
 * on the check where it appears, a retried check included; it is a retrain only when configured.
 */
const yaml = (action: 'alert' | 'retrain') => `
models:
  - name: dq-fraud
    task: binary_classification
    features: [{ name: amount, type: numerical, key: true }, { name: country, type: categorical }]
    label: { name: y, delay: 1h }
    data: { monitorWindow: 6h }
    triggers: { drift: { enabled: false }, dataQuality: { action: ${action} } }
`;
const config = parseConfig(yaml('alert'));
const spec = config.models[0];
const DAY = 86_400_000;
const HOUR = 3_600_000;
const NOW = Date.now();

describe('the check activity judges data quality', () => {
  let backends: Backends;
  let acts: ReturnType<typeof buildActivities>;
  const mock = new MockActivityEnvironment({ attempt: 1 });
  const check = (asOf: number) => mock.run(acts.checkModel, { ref: { model: spec.name }, asOf: new Date(asOf).toISOString() }) as Promise<CheckResult>;

  before(async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'retrain-dq-acts-'));
    backends = openBackends({ config, settings: { ...runtimeSettings(), dataDir }, logger: createLogger({ level: 'warn', pretty: false, destination: process.stderr }) });
    acts = buildActivities(backends);
    const random = mulberry32(5);
    const artifact = path.join(dataDir, 'model.json');
    writeFileSync(artifact, JSON.stringify({ format: 'retrain-linear/v1', task: 'binary_classification', label: 'y', features: [{ name: 'amount', type: 'numerical', mean: 50, std: 29, impute: 50 }, { name: 'country', type: 'categorical', vocabulary: ['DE', 'FR'] }], weights: [0.02, 0.3, -0.3, 0], bias: -1, threshold: 0.5 }));
    const n = 4_000;
    const profile = buildProfile(
      { amount: Float64Array.from({ length: n }, () => 100 * random()), country: Array.from({ length: n }, (_, i) => (i % 2 ? 'DE' : 'FR')) },
      { features: spec.features },
    );
    const v = await backends.registry.registerVersion({ model: spec.name, artifactUri: artifact, metrics: { accuracy: 0.9 }, referenceProfile: profile, trainer: 'external', createdAt: new Date(NOW - 10 * DAY) });
    backends.registry.promote(spec.name, v.version, { actor: 'test', reason: 'champion' });
    // 600 predictions per 6 h window: clean two days ago; since yesterday 20% of amounts null and 10% from "BR".
    const windows: Array<[number, boolean]> = [[NOW - 2 * DAY, false], [NOW - DAY, true], [NOW, true]];
    await backends.data.appendPredictions(spec, windows.flatMap(([end, broken], w) =>
      Array.from({ length: 600 }, (_, i) => ({
        request_id: `w${w}-${i}`, ts: new Date(end - 5 * HOUR + i * 20_000), model_version: '1', variant: 'champion' as const,
        features: { amount: broken && i % 5 === 0 ? null : 100 * random(), country: broken && i % 10 === 1 ? 'BR' : i % 2 ? 'DE' : 'FR' },
        prediction: 0, score: 0.3,
      })),
    ));
  });
  after(async () => {
    await backends?.close();
  });

  it('a clean window passes; a broken one is recorded and alerted once, however often it is retried or lasts', async () => {
    const clean = await check(NOW - 2 * DAY);
    assert.deepEqual(clean.dataQuality?.violations, []);
    assert.ok(clean.dataQuality!.checked >= 4, 'missing rate of both, range and mean shift of amount, unseen countries');

    const broken = await check(NOW - DAY);
    assert.deepEqual(broken.dataQuality?.violations.map((v) => [v.feature, v.check, +v.value.toFixed(3)]), [['amount', 'missing_rate', 0.2], ['country', 'unseen_categories', 0.1]]);
    assert.deepEqual(broken.dataQuality?.started, ['amount/missing_rate', 'country/unseen_categories']);
    const recorded = backends.registry.violations({ model: spec.name });
    assert.deepEqual(recorded.map((v) => [v.feature, v.statistic, v.decision]), [['amount', 'missing_rate', 'reported_only'], ['country', 'unseen_categories', 'reported_only']]);
    assert.match(recorded[0].decisionReason, /alert only/);

    // The check's report lists each violation against its limit, marked as alerted.
    assert.ok(broken.reportPath, 'a report was written');
    const report = readFileSync(broken.reportPath, 'utf8');
    assert.match(report, /<h2>Data quality <span class="badge [^"]*">2 violations<\/span><\/h2>/);
    assert.match(report, /<td>amount<\/td><td>missing values<\/td><td[^>]*>20\.0%<\/td>/);
    assert.match(report, /new: alerted/);

    // A retry of the same check: the same answer, nothing recorded twice.
    const retried = await check(NOW - DAY);
    assert.deepEqual(retried.dataQuality?.started, broken.dataQuality?.started);
    assert.equal(backends.registry.violations({ model: spec.name }).length, 2);

    // The fault lasts: recorded again, not started again.
    const lasting = await check(NOW);
    assert.equal(lasting.dataQuality?.violations.length, 2);
    assert.deepEqual(lasting.dataQuality?.started, []);
    assert.deepEqual(backends.registry.violationRecurrence({ model: spec.name, since: new Date(NOW - 3 * DAY) }).map((r) => [r.feature, r.checks]), [['amount', 2], ['country', 2]]);

    // The triggers weigh it: an alert by default, a retrain when configured.
    const alert = evaluateTriggers(spec.triggers, lasting, { now: NOW });
    assert.deepEqual(alert.fired, []);
    assert.match(alert.considered!.find((c) => c.kind === 'data_quality')!.evidence, /^2 data-quality violations \(amount missing rate, country unseen categories\): alert only/);
    const retrain = evaluateTriggers(parseConfig(yaml('retrain')).models[0].triggers, lasting, { now: NOW });
    assert.deepEqual(retrain.fired.map((f) => f.kind), ['data_quality']);
  });
});

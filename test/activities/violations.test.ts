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
import { buildProfile, mulberry32, type DriftProfile } from '../../src/drift/index.js';
import { createLogger } from '../../src/runtime/logger.js';

/**
 * The monitor's check activity on the real backends (as in real-backends.test.ts), with a champion
 * registered from a model file and its profile rather than trained: a check on drifted data keeps
 * its violations in the registry with the check's own verdict, once however often it is retried,
 * and its report says how often each drifted feature drifted before.
 */
const config = parseConfig(`
models:
  - name: kb-fraud
    task: binary_classification
    features: [{ name: x, type: numerical }, { name: noise, type: numerical }]
    label: { name: y, delay: 1h }
    data: { monitorWindow: 6h }
    # Data quality has its own test (data-quality.test.ts): here only drift is recorded.
    triggers: { drift: { action: retrain, minSamples: 300, minImportance: 0.2 }, dataQuality: { enabled: false } }
`);
const spec = config.models[0];
const DAY = 86_400_000;
const HOUR = 3_600_000;
const NOW = Date.now();

describe('the check activity records drift violations', () => {
  let backends: Backends;
  let acts: ReturnType<typeof buildActivities>;
  const mock = new MockActivityEnvironment({ attempt: 1 });
  // MockActivityEnvironment.run loses the activity's result type.
  const check = (asOf: number) => mock.run(acts.checkModel, { ref: { model: spec.name }, asOf: new Date(asOf).toISOString() }) as Promise<CheckResult>;

  before(async () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'retrain-violations-acts-'));
    backends = openBackends({ config, settings: { ...runtimeSettings(), dataDir }, logger: createLogger({ level: 'warn', pretty: false, destination: process.stderr }) });
    acts = buildActivities(backends);
    const random = mulberry32(3);
    const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

    // The champion: logistic on x; its profile says x carries 90% of the importance, noise 10%.
    const artifact = path.join(dataDir, 'model.json');
    writeFileSync(artifact, JSON.stringify({ format: 'retrain-linear/v1', task: 'binary_classification', label: 'y', features: [{ name: 'x', type: 'numerical', mean: 0, std: 1, impute: 0 }, { name: 'noise', type: 'numerical', mean: 0, std: 1, impute: 0 }], weights: [3, 0], bias: 0, threshold: 0.5 }));
    const training = Array.from({ length: 4_000 }, () => ({ x: gaussian(), noise: gaussian() }));
    const profile: DriftProfile = {
      ...buildProfile({ x: Float64Array.from(training, (r) => r.x), noise: Float64Array.from(training, (r) => r.noise) }, { features: spec.features }),
      importance: { metric: 'neg_log_loss', repeats: 3, rows: 1_000, features: { x: { importance: 0.27, share: 0.9 }, noise: { importance: 0.03, share: 0.1 } } },
    };
    const v = await backends.registry.registerVersion({ model: spec.name, artifactUri: artifact, metrics: { accuracy: 0.9 }, referenceProfile: profile, trainer: 'external', createdAt: new Date(NOW - 10 * DAY) });
    backends.registry.promote(spec.name, v.version, { actor: 'test', reason: 'champion' });

    // 600 predictions in each check's 6 h window: calm two days ago, both features shifted since.
    const windows: Array<[number, number]> = [[NOW - 2 * DAY, 0], [NOW - DAY, 1.5], [NOW, 1.5]];
    const predictions = windows.flatMap(([end, shift], w) =>
      Array.from({ length: 600 }, (_, i) => {
        const x = gaussian() + shift;
        const score = 1 / (1 + Math.exp(-3 * x));
        return { request_id: `w${w}-${i}`, ts: new Date(end - 5 * HOUR + i * 20_000), model_version: '1', variant: 'champion' as const, features: { x, noise: gaussian() + shift }, prediction: score >= 0.5 ? 1 : 0, score };
      }),
    );
    await backends.data.appendPredictions(spec, predictions);
  });
  after(async () => {
    await backends?.close();
  });

  it('a calm check records nothing; a drifted one records each drifted feature with the check\'s verdict, once per retry', async () => {
    const calm = await check(NOW - 2 * DAY);
    assert.equal(calm.drift.verdict, 'ok', JSON.stringify(calm.drift));
    assert.deepEqual(backends.registry.violations({ model: spec.name }), []);

    const drifted = await check(NOW - DAY);
    assert.deepEqual(drifted.drift.drifted.map((d) => d.feature).sort(), ['noise', 'x']);
    const recorded = backends.registry.violations({ model: spec.name });
    assert.deepEqual(recorded.map((v) => [v.checkedAt, v.feature, v.statistic, v.importanceShare, v.championVersion, v.decision]), [
      [drifted.checkedAt, 'noise', 'psi', 0.1, 1, 'reported_only'],
      [drifted.checkedAt, 'x', 'psi', 0.9, 1, 'retrain_warranted'],
    ]);
    for (const v of recorded) {
      const measured = drifted.drift.drifted.find((d) => d.feature === v.feature)!;
      assert.deepEqual([v.score, v.threshold], [measured.score, measured.threshold]);
      assert.ok(v.score > v.threshold);
    }
    assert.match(recorded[0].decisionReason, /^importance below 20%: reported only; policy retrain: x \(/);
    assert.equal(recorded[1].decisionReason, drifted.drift.impact?.reason);
    assert.ok(!('driftRecurrence' in drifted), 'the recurrence goes to the report, not into the workflow\'s result');

    // Temporal retries the activity with the same input: the same check, nothing new recorded.
    await check(NOW - DAY);
    assert.deepEqual(backends.registry.violations({ model: spec.name }), recorded);
  });

  it('the report shows each drifted feature\'s recurrence over the last 30 days, this check included', async () => {
    const today = await check(NOW);
    assert.equal(backends.registry.violations({ model: spec.name }).length, 4);
    assert.ok(today.reportPath, 'a report was written');
    const html = readFileSync(today.reportPath, 'utf8');
    assert.match(html, /<th>Recurrence<\/th>/);
    assert.match(html, /Recurrence: drifted on 2 of the last 30 days \(<code>retrain violations kb-fraud --feature x<\/code>\)/);
    assert.match(html, /Recurrence: drifted on 2 of the last 30 days \(<code>retrain violations kb-fraud --feature noise<\/code>\)/);
  });
});

// @server dev concurrent
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildActivities } from '../../src/activities/index.js';
import type { TrainingRow } from '../../src/backends/data/types.js';
import { pipelineStatus, startPipeline } from '../../src/client.js';
import type { ModelSpec } from '../../src/config/schema.js';
import { seedChampion } from '../../src/demo/seed.js';
import { mulberry32 } from '../../src/drift/index.js';
import type { PipelineResult } from '../../src/workflows/pipeline.js';
import { useStack } from '../helpers/stack.js';

/**
 * A multiclass model and a regression model end to end on the real stack (dev server, lake,
 * built-in trainer, registry, gateway over HTTP), side by side: a weak first champion is seeded,
 * the gateway answers (class and class probabilities for the multiclass model), a pipeline
 * retrains, passes the task's gates (macro F1; rmse), ramps on live traffic whose ground truth the
 * test sends back (labels by class index and by class name), and is promoted on the canary's
 * labelled evidence (accuracy = prediction === label; MAE). The monitor's check then reads the
 * matured labels and the label-free estimate of the new champion.
 */
const TOKEN = 'multiclass-regression-token';
const CLASSES = ['setosa', 'versicolor', 'virginica'];
const ROLLOUT = 'rollout: { steps: [{ weight: 50, duration: 3s }, { weight: 100 }], analysisInterval: 1s, minSamples: 20, failureLimit: 2 }';

const modelsYaml = (url: string) => `
models:
  - name: iris
    task: multiclass_classification
    classes: [${CLASSES.join(', ')}]
    features:
      - { name: x1, type: numerical }
      - { name: x2, type: numerical }
      - { name: region, type: categorical }
    label: { name: species, delay: 1s }
    data: { monitorWindow: 4s }
    serving: { url: "${url}", entityKey: entity_id }
    trainer: { backend: builtin, params: { epochs: 6, seed: 3 } }
    triggers: { performance: { minLabels: 20 } }
    approval: { when: never }
    ${ROLLOUT}
  - name: price
    task: regression
    features:
      - { name: x1, type: numerical }
      - { name: x2, type: numerical }
      - { name: region, type: categorical }
    label: { name: amount, delay: 1s }
    data: { monitorWindow: 4s }
    serving: { url: "${url}", entityKey: entity_id }
    trainer: { backend: builtin, params: { epochs: 6, seed: 3 } }
    triggers: { performance: { minLabels: 20 } }
    approval: { when: never }
    ${ROLLOUT}
`;

/** Rows with a known relation: the multiclass label is drawn from a softmax of two features and the region; the regression label is linear plus noise. */
function sampler(task: ModelSpec['task'], seed: number) {
  const random = mulberry32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const regions = ['north', 'south', 'east'];
  return () => {
    const x1 = Math.round(normal() * 1e4) / 1e4;
    const x2 = Math.round(normal() * 1e4) / 1e4;
    const r = Math.floor(random() * 3);
    const features = { x1, x2, region: regions[r] };
    if (task === 'regression') return { features, label: Math.round((3 + 2 * x1 - 1.5 * x2 + [1, -1, 0][r] + 0.3 * normal()) * 1e4) / 1e4 };
    const z = [2.5 * x1 + (r === 0 ? 1 : 0), -2.5 * x1 + 1.5 * x2, -2 * x2 + (r === 2 ? 1 : 0)];
    const e = z.map((v) => Math.exp(v));
    let u = random() * e.reduce((s, v) => s + v, 0);
    let label = 0;
    while (label < 2 && u >= e[label]) u -= e[label++];
    return { features, label };
  };
}

describe('a multiclass and a regression model end to end (dev server, lake, built-in trainer, registry, gateway)', () => {
  const stack = useStack({
    name: 'multiclass',
    adminToken: TOKEN,
    gateway: true,
    config: modelsYaml,
    // Four days of labelled history each, and a deliberately under-trained first champion the retrained challenger clearly beats.
    async prepare({ backends, config }) {
      const now = Date.now();
      for (const spec of config.models) {
        const sample = sampler(spec.task, spec.task === 'regression' ? 2 : 1);
        const rows: TrainingRow[] = Array.from({ length: 2_000 }, (_, i) => ({ request_id: `hist-${i}`, ts: now - 4 * 86_400_000 + i * 150_000, ...sample() }));
        await backends.data.appendTraining(spec, rows);
        const weak = { ...spec, trainer: { ...spec.trainer, params: { ...(spec.trainer.backend === 'builtin' ? spec.trainer.params : {}), epochs: 1, learningRate: 0.0005 } } } as ModelSpec;
        await seedChampion(backends, weak);
      }
    },
  });

  type Answer = { request_id: string; prediction: number; score: number; variant: string; class?: string; probabilities?: Record<string, number> };

  async function predict(spec: ModelSpec, instances: Array<{ entity_id: string; features: Record<string, number | string> }>): Promise<Answer[]> {
    const response = await fetch(`${stack.gatewayUrl}/v1/models/${spec.name}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances }) });
    assert.equal(response.status, 200, await response.clone().text());
    return ((await response.json()) as { predictions: Answer[] }).predictions;
  }

  /** 40 requests and their ground truth; multiclass labels go back alternately as index and as name. */
  async function trafficBatch(spec: ModelSpec, sample: ReturnType<typeof sampler>, tag: string): Promise<void> {
    const events = Array.from({ length: 40 }, () => sample());
    const answers = await predict(spec, events.map((e, i) => ({ entity_id: `${tag}-${i}`, features: e.features })));
    const labels = answers.map((a, i) => ({ request_id: a.request_id, label: spec.task === 'multiclass_classification' && i % 2 === 1 ? CLASSES[events[i].label] : events[i].label }));
    const fb = await fetch(`${stack.gatewayUrl}/v1/models/${spec.name}/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ labels }) });
    assert.equal(fb.status, 202, await fb.clone().text());
  }

  /** Starts a pipeline and, while it is in its canary, sends traffic and the ground truth. */
  async function runWithTraffic(spec: ModelSpec, seed: number): Promise<PipelineResult> {
    const started = await startPipeline(stack.client, { taskQueues: stack.taskQueues }, spec, { kinds: ['manual'], reasons: ['integration test'], requestedBy: 'test' });
    assert.equal(started.started, true);
    let done = false;
    const result = (stack.client.workflow.getHandle(started.workflowId).result() as Promise<PipelineResult>).finally(() => (done = true));
    const sample = sampler(spec.task, seed);
    let batch = 0;
    while (!done) {
      if ((await pipelineStatus(stack.client, spec.name)).stage !== 'canary') {
        await Promise.race([result, new Promise((r) => setTimeout(r, 200))]);
        continue;
      }
      await trafficBatch(spec, sample, `canary-${batch++}`);
    }
    return result;
  }

  it('the gateway answers with the class and every class probability; labels are refused outside the classes', async () => {
    const spec = stack.specs.iris;
    const [answer] = await predict(spec, [{ entity_id: 'probe', features: { x1: 1.2, x2: -0.3, region: 'north' } }]);
    assert.deepEqual(Object.keys(answer.probabilities!), CLASSES);
    const probabilities = Object.values(answer.probabilities!);
    assert.ok(Math.abs(probabilities.reduce((s, p) => s + p, 0) - 1) < 1e-9);
    assert.equal(answer.class, CLASSES[answer.prediction]);
    assert.equal(answer.score, answer.probabilities![answer.class!]);
    const bad = await fetch(`${stack.gatewayUrl}/v1/models/iris/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ labels: [{ request_id: answer.request_id, label: 'daisy' }] }) });
    assert.equal(bad.status, 400, await bad.clone().text());
    assert.match(await bad.text(), /expected a class index 0\.\.2 or a class name \(setosa, versicolor, virginica\)/);
    const [value] = await predict(stack.specs.price, [{ entity_id: 'probe', features: { x1: 1, x2: 0, region: 'south' } }]);
    assert.equal(value.prediction, value.score);
    assert.equal(value.probabilities, undefined);
  });

  it('each retrains, passes its gates, ramps on labelled traffic and is promoted; the monitor then judges the new champion on matured labels', async (t) => {
    const [iris, price] = await Promise.all([runWithTraffic(stack.specs.iris, 11), runWithTraffic(stack.specs.price, 12)]);
    for (const [name, outcome] of [['iris', iris], ['price', price]] as const) {
      assert.equal(outcome.outcome, 'promoted', `${name}: ${outcome.reason}`);
      assert.deepEqual(stack.backends.registry.aliases(name), { champion: 2, challenger: null, previous: 1 }, name);
    }
    // The gates judged each on its task's metric.
    const champion = (name: string) => stack.backends.registry.resolve(name, 'champion')!;
    assert.ok((champion('iris').metrics.macro_f1 ?? 0) > 0.6 && champion('iris').metrics.log_loss !== null, JSON.stringify(champion('iris').metrics));
    assert.ok(iris.status.gates?.some((g) => /macro_f1/.test(JSON.stringify(g))), JSON.stringify(iris.status.gates));
    assert.ok((champion('price').metrics.rmse ?? 99) < 0.6, JSON.stringify(champion('price').metrics));
    // The canary's labelled evidence: accuracy (prediction === label) for the classes, MAE for the number.
    const last = (r: PipelineResult) => r.status.analyses.at(-1)!.evidence!;
    assert.ok(last(iris).challenger.labelled >= 20 && (last(iris).challenger.accuracy ?? 0) > 0.5, JSON.stringify(last(iris)));
    assert.ok(typeof last(iris).challenger.estimatedAccuracy === 'number', 'the label-free estimate per version (a dry run)');
    assert.ok(last(price).challenger.labelled >= 20 && (last(price).challenger.mae ?? 99) < 0.6 && last(price).challenger.accuracy === undefined, JSON.stringify(last(price)));

    // The monitor's check on the same lake, once the old champion's answers left its 4 s window:
    // the new champion's traffic, its matured labels (the label delay is 1 s) and the label-free estimate.
    await new Promise((r) => setTimeout(r, 4_000));
    for (const [name, seed] of [['iris', 21], ['price', 22]] as const) {
      const sample = sampler(stack.specs[name].task, seed);
      for (let b = 0; b < 3; b++) await trafficBatch(stack.specs[name], sample, `after-${b}`);
    }
    await new Promise((r) => setTimeout(r, 2_500));
    const check = (model: string) => buildActivities(stack.backends).checkModel!({ ref: { model }, asOf: new Date().toISOString() });
    const [irisCheck, priceCheck] = await Promise.all([check('iris'), check('price')]);
    t.diagnostic(`iris: holdout ${JSON.stringify(champion('iris').metrics)}; matured accuracy ${irisCheck.performance?.value} on ${irisCheck.performance?.labels}, label-free estimate ${irisCheck.estimate?.value}`);
    t.diagnostic(`price: holdout ${JSON.stringify(champion('price').metrics)}; matured rmse ${priceCheck.performance?.value} on ${priceCheck.performance?.labels}`);
    assert.equal(irisCheck.performance?.metric, 'accuracy', JSON.stringify(irisCheck));
    assert.ok(irisCheck.performance!.value > 0.5 && irisCheck.performance!.labels >= 20);
    assert.equal(irisCheck.estimate?.metric, 'accuracy');
    // The calibrated confidence of the new champion's answers (P(right | its probability), fitted on its validation split).
    assert.ok(irisCheck.estimate!.value > 0.5 && irisCheck.estimate!.value < 1 && irisCheck.estimate!.samples >= 100, JSON.stringify(irisCheck.estimate));
    assert.ok(Math.abs(irisCheck.estimate!.value - irisCheck.performance!.value) < 0.2, `estimate ${irisCheck.estimate!.value} vs matured accuracy ${irisCheck.performance!.value}`);
    assert.ok(irisCheck.sequential !== undefined, 'the sequential test watches the multiclass error stream');
    assert.equal(priceCheck.performance?.metric, 'rmse', JSON.stringify(priceCheck));
    assert.equal(priceCheck.estimate, undefined);
  });
});

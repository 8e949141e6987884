// @server dev
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { buildActivities } from '../../src/activities/index.js';
import { startPipeline } from '../../src/client.js';
import type { ModelSpec } from '../../src/config/schema.js';
import { seedChampion } from '../../src/demo/seed.js';
import { createGenerator } from '../../src/demo/simulator/index.js';
import type { PipelineResult } from '../../src/workflows/pipeline.js';
import { serveUntilDone, type Truth } from '../helpers/canary-traffic.js';
import { runCli } from '../helpers/cli.js';
import { fraudModelYaml } from '../helpers/fraud-model.js';
import { useStack } from '../helpers/stack.js';
import { eventually } from '../helpers/temporal.js';

/**
 * The pipeline end to end on the real backends and the dev server: lake (DuckDB on Parquet), the
 * built-in trainer, the SQLite registry, and the gateway over HTTP carrying real traffic. The
 * test plays the users: it sends predictions and their ground truth while the canary runs.
 */
const TOKEN = 'pipeline-real-token';
const modelYaml = (name: string, url: string) =>
  fraudModelYaml(
    name,
    url,
    `
    trainer: { backend: builtin, params: { epochs: 4, seed: 3 } }
    approval: { when: never }
    gates: { metric: log_loss, floor: 1, minImprovement: 0.01 }
    rollout: { steps: [{ weight: 50, duration: 4s }, { weight: 100 }], analysisInterval: 1s, minSamples: 20, failureLimit: 2 }`,
    { labelDelay: '1d' },
  );

// A model whose budget refuses every run: the worker's config holds it, so the refusal comes from there.
const cooldownYaml = (url: string) => modelYaml('real-cooldown', url).replace('approval: { when: never }', 'approval: { when: never }\n    budget: { monthlyCap: 1, estimatedCostPerRun: 5, onExceed: refuse }');

describe('pipeline on the real backends (dev server, lake, built-in trainer, registry, gateway)', () => {
  const stack = useStack({
    name: 'real',
    adminToken: TOKEN,
    // Every activity with an outside effect fails once right after its effect (a lost completion):
    // the retries must leave registry, gateway and ledger in agreement, nothing applied twice.
    env: { RETRAIN_TEST_FAULTS: '*' },
    gateway: true,
    config: (url) => `models:${modelYaml('real-happy', url)}${modelYaml('real-rollback', url)}${cooldownYaml(url)}`,
    // A deliberately under-trained first champion (its log loss stays near ln 2), so the retrained challenger clearly beats it.
    async prepare({ backends, config }) {
      for (const spec of config.models.filter((m) => m.name !== 'real-cooldown')) {
        const weak = { ...spec, trainer: { ...spec.trainer, params: { ...(spec.trainer.backend === 'builtin' ? spec.trainer.params : {}), epochs: 1, learningRate: 0.0005 } } } as ModelSpec;
        await seedChampion(backends, weak, { historyDays: 10, rowsPerDay: 400 });
      }
    },
  });

  /** Starts a run of `spec` and plays its users until it ends; `truth` decides the label a variant's answer gets. */
  async function runWithTraffic(spec: ModelSpec, truth: Truth): Promise<PipelineResult> {
    const started = await startPipeline(stack.client, { taskQueues: stack.taskQueues }, spec, { kinds: ['manual'], reasons: ['integration test'], requestedBy: 'test' });
    assert.equal(started.started, true);
    return serveUntilDone(stack, spec, stack.client.workflow.getHandle(started.workflowId).result() as Promise<PipelineResult>, { truth });
  }

  async function deployment(model: string) {
    const response = await fetch(`${stack.gatewayUrl}/v1/admin/models/${model}/deployment`, { headers: { authorization: `Bearer ${TOKEN}` } });
    return (await response.json()) as { champion?: { version: number | string } | null; challenger?: { version: number | string } | null };
  }

  it('retrains, passes the gates, ramps on live traffic and is promoted: registry, ledger and gateway agree', async () => {
    const spec = stack.specs['real-happy'];
    const outcome = await runWithTraffic(spec, (_variant, _prediction, actual) => actual);
    assert.equal(outcome.outcome, 'promoted', outcome.reason);
    assert.ok(outcome.status.analyses.some((a) => a.verdict === 'pass'), JSON.stringify(outcome.status.analyses));
    assert.deepEqual(stack.backends.registry.aliases(spec.name), { champion: 2, challenger: null, previous: 1 });
    assert.deepEqual(stack.backends.registry.listVersions(spec.name).map((v) => v.version), [1, 2], 'one challenger registered despite the retried training');
    const ledger = stack.backends.registry.ledger({ model: spec.name });
    assert.deepEqual(ledger.map((e) => e.action), ['promote', 'register_challenger', 'promote'], 'seed, challenger, promotion: each once despite the retries');
    const promotion = ledger.find((e) => e.action === 'promote' && e.toVersion === 2);
    assert.ok(promotion, 'a ledger entry for the promotion');
    const history = (await stack.client.workflow.getHandle(`retrain-${spec.name}`).fetchHistory()).events ?? [];
    const retried = history.filter((e) => (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1).length;
    assert.ok(retried >= 4, `the injected faults made activities retry (${retried} retried attempts)`);
    assert.equal(promotion.fromVersion, 1);
    assert.equal(promotion.actor, 'retrain:auto');
    const deployed = await deployment(spec.name);
    assert.equal(Number(deployed.champion?.version), 2);
    assert.equal(deployed.challenger ?? null, null);

    // The run's report: champion vs challenger on the holdout, and the canary's live numbers per step.
    assert.ok(outcome.status.reportUrl, 'the run links its report');
    const relative = decodeURIComponent(outcome.status.reportUrl.replace(/^.*?\/reports\//, ''));
    const html = readFileSync(path.join(stack.dataDir, 'reports', relative), 'utf8');
    assert.match(html, /promoted/);
    assert.match(html, /<svg/);
    assert.ok(outcome.status.analyses.every((a) => a.evidence && a.evidence.challenger.requests >= 0 && a.metrics?.length), 'each analysis keeps the numbers it judged, from the lake');
    // The passing steps rest on served traffic and matured labels of both versions, read from the lake.
    const steps = outcome.status.steps ?? [];
    assert.ok(steps.length > 0 && steps.every((s) => s.verdict === 'pass' && s.evidence?.includes('labels')), JSON.stringify(steps));
    const last = outcome.status.analyses.at(-1)!.evidence!;
    assert.equal(last.challenger.version, String(outcome.candidateVersion));
    assert.ok(last.challenger.labelled >= 1 && last.champion.labelled >= 1, JSON.stringify(last));
  });

  it('a challenger that is wrong on live traffic is rolled back; the champion keeps all traffic', async () => {
    const spec = stack.specs['real-rollback'];
    const outcome = await runWithTraffic(spec, (variant, prediction, actual) => (variant === 'challenger' ? 1 - prediction : actual));
    assert.equal(outcome.outcome, 'rolled_back', outcome.reason);
    assert.match(outcome.reason, /consecutive failed analyses at 50%: .*accuracy/);
    assert.deepEqual(stack.backends.registry.aliases(spec.name), { champion: 1, challenger: null, previous: null });
    assert.deepEqual(stack.backends.registry.ledger({ model: spec.name }).map((e) => e.action), ['promote', 'register_challenger', 'clear_challenger'], 'each effect once despite the retries');
    const deployed = await deployment(spec.name);
    assert.equal(Number(deployed.champion?.version), 1);
    assert.equal(deployed.challenger ?? null, null);
    const response = await fetch(`${stack.gatewayUrl}/v1/models/${spec.name}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: Array.from({ length: 50 }, (_, i) => ({ entity_id: `after-${i}`, features: createGenerator(spec, { seed: i, drift: { kind: 'none', startMs: 0, windowMs: 0, periodMs: 1 } }).sample(0).features })) }) });
    const body = (await response.json()) as { predictions: Array<{ variant: string; model_version: string }> };
    assert.ok(body.predictions.every((p) => p.variant === 'champion' && String(p.model_version) === '1'));
  });

  it('`retrain rollback` puts the previous champion back in the gateway and the registry, with a ledger entry', async () => {
    const configFile = path.join(stack.dataDir, 'retrain.yaml');
    writeFileSync(configFile, stack.configText);
    const result = await runCli(['--config', configFile, 'rollback', 'real-happy', '--as', 'oncall', '--reason', 'pager at 3am'], { RETRAIN_DATA_DIR: stack.dataDir, RETRAIN_ADMIN_TOKEN: TOKEN });
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /real-happy: champion is v1 again \(was v2\)/);
    assert.deepEqual(stack.backends.registry.aliases('real-happy'), { champion: 1, challenger: null, previous: 2 });
    assert.equal(Number((await deployment('real-happy')).champion?.version), 1);
    const entry = stack.backends.registry.ledger({ model: 'real-happy', limit: 1, newest: true })[0];
    assert.deepEqual([entry.action, entry.actor, entry.reason], ['rollback', 'oncall', 'pager at 3am']);
  });

  it('a run that ends without touching the registry (budget refusal) still starts the cooldown', async () => {
    const spec = stack.specs['real-cooldown'];
    const started = await startPipeline(stack.client, { taskQueues: stack.taskQueues }, spec, { kinds: ['drift'], reasons: ['cooldown test'], requestedBy: 'monitor' });
    assert.ok(started.started);
    const outcome = (await stack.client.workflow.getHandle(started.workflowId).result()) as PipelineResult;
    assert.equal(outcome.outcome, 'rejected');
    assert.equal(stack.backends.registry.ledger({ model: spec.name }).length, 0, 'nothing in the ledger');
    const closed = (await stack.client.workflow.getHandle(started.workflowId).describe()).closeTime;
    assert.ok(closed);
    // Visibility is eventually consistent: the closed run shows up in a moment.
    const check = await eventually(async () => {
      const c = await buildActivities(stack.backends).checkModel!({ ref: { model: spec.name }, asOf: new Date().toISOString() });
      return c.lastRetrainAt ? c : undefined;
    }, 'the closed run in visibility');
    assert.equal(check.lastRetrainAt, closed.toISOString());
  });
});

// @server dev
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import type { RetrainConfig } from '../../src/config/schema.js';
import { seedChampion } from '../../src/demo/seed.js';
import { createGenerator, driftPlan, runSimulation } from '../../src/demo/simulator/index.js';
import { desiredSchedules, reconcileSchedules } from '../../src/schedules/reconcile.js';
import type { PipelineResult } from '../../src/workflows/pipeline.js';
import { runCli } from '../helpers/cli.js';
import { useStack } from '../helpers/stack.js';
import { eventually } from '../helpers/temporal.js';

/**
 * The demo's story, end to end, as `npm run dev` plays it: the shipped retrain.yaml (demo time
 * profile) with its durations cut further so it fits in a few minutes, the real gateway over HTTP,
 * the simulator sending drifting traffic with delayed labels, Temporal Schedules running the
 * monitor, the real worker with the lake, the built-in trainer and the registry.
 *
 *  - `e2e-promote`: drift is detected, a retrain passes the gates, waits for approval (found by a
 *    visibility query on RetrainStage), is approved through the CLI, ramps and is promoted.
 *  - `e2e-rollback`: same story without approval, but the simulated world contradicts every
 *    challenger answer, so the canary breaches and rolls back by itself; the champion keeps all traffic.
 */
const TOKEN = 'e2e-admin-token';
const RATE = 80;

function storyConfig(gatewayUrl: string): { text: string; config: RetrainConfig } {
  const shipped = parse(readFileSync('retrain.yaml', 'utf8')) as { timeProfile: string; models: Array<Record<string, unknown>> };
  assert.equal(shipped.timeProfile, 'demo', 'the shipped file plays the demo profile');
  const base = shipped.models[0];
  const model = (name: string, overrides: Record<string, unknown>) => ({
    ...base,
    name,
    ...overrides,
    label: { ...(base.label as object), delay: '2s' },
    // Retrain on the live traffic only, as weeks of drifted data would outweigh old history in production.
    data: { lookback: '10m' },
    serving: { ...(base.serving as object), url: gatewayUrl },
    monitor: { every: '10s', catchupWindow: '1m' },
    // Enough drifted rows that the retrain learns the new pattern rather than the old history.
    triggers: {
      ...(base.triggers as object),
      drift: { psi: 0.15, jensenShannon: 0.15, minSamples: 1500 },
      performance: { metric: 'accuracy', threshold: 0.9, minLabels: 3000 },
      volume: { enabled: false },
      // The seeded champion's promotion starts a cooldown too; the demo's 2 minutes would idle here.
      cooldown: '10s',
      // A retrain on the first minutes of drift may lose to the champion on its holdout: the next may retry soon.
      backoff: { initial: '10s', max: '1m' },
    },
    rollout: { steps: [{ weight: 25, duration: '20s' }, { weight: 100 }], analysisInterval: '4s', minSamples: 80 },
  });
  const text = stringify({
    ...shipped,
    models: [model('e2e-promote', {}), model('e2e-rollback', {
        approval: { when: 'never' },
        // This story is the canary's: the gates let any challenger through (a retrain on a few
        // minutes of traffic may or may not beat the champion on its holdout; that is not under test).
        gates: { ...(base.gates as object), floor: 0, minImprovement: -1 },
      })],
  });
  return { text, config: parseConfig(text) };
}

describe('the demo story on the dev server, with the real gateway and simulator', () => {
  const stack = useStack({
    name: 'e2e',
    adminToken: TOKEN,
    gateway: true,
    config: (url) => storyConfig(url).text,
    // Champion v1 on a day of pre-drift history, deployed to the gateway: the demo's seed step.
    async prepare({ backends, config, logger }) {
      for (const spec of config.models) await seedChampion(backends, { ...spec, data: { ...spec.data, lookback: '2d' } }, { historyDays: 1, rowsPerDay: 3000, logger });
    },
  });
  const traffic = new AbortController();

  before(async () => {
    const simulations = stack.config.models.map((spec, i) =>
      runSimulation({
        gateway: stack.gatewayUrl,
        model: spec.name,
        generator: createGenerator(spec, { seed: 11 + i, drift: driftPlan('sudden', 0), conceptChange: true }),
        drift: driftPlan('sudden', 0),
        rate: RATE,
        durationMs: 10 * 60_000,
        labelDelayMs: 2_000,
        signal: traffic.signal,
        contradict: spec.name === 'e2e-rollback' ? 'challenger' : undefined,
      }),
    );
    stack.onStop(async () => {
      traffic.abort();
      await Promise.allSettled(simulations);
      for (const name of ['e2e-promote', 'e2e-rollback']) await stack.client.schedule.getHandle(`retrain-monitor-${name}`).delete().catch(() => undefined);
    });
    const changes = await reconcileSchedules(stack.client, desiredSchedules(stack.config, stack.settings));
    assert.ok(changes.some((c) => c.scheduleId === 'retrain-monitor-e2e-promote' && c.change === 'create'), JSON.stringify(changes));
  });

  /** The model's running pipeline in the given stage, by a visibility query (as `retrain runs list` does). */
  async function pipelineIn(model: string, stage: string): Promise<{ workflowId: string; runId: string; triggers: string[] }> {
    return eventually(async () => {
      for await (const run of stack.client.workflow.list({ query: `WorkflowType = 'retrainPipeline' AND RetrainModel = '${model}' AND RetrainStage = '${stage}' AND ExecutionStatus = 'Running'` })) {
        return { workflowId: run.workflowId, runId: run.runId, triggers: (run.searchAttributes.RetrainTrigger as string[] | undefined) ?? [] };
      }
      return undefined;
    }, `${model} in ${stage}`, 180_000);
  }

  /** Outcomes of the model's closed pipelines, for failure messages. */
  async function earlierRuns(model: string): Promise<string> {
    const outcomes: string[] = [];
    for await (const r of stack.client.workflow.list({ query: `WorkflowType = 'retrainPipeline' AND RetrainModel = '${model}' AND ExecutionStatus != 'Running'` })) {
      const result = (await stack.client.workflow.getHandle(r.workflowId, r.runId).result().catch((e: Error) => ({ outcome: 'failed', reason: e.message }))) as Pick<PipelineResult, 'outcome' | 'reason'>;
      outcomes.push(`${result.outcome}: ${result.reason}`);
    }
    for await (const r of stack.client.workflow.list({ query: `WorkflowType = 'monitorModel' AND RetrainModel = '${model}' AND ExecutionStatus = 'Completed'` })) {
      outcomes.push(`monitor: ${JSON.stringify(await stack.client.workflow.getHandle(r.workflowId, r.runId).result())}`);
      break;
    }
    return outcomes.join(' | ') || 'none';
  }

  async function deployment(model: string) {
    const response = await fetch(`${stack.gatewayUrl}/v1/admin/models/${model}/deployment`, { headers: { authorization: `Bearer ${TOKEN}` } });
    return (await response.json()) as { champion?: { version: number | string } | null; challenger?: { version: number | string } | null; challengerWeight?: number };
  }

  it('drift → retrain → gates → awaiting approval → approved with the CLI → canary → promoted', async () => {
    const waiting = await pipelineIn('e2e-promote', 'awaiting_approval');
    // The drifted world costs accuracy: the monitor's evidence is the matured error rate against the
    // champion's baseline, or the drift's estimated loss, whichever is seen first (both are measured).
    assert.ok(waiting.triggers.some((t) => t === 'performance' || t === 'drift'), `a monitor-triggered run (triggers: ${waiting.triggers.join(', ')}); earlier runs: ${await earlierRuns('e2e-promote')}`);

    const approved = await runCli(['--config', stack.configFile, 'approve', 'e2e-promote', '--as', 'ml-lead', '--comment', 'looks right'], { TEMPORAL_ADDRESS: stack.address, RETRAIN_DATA_DIR: stack.dataDir });
    assert.equal(approved.code, 0, approved.stderr);

    const result = (await stack.client.workflow.getHandle(waiting.workflowId, waiting.runId).result()) as PipelineResult;
    assert.equal(result.outcome, 'promoted', `${result.reason}\n${JSON.stringify(result.status.analyses)}\n${JSON.stringify(result.status.evaluation)}`);
    assert.ok(result.status.evaluation?.champion, 'scored against the champion on the same holdout');
    assert.ok(result.status.analyses.some((a) => a.weight === 25 && a.verdict === 'pass'), JSON.stringify(result.status.analyses));
    // An earlier retrain on the first minutes of drift may have lost to the champion on its holdout (rejected); the approved one is promoted.
    const promoted = result.candidateVersion!;
    assert.deepEqual(stack.backends.registry.aliases('e2e-promote'), { champion: promoted, challenger: null, previous: 1 });
    const entry = stack.backends.registry.ledger({ model: 'e2e-promote' }).find((e) => e.action === 'promote' && e.toVersion === promoted);
    assert.equal(entry?.actor, 'ml-lead');
    const deployed = await deployment('e2e-promote');
    assert.equal(Number(deployed.champion?.version), promoted);
    // Its steps passed on served traffic and labels, read from the lake.
    assert.ok(result.status.steps?.every((s) => s.verdict === 'pass' && s.evidence?.includes('labels')), JSON.stringify(result.status.steps));
    assert.equal(deployed.challenger ?? null, null);
  });

  it('a challenger that is wrong on live traffic is rolled back by itself; the champion keeps 100%', async () => {
    // The run may already be past its canary; find it by model and wait for its result.
    const run = await eventually(async () => {
      for await (const r of stack.client.workflow.list({ query: `WorkflowType = 'retrainPipeline' AND RetrainModel = 'e2e-rollback'` })) return r;
      return undefined;
    }, 'the e2e-rollback pipeline', 180_000);
    const result = (await stack.client.workflow.getHandle(run.workflowId, run.runId).result()) as PipelineResult;
    assert.equal(result.outcome, 'rolled_back', `${result.reason}; triggers ${result.status.triggers.join(', ')}; dataset ${result.status.datasetId}; evaluation ${JSON.stringify(result.status.evaluation)}; earlier: ${await earlierRuns('e2e-rollback')}`);
    assert.match(result.reason, /accuracy/);
    assert.deepEqual(stack.backends.registry.aliases('e2e-rollback'), { champion: 1, challenger: null, previous: null });
    const deployed = await deployment('e2e-rollback');
    assert.equal(Number(deployed.champion?.version), 1);
    assert.equal(deployed.challenger ?? null, null);
    const generator = createGenerator(stack.config.models[1], { seed: 99, drift: driftPlan('sudden', 0), conceptChange: true });
    const response = await fetch(`${stack.gatewayUrl}/v1/models/e2e-rollback/predict`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ instances: Array.from({ length: 100 }, (_, i) => ({ entity_id: `after-${i}`, features: generator.sample(0).features })) }),
    });
    const body = (await response.json()) as { predictions: Array<{ variant: string; model_version: string }> };
    assert.equal(body.predictions.length, 100);
    assert.ok(body.predictions.every((p) => p.variant === 'champion' && String(p.model_version) === '1'), 'every request served by champion v1');
  });
});

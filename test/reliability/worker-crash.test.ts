// @server dev
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import { seedChampion } from '../../src/demo/seed.js';
import type { PipelineResult } from '../../src/workflows/pipeline.js';
import { runCli, startCli } from '../helpers/cli.js';
import { fraudModelYaml, steadyTraffic, withEpochs } from '../helpers/fraud-model.js';
import { useStack } from '../helpers/stack.js';
import { eventually } from '../helpers/temporal.js';

/**
 * kill -9 of the worker process (a real `retrain worker`) while the run trains, while it waits for
 * approval and in the middle of a canary bake. Each time a fresh worker takes over and the run
 * finishes; nothing with an effect happens twice: one registered challenger, one promotion in the
 * ledger, one traffic change per canary step, and the gateway serves what the workflow says.
 */
const TOKEN = 'worker-crash-token';
const MODEL = 'crash-fraud';
const yaml = (url: string) =>
  `models:${fraudModelYaml(
    MODEL,
    url,
    `
    # Slow on purpose (the test must catch it mid-training); a lost worker is noticed within 3 s.
    trainer: { backend: builtin, params: { epochs: 400, learningRate: 0.01 }, heartbeatTimeout: 3s, retry: { initialInterval: 1s } }
    gates: { metric: log_loss, floor: 1, minImprovement: 0 }
    approval: { when: always, approvers: [ops] }
    rollout: { steps: [{ weight: 30, duration: 16s }, { weight: 100 }], analysisInterval: 4s, minSamples: 20 }`,
  )}`;

describe('kill -9 of the worker during training, approval and canary', () => {
  const stack = useStack({
    name: 'crash',
    adminToken: TOKEN,
    gateway: true,
    config: yaml,
    // The test runs `retrain worker` processes itself.
    workers: false,
    prepare: ({ backends, config }) => seedChampion(backends, withEpochs(config.models[0], 3), { historyDays: 6, rowsPerDay: 2_000 }),
  });
  let workerEnv: NodeJS.ProcessEnv;
  let configFile: string;
  let worker: ReturnType<typeof startCli> | undefined;
  const traffic = new AbortController();

  before(() => {
    configFile = stack.configFile;
    workerEnv = { ...stack.cliEnv, RETRAIN_METRICS_PORT: '0', RETRAIN_WORKFLOW_BUNDLE: process.env.RETRAIN_TEST_WORKFLOW_BUNDLE ?? '' };
    const simulation = steadyTraffic(stack.gatewayUrl, stack.config.models[0], 21, traffic.signal);
    stack.onStop(async () => {
      traffic.abort();
      await simulation;
      await killWorker();
    });
  });

  async function startWorker(): Promise<void> {
    worker = startCli(['--config', configFile, 'worker'], workerEnv);
    const started = Date.now();
    while (!/Worker polling/.test(worker.output())) {
      if (worker.child.exitCode !== null || Date.now() - started > 60_000) assert.fail(`the worker did not start:\n${worker.output()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async function killWorker(): Promise<void> {
    if (!worker || worker.child.exitCode !== null) return;
    worker.child.kill('SIGKILL');
    await worker.exited;
  }

  const stageOf = async (handle: WorkflowHandle) => (await handle.describe()).searchAttributes.RetrainStage?.[0] as string | undefined;
  const waitForStage = (handle: WorkflowHandle, stage: string) => eventually(async () => ((await stageOf(handle)) === stage ? true : undefined), `stage ${stage}`, 120_000);

  it('a new worker finishes the run; each effect happened once', async () => {
    await startWorker();
    const triggered = await runCli(['--config', configFile, 'trigger', MODEL, '--reason', 'crash test'], workerEnv);
    assert.equal(triggered.code, 0, triggered.stderr);
    const handle = stack.client.workflow.getHandle(`retrain-${MODEL}`);
    const { runId } = await handle.describe();

    // 1. Mid-training: the training attempt is lost with its worker; the next worker retries it.
    await eventually(async () => {
      const pending = (await handle.describe()).raw.pendingActivities ?? [];
      // State 2 is STARTED: a worker holds the attempt.
      return pending.some((a) => a.activityType?.name === 'trainChallenger' && Number(a.state) === 2) ? true : undefined;
    }, 'training to start', 120_000);
    await killWorker();
    await startWorker();

    // 2. Waiting for approval: the decision goes to the next worker.
    await waitForStage(handle, 'awaiting_approval');
    await killWorker();
    await startWorker();
    const approved = await runCli(['--config', configFile, 'approve', MODEL, '--as', 'ops', '--comment', 'after a crash'], workerEnv);
    assert.equal(approved.code, 0, approved.stderr);

    // 3. Mid-canary: after the first analysis of the 30% step.
    await waitForStage(handle, 'canary');
    await eventually(async () => ((await handle.query<{ analyses: unknown[] }>('status')).analyses.length > 0 ? true : undefined), 'a canary analysis', 60_000);
    await killWorker();
    await startWorker();

    const result = (await stack.client.workflow.getHandle(`retrain-${MODEL}`, runId).result()) as PipelineResult;
    assert.equal(result.outcome, 'promoted', `${result.reason}\n${JSON.stringify(result.status.analyses)}`);

    const events = (await handle.fetchHistory()).events ?? [];
    const scheduled = (type: string) => events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === type).length;
    const trainingAttempts = events.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 1);
    assert.equal(scheduled('trainChallenger'), 1);
    assert.ok(Math.max(...trainingAttempts) >= 2, 'training was retried after the first worker died');
    assert.equal(scheduled('setTraffic'), 2, 'one traffic change per canary step (30%, then 100%)');
    assert.equal(scheduled('promote'), 1);

    assert.deepEqual(stack.backends.registry.listVersions(MODEL).map((v) => v.version), [1, 2], 'one challenger registered');
    assert.deepEqual(stack.backends.registry.aliases(MODEL), { champion: 2, challenger: null, previous: 1 });
    const ledger = stack.backends.registry.ledger({ model: MODEL });
    assert.equal(ledger.filter((e) => e.action === 'promote' && e.toVersion === 2).length, 1, JSON.stringify(ledger));
    assert.equal(ledger.filter((e) => e.action === 'register_challenger').length, 1, JSON.stringify(ledger));

    const response = await fetch(`${stack.gatewayUrl}/v1/admin/models/${MODEL}/deployment`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const deployed = (await response.json()) as { champion?: { version: number | string }; challenger?: unknown };
    assert.equal(Number(deployed.champion?.version), 2);
    assert.equal(deployed.challenger ?? null, null);
  });
});

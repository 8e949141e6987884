// @server dev
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { listRuns, startPipeline } from '../../src/client.js';
import { createWorkers, runWorkers } from '../../src/worker.js';
import { runCli, startCli } from '../helpers/cli.js';
import { healthyEvidence, scriptedActivities, testConfigFile, testModel } from '../helpers/scripted-activities.js';
import { freePort } from '../helpers/fraud-model.js';
import { eventually, uniqueQueue, useDevServer, workflowBundle } from '../helpers/temporal.js';

describe('on the Temporal dev server', () => {
  const env = useDevServer();

  it('a run waits in awaiting_approval (found by visibility), is approved through the CLI, ramps and is promoted', async () => {
    const settings = { taskQueues: { control: uniqueQueue('control'), training: uniqueQueue('training') } };
    const spec = testModel(`approval: { when: always, approvers: [alice], sla: 1h }\nrollout: { steps: [{ weight: 5, duration: 2s }, { weight: 100 }], analysisInterval: 1s }`);
    const { activities, recorder } = scriptedActivities({ evidence: () => healthyEvidence() });
    const workers = await createWorkers({ connection: env().nativeConnection, namespace: 'default', settings, activities, workflowBundle: await workflowBundle() });
    const running = runWorkers(workers);
    try {
      const started = await startPipeline(env().client, settings, spec, { kinds: ['drift', 'volume'], reasons: ['drift on 3 features'], requestedBy: 'monitor' });
      assert.equal(started.started, true);
      const waiting = await eventually(async () => (await listRuns(env().client, { stage: 'awaiting_approval', model: spec.name }))[0], 'the run in awaiting_approval');
      assert.equal(waiting.workflowId, `retrain-${spec.name}`);
      assert.deepEqual(waiting.typedSearchAttributes.getAll().find((p) => p.key.name === 'RetrainTrigger')?.value, ['drift', 'volume']);

      const cliEnv = { TEMPORAL_ADDRESS: env().address, TEMPORAL_NAMESPACE: 'default', RETRAIN_CONFIG: testConfigFile(spec) };
      const refused = await runCli(['approve', spec.name, '--as', 'mallory'], cliEnv);
      assert.equal(refused.code, 4, refused.stderr);
      assert.match(refused.stderr, /refused: mallory is not an approver of this model/);
      const approved = await runCli(['approve', spec.name, '--as', 'alice', '--comment', 'ship it'], cliEnv);
      assert.equal(approved.code, 0, approved.stderr);
      assert.equal(approved.stdout.trim(), 'approved by alice');

      const outcome = await env().client.workflow.getHandle(started.workflowId).result();
      assert.equal(outcome.outcome, 'promoted');
      assert.deepEqual(recorder.weights, [5, 100]);
      assert.ok(outcome.status.analyses.length >= 2);
      const promoted = await eventually(async () => (await listRuns(env().client, { stage: 'promoted', model: spec.name }))[0], 'the run in promoted');
      assert.equal(promoted.status.name, 'COMPLETED');

      const status = await runCli(['status', spec.name, '--json'], cliEnv);
      assert.equal(status.code, 0, status.stderr);
      assert.equal(JSON.parse(status.stdout).stage, 'promoted');
    } finally {
      for (const w of workers) w.shutdown();
      await running;
    }
  });

  it('`retrain worker` connects to an external server named by TEMPORAL_ADDRESS, polls, serves metrics and stops cleanly', async () => {
    const queue = uniqueQueue('external');
    const metricsPort = await freePort();
    const worker = startCli(['worker'], { TEMPORAL_ADDRESS: env().address, RETRAIN_CONTROL_QUEUE: queue, RETRAIN_METRICS_PORT: String(metricsPort) });
    try {
      await eventually(
        async () => {
          const described = await env().client.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: queue }, taskQueueType: 1 });
          return described.pollers && described.pollers.length > 0 ? described : undefined;
        },
        'a poller on the control queue',
        30_000,
      );
      const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      assert.match(metrics, /^temporal_\w+/m);
      assert.match(worker.output(), /"msg":"Worker polling"/);
    } finally {
      worker.child.kill('SIGINT');
    }
    assert.equal(await worker.exited, 0, worker.output());
  });
});

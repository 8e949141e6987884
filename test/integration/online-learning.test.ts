// @server dev concurrent
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ModelSpec } from '../../src/config/schema.js';
import { createGenerator } from '../../src/demo/simulator/index.js';
import { seedChampion } from '../../src/demo/seed.js';
import type { LearnerState } from '../../src/learning/learner-state.js';
import { learnerWorkflowId, LEARNING_WORKFLOW_TYPE } from '../../src/workflows/ids.js';
import type { OnlineLearningResult } from '../../src/workflows/online-learning.js';
import { fraudModelYaml, withEpochs } from '../helpers/fraud-model.js';
import { runCli } from '../helpers/cli.js';
import { useStack } from '../helpers/stack.js';
import { eventually } from '../helpers/temporal.js';

/**
 * learning: hybrid end to end on the real stack (dev server, worker, lake, registry, gateway over
 * HTTP): labels sent as feedback reach the learner through the lake; its copy is pushed to the
 * gateway, which then answers with the 0.7/0.3 blend; a snapshot is registered and judged on the
 * champion's holdout; poisoned feedback (every label flipped) makes the next snapshot worse, which
 * freezes the learner, resets the gateway to the last good snapshot and alerts. Every effect fails
 * once after it happened (RETRAIN_TEST_FAULTS=*), so each must be idempotent.
 */
const TOKEN = 'online-learning-token';
const learningYaml = (name: string, url: string, learning: string) =>
  fraudModelYaml(
    name,
    url,
    `
    trainer: { backend: builtin, params: { epochs: 3, seed: 5 } }
    gates: { metric: log_loss, floor: 1, minImprovement: 0.01 }
    learning: ${learning}`,
  );

describe('online and hybrid learning (dev server, gateway, lake)', () => {
  const stack = useStack({
    name: 'online',
    adminToken: TOKEN,
    env: { RETRAIN_TEST_FAULTS: '*' },
    gateway: true,
    config: (url) =>
      `models:${learningYaml('learn-hybrid', url, '{ mode: hybrid, learningRate: 0.3, snapshotEvery: 1ms, tolerance: 0.05 }')}${learningYaml('learn-bounded', url, '{ mode: online, maxUpdatesPerMinute: 50 }')}`,
    async prepare({ backends, config }) {
      for (const spec of config.models) await seedChampion(backends, withEpochs(spec, 3), { historyDays: 6, rowsPerDay: 400 });
    },
  });

  const admin = { authorization: `Bearer ${TOKEN}` };
  const deployment = async (model: string) =>
    (await (await fetch(`${stack.gatewayUrl}/v1/admin/models/${model}/deployment`, { headers: admin })).json()) as {
      champion: { version: string };
      online: { version: string; serving: boolean } | null;
      events: Array<{ action: string }>;
    };
  const step = (model: string) =>
    stack.client.workflow.execute(LEARNING_WORKFLOW_TYPE, { workflowId: `${learnerWorkflowId(model)}-${Date.now()}`, taskQueue: stack.taskQueues.control, args: [{ model }] }) as Promise<OnlineLearningResult>;
  const state = (model: string) => stack.backends.registry.monitorState(model, 'online-learner') as LearnerState;
  const cli = (...args: string[]) => runCli(['--config', stack.configFile, ...args], stack.cliEnv);

  /** Predictions over HTTP and their labels as feedback; `flip` sends the wrong label (poisoned feedback). Resolves once the lake has them all. */
  async function play(spec: ModelSpec, count: number, seed: number, flip = false): Promise<void> {
    const since = state(spec.name).cursor;
    const generator = createGenerator(spec, { seed, drift: { kind: 'none', startMs: 0, windowMs: 0, periodMs: 1 } });
    for (let sent = 0; sent < count; sent += 50) {
      const events = Array.from({ length: 50 }, (_, i) => generator.sample((sent + i) * 10));
      const answer = await fetch(`${stack.gatewayUrl}/v1/models/${spec.name}/predict`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ instances: events.map((e) => ({ entity_id: e.entity_id, features: e.features })) }),
      });
      assert.equal(answer.status, 200, await answer.clone().text());
      const { predictions } = (await answer.json()) as { predictions: Array<{ request_id: string }> };
      const labels = predictions.map((p, i) => ({ request_id: p.request_id, label: flip ? 1 - events[i].label : events[i].label }));
      const fed = await fetch(`${stack.gatewayUrl}/v1/models/${spec.name}/feedback`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ labels }) });
      assert.equal(fed.status, 202);
    }
    await eventually(
      async () => {
        const read = await stack.backends.data.labelledExamples(spec, { after: { labelTs: new Date(since.labelTs), requestId: since.requestId }, asOf: new Date(), limit: count + 1 });
        return read.count >= count ? true : undefined;
      },
      `${count} labelled examples of ${spec.name} in the lake`,
      30_000,
    );
  }

  it('hybrid: learns from feedback, serves the blend, snapshots, and freezes on poisoned feedback', async () => {
    const spec = stack.specs['learn-hybrid'];
    const first = await step(spec.name);
    assert.equal(first.step.restarted, true, 'the first step starts the learner from the champion');
    assert.equal(first.step.base, 1);
    assert.equal((await deployment(spec.name)).online, null, 'nothing learned yet: the batch champion alone serves');

    // Honest feedback: the copy learns, the gateway serves the blend, a snapshot is registered and judged.
    await play(spec, 400, 11);
    const learned = await step(spec.name);
    assert.equal(learned.step.read, 400);
    assert.equal(learned.step.applied, 400);
    assert.equal(learned.step.copy, '1+online.400');
    const served = await deployment(spec.name);
    assert.deepEqual(served.online && { version: served.online.version, serving: served.online.serving }, { version: '1+online.400', serving: true });
    assert.equal(served.champion.version, '1', 'the champion keeps its version: the lake and the monitor judge "the champion"');
    assert.ok(learned.snapshot, 'snapshotEvery 1ms: every step with new updates takes one');
    assert.equal(learned.snapshot.verdict, 'good', learned.snapshot.detail);
    const snapshotVersion = stack.backends.registry.getVersion(spec.name, learned.snapshot.version);
    assert.equal(snapshotVersion.trainer, 'online');
    assert.equal(snapshotVersion.params.base, 1);
    assert.equal(stack.backends.registry.aliases(spec.name).champion, 1, 'a snapshot is a version, not a promotion');

    // Poisoned feedback: every label flipped. The copy gets worse on the holdout, and the learner freezes.
    await play(spec, 600, 12, true);
    const poisoned = await step(spec.name);
    assert.equal(poisoned.step.applied, 600);
    assert.ok(poisoned.snapshot);
    assert.equal(poisoned.snapshot.verdict, 'worse', poisoned.snapshot.detail);
    assert.deepEqual(poisoned.frozen, { resetTo: '1+online.400' });
    const reset = await deployment(spec.name);
    assert.equal(reset.online?.version, '1+online.400', 'the gateway serves the last good snapshot again');
    assert.ok(state(spec.name).frozen, 'the state says frozen');
    assert.equal(state(spec.name).copy?.version, '1+online.400');

    // Frozen: more feedback changes nothing.
    await play(spec, 50, 13);
    const idle = await step(spec.name);
    assert.deepEqual({ frozen: idle.step.frozen, applied: idle.step.applied }, { frozen: true, applied: 0 });
    assert.equal((await deployment(spec.name)).online?.version, '1+online.400');

    // A person looks, then resumes it: learning carries on from the last good snapshot.
    const status = await cli('learning', 'status', spec.name);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /FROZEN since .*snapshot v\d+ log_loss/);
    assert.match(status.stdout, /serving: 1\+online\.400/);
    const resumed = await cli('learning', 'unfreeze', spec.name);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.match(resumed.stdout, /resumed from 1\+online\.400/);
    assert.equal((await cli('learning', 'unfreeze', spec.name)).code, 4, 'not frozen any more: refused');
    await play(spec, 50, 14);
    const again = await step(spec.name);
    assert.equal(again.step.applied, 50);
    assert.equal(again.step.copy, '1+online.450', 'on from the last good snapshot, not from the poisoned copy');

    // A new champion restarts the learner from it; the gateway drops the old champion's copy at once.
    const rollback = await fetch(`${stack.gatewayUrl}/v1/admin/models/${spec.name}/champion`, {
      method: 'PUT',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({ version: String(learned.snapshot.version), artifactUri: snapshotVersion.artifactUri }),
    });
    assert.equal(rollback.status, 200, await rollback.clone().text());
    assert.equal((await deployment(spec.name)).online, null);
  });

  it('online: a flood of labels is thinned to the per-minute bound', async () => {
    const spec = stack.specs['learn-bounded'];
    await step(spec.name);
    await play(spec, 300, 21);
    const bounded = await step(spec.name);
    assert.equal(bounded.step.read, 300);
    assert.ok(bounded.step.applied > 0 && bounded.step.applied <= 50, `at most 50 a minute (the steps here are under a minute apart), applied ${bounded.step.applied}`);
    assert.equal(bounded.step.dropped, 300 - bounded.step.applied);
    const served = await deployment(spec.name);
    assert.equal(served.online?.version, `1+online.${bounded.step.applied}`);
    assert.equal(served.online?.serving, true, 'online mode serves the copy alone');
  });
});

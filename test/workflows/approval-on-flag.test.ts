// @server time-skipping
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide, pipelineStatus } from '../../src/client.js';
import { notified, testModel, type Script } from '../helpers/scripted-activities.js';
import { result, useTimeSkipping, withPipeline } from './pipeline-harness.js';

/** A challenger at the leakage ceiling (accuracy 0.995 ≥ 0.99): the leakage gate warns (onLeakage: warn, the default). */
const LEAKY: Script = { challengerMetrics: { accuracy: 0.995, roc_auc: 0.99 } };
const SHORT_ROLLOUT = 'rollout: { steps: [{ weight: 50, duration: 1h }, { weight: 100 }] }';

describe('approval.when: on_flag (time-skipping server)', () => {
  const env = useTimeSkipping();

  it('a gate that warned asks an approver; a rejection discards the challenger before any traffic', async () => {
    const spec = testModel(`approval: { when: on_flag, approvers: [alice] }\n${SHORT_ROLLOUT}`);
    await withPipeline(env(), spec, LEAKY, async ({ recorder, workflowId }) => {
      await notified(recorder, 'approval_requested');
      const status = await pipelineStatus(env().client, spec.name);
      assert.equal(status.stage, 'awaiting_approval');
      assert.equal(status.approvalReasons.length, 1);
      assert.match(status.approvalReasons[0], /^gate flagged: accuracy 0\.9950 is at or above the leakage ceiling 0\.99/);
      assert.equal(await decide(env().client, spec.name, 'reject', { by: 'alice', comment: 'leak in feature x' }), 'rejected by alice');
      const outcome = await result(env(), workflowId);
      assert.equal(outcome.outcome, 'rejected');
      assert.match(outcome.reason, /not approved: leak in feature x \(alice\)/);
      assert.deepEqual(recorder.weights, [], 'no traffic ever moved');
      assert.deepEqual(recorder.discarded, [2]);
    });
  });

  it('nothing flagged: on_flag asks nobody', async () => {
    const spec = testModel(`approval: { when: on_flag, approvers: [alice] }\n${SHORT_ROLLOUT}`);
    await withPipeline(env(), spec, {}, async ({ recorder, workflowId }) => {
      const outcome = await result(env(), workflowId);
      assert.equal(outcome.outcome, 'promoted');
      assert.deepEqual(outcome.status.approvalReasons, []);
      assert.equal(recorder.notifications.some((n) => n.kind === 'approval_requested'), false);
    });
  });

  it('with when: never the same warning is reported, not asked', async () => {
    const spec = testModel(`approval: { when: never }\n${SHORT_ROLLOUT}`);
    await withPipeline(env(), spec, LEAKY, async ({ recorder, workflowId }) => {
      const outcome = await result(env(), workflowId);
      assert.equal(outcome.outcome, 'promoted');
      const leakage = outcome.status.gates.find((g) => g.name === 'leakage');
      assert.deepEqual([leakage?.passed, leakage?.severity], [false, 'warn']);
      assert.equal(recorder.notifications.some((n) => n.kind === 'approval_requested'), false);
    });
  });
});

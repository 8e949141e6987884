// @server time-skipping
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError } from '@temporalio/client';
import { testModel } from '../helpers/scripted-activities.js';
import { result, useTimeSkipping, withPipeline } from './pipeline-harness.js';

describe('a failed run notifies (time-skipping server)', () => {
  const env = useTimeSkipping();

  it('a run that fails mid-canary restores the champion, then sends `failed`; a refused notification does not replace the run’s error', async () => {
    const spec = testModel();
    const lakeDown = () => {
      throw ApplicationFailure.nonRetryable('lake unreadable (scripted)', 'LakeUnreadable');
    };
    await withPipeline(env(), spec, { evidence: lakeDown, failingNotifications: ['failed'] }, async ({ recorder, workflowId }) => {
      await assert.rejects(result(env(), workflowId), (err: unknown) => {
        assert.ok(err instanceof WorkflowFailedError);
        let cause: Error = err;
        while (cause.cause instanceof Error) cause = cause.cause;
        assert.equal(cause.message, 'lake unreadable (scripted)', 'the run fails with its own error, not the webhook’s');
        return true;
      });
      // The compensation (traffic back, challenger discarded) ran before the failure was told.
      assert.deepEqual(recorder.weights, [5, 0]);
      assert.deepEqual(recorder.discarded, [2]);
      assert.deepEqual(recorder.notifications.map((n) => n.kind), ['rollout_step', 'rolled_back', 'failed']);
      const failed = recorder.notifications[2];
      assert.equal(failed.model, spec.name);
      assert.equal(failed.workflowId, workflowId);
      assert.equal(failed.title, `${spec.name}: run failed at canary: lake unreadable (scripted)`);
      assert.equal(failed.details?.stage, 'canary');
      assert.equal(failed.details?.candidateVersion, 2);
      // Sent after the report was written, so people get its link.
      assert.match(String(failed.details?.report), new RegExp(`/reports/${spec.name}/runs/.+\\.html$`));
      const names = recorder.calls.map((c) => c.name);
      assert.ok(names.lastIndexOf('writeRunReport') < names.lastIndexOf('notify'));
    });
  });

  it('a webhook that refuses every notification never decides a run: it is promoted all the same', async () => {
    const spec = testModel(`approval: { when: never }`);
    const every: Parameters<typeof withPipeline>[2]['failingNotifications'] = ['rollout_step', 'promoted', 'approval_requested', 'budget_warning', 'rolled_back', 'failed'];
    await withPipeline(env(), spec, { failingNotifications: every }, async ({ recorder, workflowId }) => {
      const outcome = await result(env(), workflowId);
      assert.equal(outcome.outcome, 'promoted');
      assert.deepEqual(recorder.weights, [5, 25, 100]);
      assert.ok(recorder.calls.filter((c) => c.name === 'notify').length >= 4, 'each notification was attempted');
    });
  });
});

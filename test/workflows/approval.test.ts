// @server time-skipping
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide, pipelineStatus } from '../../src/client.js';
import { listRuns } from '../../src/client.js';
import { notified, testModel } from '../helpers/scripted-activities.js';
import { result, useTimeSkipping, withPipeline } from './pipeline-harness.js';

const APPROVAL = `approval: { when: always, approvers: [alice, carol], escalateTo: [head-of-ml], sla: 4h, escalationGrace: 2h, onTimeout: reject }`;

describe('pipeline approval (time-skipping server)', () => {
  const env = useTimeSkipping();

  it('waits for an approver, refuses others, then ramps through the real 24h/48h canary and promotes', async () => {
    const spec = testModel(APPROVAL);
    await withPipeline(env(), spec, {}, async ({ recorder, workflowId }) => {
      await notified(recorder, 'approval_requested');
      const status = await pipelineStatus(env().client, spec.name);
      assert.equal(status.stage, 'awaiting_approval');
      assert.deepEqual(status.approvalReasons, ['policy requires approval for every run']);
      // The approver has the evidence to look at: an interim report (no end time), linked from the request.
      const interim = recorder.calls.find((c) => c.name === 'writeRunReport')?.input as { stage: string; endedAt?: string; evaluation?: unknown; gates: unknown[] };
      assert.deepEqual([interim.stage, interim.endedAt, Boolean(interim.evaluation), interim.gates.length > 0], ['awaiting_approval', undefined, true, true]);
      const asked = recorder.notifications.find((n) => n.kind === 'approval_requested')!;
      assert.equal((asked.details as { report?: string }).report, status.reportUrl);
      assert.match(status.reportUrl ?? '', /\/reports\/.+\/runs\/.+\.html$/);

      await assert.rejects(decide(env().client, spec.name, 'approve', { by: 'mallory' }), /mallory is not an approver of this model/);
      assert.equal(await decide(env().client, spec.name, 'approve', { by: 'alice', comment: 'numbers look right' }), 'approved by alice');

      const outcome = await result(env(), workflowId);
      assert.equal(outcome.outcome, 'promoted');
      assert.deepEqual(recorder.weights, [5, 25, 100]);
      assert.deepEqual(recorder.promoted, [2]);
      const promote = recorder.calls.find((c) => c.name === 'promote')?.input as { actor: string };
      assert.equal(promote.actor, 'alice');
      // 24h at 5% and 48h at 25%, analysed every 15 minutes: 96 + 192 analyses.
      assert.equal(recorder.calls.filter((c) => c.name === 'canaryEvidence').length, 288);
      const accepted = outcome.status.decisions.map((d) => [d.kind, d.by, d.accepted]);
      assert.deepEqual(accepted, [
        ['approve', 'mallory', false],
        ['approve', 'alice', true],
      ]);
      const { runId } = await env().client.workflow.getHandle(workflowId).describe();
      assert.deepEqual([...recorder.spend], [[`${runId}:train`, 3.5]]);
    });
  });

  it('escalates at the SLA and rejects by policy when nobody decides', async () => {
    const spec = testModel(APPROVAL);
    await withPipeline(env(), spec, {}, async ({ recorder, workflowId }) => {
      const outcome = await result(env(), workflowId);
      assert.equal(outcome.outcome, 'rejected');
      assert.match(outcome.reason, /approval timed out/);
      const kinds = recorder.notifications.map((n) => n.kind);
      assert.deepEqual(kinds, ['approval_requested', 'approval_escalated', 'approval_timed_out', 'rejected']);
      assert.deepEqual(recorder.notifications[1].audience, ['head-of-ml']);
      assert.deepEqual(recorder.weights, [], 'no traffic ever moved');
      assert.deepEqual(recorder.discarded, [2]);
    });
  });

  it('a reviewer can reject; the requester cannot approve their own run', async () => {
    const spec = testModel(`approval: { when: always, approvers: [alice, monitor] }`);
    await withPipeline(env(), spec, {}, async ({ recorder, workflowId }) => {
      await notified(recorder, 'approval_requested');
      await assert.rejects(decide(env().client, spec.name, 'approve', { by: 'monitor' }), /monitor requested this run and cannot approve it/);
      await decide(env().client, spec.name, 'reject', { by: 'alice', comment: 'holdout too small' });
      const outcome = await result(env(), workflowId);
      assert.equal(outcome.outcome, 'rejected');
      assert.match(outcome.reason, /holdout too small \(alice\)/);
      assert.deepEqual(recorder.weights, []);
    });
  });

  it('asks before training when the run costs more than the approval threshold', async () => {
    const spec = testModel(`approval: { when: cost_above, costAbove: 500, approvers: [alice] }`);
    await withPipeline(env(), spec, { estimatedCostUsd: 800 }, async ({ recorder, workflowId }) => {
      await notified(recorder, 'approval_requested');
      assert.equal(recorder.calls.some((c) => c.name === 'trainChallenger'), false, 'nothing is trained before approval');
      const status = await pipelineStatus(env().client, spec.name);
      assert.match(status.approvalReasons[0], /estimated cost \$800\.00 is above \$500/);
      await decide(env().client, spec.name, 'approve', { by: 'alice' });
      assert.equal((await result(env(), workflowId)).outcome, 'promoted');
    });
  });

  it('refuses a run over the monthly cap when the budget policy says refuse', async () => {
    const spec = testModel(`budget: { monthlyCap: 1000, onExceed: refuse }`);
    await withPipeline(env(), spec, { monthSpendUsd: 990, estimatedCostUsd: 20 }, async ({ recorder, workflowId }) => {
      const outcome = await result(env(), workflowId);
      assert.equal(outcome.outcome, 'rejected');
      assert.match(outcome.reason, /over the \$1000 cap$/);
      assert.equal(recorder.calls.some((c) => c.name === 'buildDataset'), false);
    });
  });

  it('names the budget of all models when that one is over', async () => {
    const spec = testModel(`budget: { monthlyCap: 5000, onExceed: refuse }`);
    await withPipeline(env(), spec, { monthSpendUsd: 1990, estimatedCostUsd: 20, monthlyCapUsd: 2000, capScope: 'all_models' }, async ({ recorder, workflowId }) => {
      const outcome = await result(env(), workflowId);
      assert.equal(outcome.outcome, 'rejected');
      assert.match(outcome.reason, /would take this month to \$2010\.00, over the \$2000 cap of all models/);
      assert.equal(recorder.calls.some((c) => c.name === 'buildDataset'), false);
    });
  });
});

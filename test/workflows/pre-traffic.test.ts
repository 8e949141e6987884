// @server time-skipping
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PipelineReportInput } from '../../src/reports/pipeline-report.js';
import type { PreTrafficRecord } from '../../src/activities/contracts.js';
import { healthyEvidence, passingPreTraffic, testModel } from '../helpers/scripted-activities.js';
import { result, useTimeSkipping, withPipeline } from './pipeline-harness.js';

const SHORT = `rollout: { shadow: { duration: 1h }, steps: [{ weight: 50, duration: 1h }, { weight: 100 }] }`;

const failing = (version: number): PreTrafficRecord =>
  passingPreTraffic(version, {
    passed: false,
    scored: 23,
    failureCount: 1,
    failures: [{ category: 'edge', label: 'every numerical feature at its reference max', row: { transaction_amount: 5000, merchant_category: 'grocery' }, reason: 'output out of range: non-finite score NaN' }],
    reason: 'pre-traffic checks failed on 1 of 26 synthetic requests: edge row (every numerical feature at its reference max): output out of range: non-finite score NaN',
  });

describe('pre-traffic checks (time-skipping server)', () => {
  const env = useTimeSkipping();

  it('a failing check stops the rollout before any traffic: no shadow, no step, the staged challenger rolled back and its alias cleared', async () => {
    const spec = testModel(SHORT);
    await withPipeline(env(), spec, { preTraffic: (input) => failing(input.versions.challenger) }, async ({ recorder, workflowId }) => {
      const outcome = await result(env(), workflowId);
      assert.equal(outcome.outcome, 'rolled_back');
      assert.match(outcome.reason, /^pre-traffic checks failed on 1 of 26 synthetic requests: edge row \(every numerical feature at its reference max\): output out of range: non-finite score NaN$/);
      // Traffic never moved: the only traffic call is the compensation's champion-alone.
      const traffic = recorder.calls.filter((c) => c.name === 'setTraffic').map((c) => c.input as { weight: number; shadow?: boolean });
      assert.deepEqual(traffic.map((t) => [t.weight, t.shadow ?? false]), [[0, false]]);
      assert.equal(recorder.calls.filter((c) => c.name === 'canaryEvidence').length, 0);
      assert.deepEqual(recorder.discarded, [2]);
      assert.deepEqual(recorder.promoted, []);
      assert.ok(recorder.notifications.some((n) => n.kind === 'rolled_back'));
      assert.ok(!recorder.notifications.some((n) => n.kind === 'rollout_step'));
      // Recorded in the status and the run report.
      assert.equal(outcome.status.preTraffic?.passed, false);
      assert.equal(outcome.status.preTraffic?.failures[0].reason, 'output out of range: non-finite score NaN');
      assert.equal(outcome.status.steps?.length ?? 0, 0);
      const reports = recorder.calls.filter((c) => c.name === 'writeRunReport').map((c) => c.input as PipelineReportInput & { preTraffic?: PreTrafficRecord });
      assert.equal(reports.at(-1)?.preTraffic?.passed, false);
      const checks = recorder.calls.filter((c) => c.name === 'preTrafficChecks').map((c) => c.input as { versions: { champion: number; challenger: number } });
      assert.deepEqual(checks.map((c) => c.versions), [{ champion: 1, challenger: 2 }]);
      // The stage the UI showed while checking.
      const history = await env().client.workflow.getHandle(workflowId).fetchHistory();
      const stages = (history.events ?? []).flatMap((e) => {
        const field = e.upsertWorkflowSearchAttributesEventAttributes?.searchAttributes?.indexedFields?.RetrainStage;
        return field?.data ? [JSON.parse(Buffer.from(field.data).toString('utf8')) as string] : [];
      });
      assert.deepEqual(stages.slice(-2), ['pre_traffic', 'rolled_back']);
    });
  });

  it('a passing check comes before the shadow stage and changes nothing else', async () => {
    const spec = testModel(SHORT);
    const mirrored = (_w: number, _c: number, window: { stage: 'shadow' | 'canary' }) =>
      window.stage === 'shadow' ? healthyEvidence(5_000, { stage: 'shadow', shadowPairs: { paired: 5_000, agreed: 4_900 } }) : healthyEvidence();
    await withPipeline(env(), spec, { evidence: mirrored }, async ({ recorder, workflowId }) => {
      const outcome = await result(env(), workflowId);
      assert.equal(outcome.outcome, 'promoted', outcome.reason);
      assert.deepEqual(recorder.weights, [0, 0, 50, 100]);
      const names = recorder.calls.map((c) => c.name);
      assert.ok(names.indexOf('preTrafficChecks') >= 0 && names.indexOf('preTrafficChecks') < names.indexOf('setTraffic'));
      assert.equal(outcome.status.preTraffic?.passed, true);
      assert.deepEqual(outcome.status.steps?.map((s) => [s.stage, s.verdict]), [['shadow', 'pass'], ['canary', 'pass']]);
    });
  });

  it('rollout.preTraffic.enabled: false skips the checks', async () => {
    const spec = testModel(`rollout: { steps: [{ weight: 50, duration: 1h }, { weight: 100 }], preTraffic: { enabled: false } }`);
    await withPipeline(env(), spec, {}, async ({ recorder, workflowId }) => {
      const outcome = await result(env(), workflowId);
      assert.equal(outcome.outcome, 'promoted');
      assert.equal(recorder.calls.filter((c) => c.name === 'preTrafficChecks').length, 0);
      assert.equal(outcome.status.preTraffic, undefined);
    });
  });
});

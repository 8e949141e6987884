// @server time-skipping
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { control, decide, DecisionRefusedError, pipelineStatus, startPipeline } from '../../src/client.js';
import type { CanaryEvidence } from '../../src/activities/contracts.js';
import { healthyEvidence, notified, testModel } from '../helpers/scripted-activities.js';
import { result, useTimeSkipping, withPipeline } from './pipeline-harness.js';

const HISTORIES = path.resolve('test/fixtures/histories');

describe('pipeline canary (time-skipping server)', () => {
  const env = useTimeSkipping();

  it('default rollout: 5% for 24h, 25% for 48h, then 100% and promotion, in a bounded history', async () => {
    const spec = testModel();
    await withPipeline(env(), spec, {}, async ({ recorder, workflowId }) => {
      const outcome = await result(env(), workflowId);
      assert.equal(outcome.outcome, 'promoted');
      assert.deepEqual(recorder.weights, [5, 25, 100]);
      assert.equal(outcome.status.analyses.length, 96 + 192);
      assert.ok(outcome.status.analyses.every((a) => a.verdict === 'pass'));
      // Each step as the workflow judged it, with the evidence its verdict rests on.
      assert.deepEqual(
        outcome.status.steps?.map((s) => [s.weight, s.verdict, s.analyses, s.evidence]),
        [
          [5, 'pass', 96, ['traffic', 'labels']],
          [25, 'pass', 192, ['traffic', 'labels']],
        ],
      );
      const history = await env().client.workflow.getHandle(workflowId).fetchHistory();
      const events = history.events?.length ?? 0;
      assert.ok(events < 5_000, `a 72h rollout with 15-minute analysis took ${events} events`);
    });
  });

  it('rolls back automatically after consecutive failed analyses; the champion keeps all traffic', async () => {
    const spec = testModel();
    const worse = () => healthyEvidence(5_000, { challenger: { accuracy: 0.85 } });
    await withPipeline(env(), spec, { evidence: worse }, async ({ recorder, workflowId }) => {
      const outcome = await result(env(), workflowId);
      assert.equal(outcome.outcome, 'rolled_back');
      assert.match(outcome.reason, /2 consecutive failed analyses at 5%: accuracy 85\.00% vs champion 93\.00% on 2000\/2000 labels: drop 8\.00% > 5\.00% \(95% lower bound 6\.39%\)/);
      assert.deepEqual(recorder.weights, [5, 0]);
      assert.equal(recorder.currentWeight, 0);
      assert.deepEqual(recorder.discarded, [2]);
      assert.deepEqual(recorder.promoted, []);
      assert.deepEqual(outcome.status.steps?.map((s) => [s.verdict, s.evidence]), [['fail', ['labels']]]);
      // Kept per workflow shape: the spec in the input, then a model and revision (spec-from-worker-config), then durable evidence (canary-durable-evidence).
      const fixture = path.join(HISTORIES, 'pipeline-rolled-back-durable-evidence.json');
      if (process.env.RETRAIN_RECORD_HISTORIES === '1' || !existsSync(fixture)) {
        const { historyToJSON } = await import('@temporalio/common/lib/proto-utils.js');
        writeFileSync(fixture, historyToJSON(await env().client.workflow.getHandle(workflowId).fetchHistory()));
      }
    });
  });

  it('treats too little traffic as inconclusive, extends the step, then rolls back instead of passing', async () => {
    const spec = testModel(`rollout: { steps: [{ weight: 5, duration: 1h }, { weight: 100 }], analysis: { interval: 15m, minSamples: 200 } }`);
    await withPipeline(env(), spec, { evidence: () => healthyEvidence(40) }, async ({ recorder, workflowId }) => {
      const outcome = await result(env(), workflowId);
      assert.equal(outcome.outcome, 'rolled_back');
      assert.match(outcome.reason, /the 5% step could not be judged within 2h: 40 challenger requests \(needs 200\)/);
      assert.equal(outcome.status.analyses.length, 8, 'one hour of bake plus one hour of extension');
      assert.ok(outcome.status.analyses.every((a) => a.verdict === 'inconclusive'));
      assert.deepEqual(recorder.weights, [5, 0]);
    });
  });

  it('a shadow stage is judged like a step: mirrored answers that disagree with the champion roll back before any live traffic', async () => {
    const shadowed = `rollout: { shadow: { duration: 1h }, steps: [{ weight: 50, duration: 1h }, { weight: 100 }] }`;
    const mirrored = (agreed: number) => (_w: number, _c: number, window: { stage: 'shadow' | 'canary' }) =>
      window.stage === 'shadow' ? healthyEvidence(5_000, { stage: 'shadow', shadowPairs: { paired: 5_000, agreed } }) : healthyEvidence();
    const disagreeing = testModel(shadowed);
    await withPipeline(env(), disagreeing, { evidence: mirrored(3_000) }, async ({ recorder, workflowId }) => {
      const outcome = await result(env(), workflowId);
      assert.equal(outcome.outcome, 'rolled_back');
      assert.match(outcome.reason, /2 consecutive failed analyses in the shadow stage: agreement with the champion 60\.00% < 80\.00% on 5000 mirrored requests/);
      assert.deepEqual(outcome.status.steps?.map((s) => [s.stage, s.verdict, s.evidence]), [['shadow', 'fail', ['shadow']]]);
      // Only the mirror was ever on; the rollback restores the champion alone.
      assert.deepEqual(recorder.weights, [0, 0]);
      const evidenceCalls = recorder.calls.filter((c) => c.name === 'canaryEvidence').map((c) => (c.input as { stage: string }).stage);
      assert.deepEqual([...new Set(evidenceCalls)], ['shadow']);
    });
    const agreeing = testModel(shadowed);
    await withPipeline(env(), agreeing, { evidence: mirrored(4_900) }, async ({ recorder, workflowId }) => {
      const outcome = await result(env(), workflowId);
      assert.equal(outcome.outcome, 'promoted');
      assert.deepEqual(outcome.status.steps?.map((s) => [s.stage, s.weight, s.verdict]), [['shadow', 0, 'pass'], ['canary', 50, 'pass']]);
      assert.deepEqual(recorder.weights, [0, 0, 50, 100]);
    });
  });

  describe('with a 3-day label delay and the default 24h / 48h bakes', () => {
    const DELAY_MS = 3 * 86_400_000;
    /** A test model whose labels arrive three days after each prediction (as the shipped fraud model's). */
    const delayedModel = (overrides = '') => {
      const spec = testModel(overrides);
      spec.label.delay = '3d';
      // Analyses hourly, not every 15 minutes: what is tested is the wait for labels, and a quarter
      // of the analyses keeps these eight-day rollouts to a fraction of the suite's time.
      spec.rollout = { ...spec.rollout, analysis: { ...spec.rollout.analysis, interval: '1h' } };
      return spec;
    };
    /**
     * The lake as it would be: 200 challenger requests an hour per 5% of traffic, no errors, and a
     * label for each prediction three days after it was made. Accuracy as given; the label-free
     * estimate says nothing is wrong (it cannot see a concept change).
     */
    const delayedLabels = (challengerAccuracy: number) => (weight: number, _call: number, w: { fromMs: number; asOfMs: number }): CanaryEvidence => {
      const hours = (w.asOfMs - w.fromMs) / 3_600_000;
      const requests = Math.round(hours * 40 * weight);
      const labelledHours = Math.max(0, (w.asOfMs - w.fromMs - DELAY_MS) / 3_600_000);
      const labelled = Math.round(labelledHours * 40 * weight);
      const champion = Math.round(labelledHours * 40 * (100 - weight));
      return healthyEvidence(requests, {
        champion: { requests: Math.round(hours * 40 * (100 - weight)), labelled: champion, accuracy: champion > 0 ? 0.9 : undefined },
        challenger: { requests, errors: 0, labelled, accuracy: labelled > 0 ? challengerAccuracy : undefined },
      });
    };

    it('a better challenger waits for its labels at each step, then is promoted on them', async () => {
      const spec = delayedModel();
      await withPipeline(env(), spec, { evidence: delayedLabels(0.92) }, async ({ recorder, workflowId }) => {
        const outcome = await result(env(), workflowId);
        assert.equal(outcome.outcome, 'promoted', outcome.reason);
        assert.deepEqual(recorder.weights, [5, 25, 100]);
        const [five, twentyFive] = outcome.status.steps!;
        // Nothing is judged on the bake alone: each step ran until its first labels matured (3 days + an interval or so).
        for (const step of [five, twentyFive]) {
          const ran = Date.parse(step.endedAt!) - Date.parse(step.startedAt);
          assert.ok(ran > DELAY_MS && ran <= DELAY_MS + 2 * 3_600_000, `step ${step.weight}% ran ${ran / 3_600_000} h`);
          assert.deepEqual([step.verdict, step.evidence], ['pass', ['traffic', 'labels']]);
        }
        const beforeLabels = outcome.status.analyses.filter((a) => a.step === 1 && Date.parse(a.at) - Date.parse(five.startedAt) < DELAY_MS);
        assert.ok(beforeLabels.length > 60 && beforeLabels.every((a) => a.verdict === 'inconclusive' && /accuracy not judged yet/.test(a.detail)));
      });
    });

    it('a worse challenger is never promoted on its error rate alone: it is rolled back once its labels say so', async () => {
      const spec = delayedModel();
      await withPipeline(env(), spec, { evidence: delayedLabels(0.8) }, async ({ recorder, workflowId }) => {
        const outcome = await result(env(), workflowId);
        assert.equal(outcome.outcome, 'rolled_back');
        assert.match(outcome.reason, /consecutive failed analyses at 5%: accuracy 80\.00% vs champion 90\.00%/);
        assert.deepEqual(recorder.weights, [5, 0]);
        assert.deepEqual(recorder.promoted, []);
      });
    });

    it('labels that never come: the step waits label.delay past its bake, then rolls back, or asks a person when the policy says so', async () => {
      const never = (weight: number, call: number, w: { fromMs: number; asOfMs: number }) => delayedLabels(0.92)(weight, call, { ...w, asOfMs: Math.min(w.asOfMs, w.fromMs + DELAY_MS) });
      const spec = delayedModel();
      await withPipeline(env(), spec, { evidence: never }, async ({ workflowId }) => {
        const outcome = await result(env(), workflowId);
        assert.equal(outcome.outcome, 'rolled_back');
        assert.match(outcome.reason, /the 5% step could not be judged within 4d: accuracy not judged yet/);
      });
      // Asked: nobody answers within the SLA, so the policy's timeout action answers (approve here, then reject).
      const asking = delayedModel(`approval: { when: never, approvers: [alice], onTimeout: approve }\nrollout: { analysis: { onInconclusive: ask } }`);
      await withPipeline(env(), asking, { evidence: never }, async ({ recorder, workflowId }) => {
        const outcome = await result(env(), workflowId);
        assert.equal(outcome.outcome, 'promoted', outcome.reason);
        assert.deepEqual(outcome.status.steps?.map((s) => [s.verdict, s.reason]), [
          ['approved', 'not judged within 4d; continued by policy:onTimeout=approve'],
          ['approved', 'not judged within 5d; continued by policy:onTimeout=approve'],
        ]);
        const asked = recorder.notifications.filter((n) => n.kind === 'approval_requested');
        assert.equal(asked.length, 2);
        assert.match(String((asked[0].details as { reasons: string[] }).reasons), /the 5% step could not be judged within 4d: accuracy not judged yet/);
      });
      const refusing = delayedModel(`approval: { when: never, approvers: [alice], onTimeout: reject }\nrollout: { analysis: { onInconclusive: ask } }`);
      await withPipeline(env(), refusing, { evidence: never }, async ({ recorder, workflowId }) => {
        const outcome = await result(env(), workflowId);
        assert.equal(outcome.outcome, 'rolled_back');
        assert.match(outcome.reason, /the 5% step could not be judged within 4d and policy:onTimeout=reject did not approve going on/);
        assert.deepEqual(recorder.weights, [5, 0]);
      });
    });
  });

  it('rejects a challenger that fails the gates; no traffic moves', async () => {
    const spec = testModel(`gates: { metric: accuracy, floor: 0.9, minImprovement: 0.01 }`);
    await withPipeline(env(), spec, { challengerMetrics: { accuracy: 0.925 } }, async ({ recorder, workflowId }) => {
      const outcome = await result(env(), workflowId);
      assert.equal(outcome.outcome, 'rejected');
      assert.match(outcome.reason, /improvement: accuracy 0\.9250 vs champion 0\.9200: \+0\.0050 \(needs ≥ 0\.01\)/);
      assert.deepEqual(recorder.weights, []);
      assert.deepEqual(recorder.discarded, [2]);
      assert.equal(recorder.notifications.at(-1)?.kind, 'gates_failed');
    });
  });

  it('abort rolls back at once; promote signal skips the remaining steps', async () => {
    const aborted = testModel();
    await withPipeline(env(), aborted, {}, async ({ recorder, workflowId }) => {
      await notified(recorder, 'rollout_step');
      await control(env().client, aborted.name, 'abort', { by: 'alice', comment: 'support tickets spiking' });
      const outcome = await result(env(), workflowId);
      assert.equal(outcome.outcome, 'rolled_back');
      assert.match(outcome.reason, /aborted by alice: support tickets spiking/);
      assert.deepEqual(recorder.weights, [5, 0]);
    });
    const promoted = testModel();
    await withPipeline(env(), promoted, {}, async ({ recorder, workflowId }) => {
      await notified(recorder, 'rollout_step');
      await control(env().client, promoted.name, 'promote', { by: 'bob' });
      const outcome = await result(env(), workflowId);
      assert.equal(outcome.outcome, 'promoted');
      assert.deepEqual(recorder.weights, [5]);
      assert.equal((recorder.calls.find((c) => c.name === 'promote')?.input as { actor: string }).actor, 'bob');
    });
  });

  it('pause stops the bake clock until resume; refusals come back to the caller (updates) or are recorded (signals)', async () => {
    const spec = testModel(`approval: { when: always, approvers: [alice] }`);
    await withPipeline(env(), spec, {}, async ({ recorder, workflowId }) => {
      await notified(recorder, 'approval_requested');
      await assert.rejects(control(env().client, spec.name, 'promote', { by: 'alice' }), (err: Error) => err instanceof DecisionRefusedError && /promote does not apply in stage awaiting_approval/.test(err.message));
      // The update's validator refused it at once: nothing was written to the history.
      let status = await pipelineStatus(env().client, spec.name);
      assert.deepEqual(status.decisions, []);
      await env().client.workflow.getHandle(workflowId).signal('approve', { by: 'alice' });
      await notified(recorder, 'rollout_step');
      // A second approval during the canary is refused back to the caller and recorded; nothing moves.
      await assert.rejects(decide(env().client, spec.name, 'approve', { by: 'alice' }), (err: Error) => err instanceof DecisionRefusedError && /approve does not apply now: the run is not waiting for approval/.test(err.message));
      assert.deepEqual((await pipelineStatus(env().client, spec.name)).decisions.at(-1), { ...(await pipelineStatus(env().client, spec.name)).decisions.at(-1)!, kind: 'approve', accepted: false });
      // Moving traffic takes an approver, as approving does: a signal from the UI or an update from the CLI.
      await assert.rejects(control(env().client, spec.name, 'promote', { by: 'mallory' }), (err: Error) => err instanceof DecisionRefusedError && /mallory is not an approver of this model \(approvers: alice\)/.test(err.message));
      await env().client.workflow.getHandle(workflowId).signal('abort', { by: 'mallory' });
      status = await pipelineStatus(env().client, spec.name);
      // A signal cannot be answered, so its refusal is recorded; the refused update is not.
      assert.deepEqual(status.decisions.slice(-2).map((d) => [d.kind, d.by, d.accepted]), [['approve', 'alice', false], ['abort', 'mallory', false]]);
      // Names compare normalised, and the decision records the client identity it came through.
      await control(env().client, spec.name, 'pause', { by: '  Alice ' });
      const paused = (await pipelineStatus(env().client, spec.name)).decisions.at(-1)!;
      assert.deepEqual([paused.kind, paused.by, paused.accepted], ['pause', 'alice', true]);
      assert.equal(paused.via, env().client.options.identity);
      await env().sleep('100h'); // far past every bake: a paused canary must not advance
      status = await pipelineStatus(env().client, spec.name);
      assert.equal(status.traffic.paused, true);
      assert.deepEqual(recorder.weights, [5]);
      await control(env().client, spec.name, 'resume', { by: 'alice' });
      const outcome = await result(env(), workflowId);
      assert.equal(outcome.outcome, 'promoted');
      assert.deepEqual(recorder.weights, [5, 25, 100]);
    });
  });

  it('cancelling mid-canary restores the champion before the run ends', async () => {
    const spec = testModel();
    await withPipeline(env(), spec, {}, async ({ recorder, workflowId }) => {
      await notified(recorder, 'rollout_step');
      // Let the step's notification finish first: a workflow cancelled while an activity it asked to
      // cancel was still running stayed RUNNING on the time-skipping test server (seen here; a real
      // server completes it); an hour into the bake, the workflow waits on a timer.
      await env().sleep('1h');
      await env().client.workflow.getHandle(workflowId).cancel();
      await assert.rejects(result(env(), workflowId), (err: unknown) => err instanceof WorkflowFailedError);
      assert.deepEqual(recorder.weights, [5, 0]);
      assert.deepEqual(recorder.discarded, [2]);
      assert.equal(recorder.notifications.at(-1)?.kind, 'rolled_back');
    });
  });

  it('a second trigger while a run is active starts nothing and says so', async () => {
    const spec = testModel(`approval: { when: always, approvers: [alice] }`);
    await withPipeline(env(), spec, {}, async ({ recorder, start, settings, workflowId }) => {
      assert.equal(start.started, true);
      await notified(recorder, 'approval_requested');
      const second = await startPipeline(env().client, settings, spec, { kinds: ['manual'], reasons: ['again'], requestedBy: 'bob' });
      assert.deepEqual(second, { started: false, workflowId, alreadyRunning: start.started ? start.runId : '' });
      await env().client.workflow.getHandle(workflowId).signal('reject', { by: 'alice' });
      assert.equal((await result(env(), workflowId)).outcome, 'rejected');
    });
  });

  it('a first model (no champion) is promoted without a canary', async () => {
    const spec = testModel();
    await withPipeline(env(), spec, { noChampion: true }, async ({ recorder, workflowId }) => {
      const outcome = await result(env(), workflowId);
      assert.equal(outcome.outcome, 'promoted');
      assert.equal(outcome.reason, 'first model: no champion to compare with, no canary');
      assert.deepEqual(recorder.weights, []);
      assert.deepEqual(recorder.promoted, [2]);
    });
  });

  it('retries a crashed training and goes on', async () => {
    const spec = testModel();
    await withPipeline(env(), spec, { trainingFailures: 2 }, async ({ recorder, workflowId }) => {
      const outcome = await result(env(), workflowId);
      assert.equal(outcome.outcome, 'promoted');
      assert.equal(recorder.calls.filter((c) => c.name === 'trainChallenger').length, 3);
    });
  });
});

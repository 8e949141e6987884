import {
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { ModelSpec } from '../config/schema.js';
import type { PipelineActivities } from '../activities/contracts.js';
import type { Evaluation } from '../domain/evaluation.js';
import type { Notification } from '../domain/notification.js';
import type { RunRef } from '../domain/run.js';
import { ApprovalDesk, approvalReasons, viaOf, type ApprovalOutcome } from './approval.js';
import { normalizePerson } from '../config/people.js';
import {
  abortSignal,
  approveSignal,
  approveUpdate,
  controlUpdate,
  pauseSignal,
  promoteSignal,
  rejectSignal,
  rejectUpdate,
  resumeSignal,
  statusQuery,
  type ControlAction,
  type Decision,
} from './definitions.js';
import { evaluateGates, flaggedForApproval, rejectingFailures } from './gates.js';
import { normalizeRollout, preTrafficSettings } from '../config/rollout.js';
import { runCanary } from './canary/canary.js';
import { runPreTraffic } from './canary/pre-traffic.js';
import { CanaryControls } from './canary/controls.js';
import { Compensations } from './compensations.js';
import type { LegacyRolloutSpec } from './legacy/analysis-v1.js';
import { runRollout } from './legacy/rollout-v1.js';
import { RetrainCandidate, RetrainModel, RetrainStage, RetrainTrigger } from '../domain/search-attributes.js';
import type { PipelineStatus, Stage } from '../domain/status.js';

export interface PipelineInput {
  model: string;
  /**
   * The revision of the model's spec in the starter's config. The worker looks the spec up in its
   * own config (resolveSpec, recorded in the history), so a payload can never choose a trainer,
   * gates, approval, budget or rollout.
   */
  configRevision?: string;
  /** Runs started before the `spec-from-worker-config` patch carried their whole spec here; only their replay reads it. */
  spec?: ModelSpec;
  trigger: { kinds: string[]; reasons: string[]; requestedBy: string };
  /** Task queue of the training workers (heavy work scales separately from control). */
  trainingTaskQueue: string;
}

export interface PipelineResult {
  outcome: 'promoted' | 'rejected' | 'rolled_back';
  reason: string;
  candidateVersion?: number;
  status: PipelineStatus;
}

export { pipelineWorkflowId } from './ids.js';

const control = proxyActivities<PipelineActivities>({
  startToCloseTimeout: '5m',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 10 },
});

// A dead webhook must not hold a run: seconds per try (the activity gives up on a silent receiver
// after 10s), five tries in all. Activity options are not part of replay, so older runs replay as before.
const notifying = proxyActivities<Pick<PipelineActivities, 'notify'>>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 5 },
});

// The report is a by-product: a few quick tries, and a run never waits long or fails for it.
const reporting = proxyActivities<Pick<PipelineActivities, 'writeRunReport'>>({
  startToCloseTimeout: '2m',
  retry: { initialInterval: '2s', maximumAttempts: 3 },
});

/**
 * One retraining run of one model: budget → dataset → train → evaluate → gates → approval →
 * pre-traffic checks → canary → promote. Rejections are results; only unexpected faults fail the workflow, and then
 * traffic goes back to the champion before the failure is reported.
 */
export async function retrainPipeline(input: PipelineInput): Promise<PipelineResult> {
  const { trigger } = input;
  const status: PipelineStatus = {
    model: input.model ?? input.spec!.name,
    stage: 'budget_check',
    triggers: trigger.kinds,
    requestedBy: trigger.requestedBy,
    gates: [],
    approvalReasons: [],
    traffic: { challengerWeight: 0, shadow: false, paused: false },
    analyses: [],
    decisions: [],
  };
  // Answer `retrain status` while the worker looks the spec up; the full handlers follow.
  setHandler(statusQuery, () => status);
  const spec = patched('spec-from-worker-config') ? await control.resolveSpec({ model: input.model, revision: input.configRevision }) : input.spec!;
  const ref = { model: spec.name, revision: input.configRevision };
  const info = workflowInfo();
  const run: RunRef = { model: spec.name, workflowId: info.workflowId, runId: info.runId };
  const training = proxyActivities<Pick<PipelineActivities, 'trainChallenger'>>({
    taskQueue: input.trainingTaskQueue,
    startToCloseTimeout: spec.trainer.timeout,
    // Runs started before these settings existed carry specs without them: the old fixed values.
    heartbeatTimeout: spec.trainer.heartbeatTimeout ?? '2m',
    retry: { initialInterval: spec.trainer.retry?.initialInterval ?? '10s', backoffCoefficient: 2, maximumAttempts: spec.trainer.retry?.maximumAttempts ?? 3 },
  });

  const record = (entry: PipelineStatus['decisions'][number]) => status.decisions.push(entry);
  const desk = new ApprovalDesk(spec.approval, trigger.requestedBy, record);
  const controls = new CanaryControls(
    () => status.stage,
    (kind, d) => (patched('control-needs-approver') ? desk.refuseDecider(kind, d) : undefined),
  );
  installHandlers(status, desk, controls, record);
  // Undo steps registered as effects happen (the saga sample's pattern); run on rollback, failure or cancellation.
  const compensations = new Compensations();

  /** Notifications never decide a run: one that cannot be delivered is logged (runs before the `notify-best-effort` patch failed on it). */
  const deliver = async (n: Notification): Promise<void> => {
    try {
      await notifying.notify(n);
    } catch (err) {
      if (isCancellation(err) || !patched('notify-best-effort')) throw err;
      log.warn('A notification could not be delivered', { kind: n.kind, error: (err as Error).message });
    }
  };
  const notify = (n: Omit<Notification, 'model'>) => deliver({ ...n, model: spec.name, workflowId: run.workflowId });
  const enter = (stage: Stage) => {
    status.stage = stage;
    upsertSearchAttributes([{ key: RetrainStage, value: stage }]);
  };
  upsertSearchAttributes([
    { key: RetrainModel, value: spec.name },
    { key: RetrainTrigger, value: trigger.kinds },
  ]);
  enter('budget_check');

  const finish = async (outcome: PipelineResult['outcome'], reason: string): Promise<PipelineResult> => {
    enter(outcome);
    status.outcome = { result: outcome, reason };
    log.info('Pipeline finished', { model: spec.name, outcome, reason });
    await writeReport();
    return { outcome, reason, candidateVersion: status.candidateVersion, status };
  };

  try {
    // 1. Budget: money is spent only with the budget's or a person's consent.
    const budget = await control.estimateRunCost({ ref });
    const projected = budget.monthSpendUsd + budget.estimatedCostUsd;
    const overBudget = projected > budget.monthlyCapUsd;
    // Messages only (no command changes): which budget binds, the model's or all models' together.
    const cap = budget.capScope === 'all_models' ? `$${budget.monthlyCapUsd} cap of all models` : `$${budget.monthlyCapUsd} cap`;
    if (overBudget && spec.budget.onExceed === 'refuse') {
      return await finish('rejected', `estimated $${budget.estimatedCostUsd.toFixed(2)} would take this month to $${projected.toFixed(2)}, over the ${cap}`);
    }
    if (projected > budget.monthlyCapUsd * spec.budget.warnRatio) {
      await notify({ kind: 'budget_warning', title: `${spec.name}: this run takes monthly spend to $${projected.toFixed(2)} of the ${cap}` });
    }
    const costReasons = approvalReasons({ policy: { ...spec.approval, when: spec.approval.when === 'cost_above' ? 'cost_above' : 'never' }, estimatedCostUsd: budget.estimatedCostUsd, overBudget, flaggedGates: [] });
    let approval: ApprovalOutcome | undefined;
    if (costReasons.length > 0) {
      approval = await askForApproval(costReasons);
      if (!approval.approved) return await finish('rejected', `not approved to train: ${approval.reason} (${approval.by})`);
    }

    // 2. Data and training.
    enter('building_dataset');
    const dataset = await control.buildDataset({ ref, asOf: new Date(info.startTime).toISOString() });
    status.datasetId = dataset.datasetId;
    enter('training');
    const candidate = await training.trainChallenger.executeWithOptions({ summary: `train on dataset ${dataset.datasetId}` }, [{ ref, dataset, run }]);
    status.candidateVersion = candidate.version;
    upsertSearchAttributes([{ key: RetrainCandidate, value: `v${candidate.version}` }]);
    await control.recordSpend({ model: spec.name, costUsd: candidate.costUsd, idempotencyKey: `${run.runId}:train` });

    // 3. Evaluation and gates, on the same holdout for champion and challenger.
    enter('evaluating');
    const evaluation: Evaluation = await control.evaluateCandidates({ ref, dataset, challengerVersion: candidate.version });
    status.evaluation = evaluation;
    status.gates = evaluateGates(spec.gates, evaluation);
    const failed = rejectingFailures(status.gates);
    if (failed.length > 0) {
      const reason = failed.map((g) => `${g.name}: ${g.detail}`).join('; ');
      await control.discardChallenger({ model: spec.name, version: candidate.version, reason, run });
      await notify({ kind: 'gates_failed', title: `${spec.name} v${candidate.version} rejected by the gates`, details: { gates: status.gates } });
      return await finish('rejected', `gates failed: ${reason}`);
    }

    // 4. A human, when the policy or a flagged gate asks for one (and nobody has approved yet).
    // approval.when: on_flag also asks when a gate only warned; runs past this point before it did not.
    const flagged = flaggedForApproval(status.gates, spec.approval.when === 'on_flag' && patched('approval-on-flag') ? 'on_flag' : undefined);
    const reviewReasons = approvalReasons({ policy: spec.approval.when === 'always' ? spec.approval : { ...spec.approval, when: 'never' }, estimatedCostUsd: 0, overBudget: false, flaggedGates: flagged.map((g) => g.detail) });
    if (reviewReasons.length > 0 && !approval?.approved) {
      approval = await askForApproval(reviewReasons);
      if (!approval.approved) {
        await control.discardChallenger({ model: spec.name, version: candidate.version, reason: approval.reason, run });
        return await finish('rejected', `not approved: ${approval.reason} (${approval.by})`);
      }
    }

    // 5. Canary on live traffic; a first model has no champion to compare with, so it goes straight in.
    if (!evaluation.champion) {
      enter('promoting');
      const actor = approval?.approved ? approval.by : 'retrain:auto';
      await control.promote({ model: spec.name, version: candidate.version, actor, reason: `first model: ${trigger.reasons.join('; ')}`, run, evaluation });
      await notify({ kind: 'promoted', title: `${spec.name} v${candidate.version} is the first champion`, details: { by: actor } });
      return await finish('promoted', 'first model: no champion to compare with, no canary');
    }
    const setTraffic = (weight: number, shadow?: boolean) => {
      compensations.once('restore champion', (reason) => restoreChampion(candidate.version, reason));
      return control.setTraffic.executeWithOptions({ summary: shadow ? 'shadow traffic on' : `challenger to ${weight}%` }, [{ model: spec.name, challengerVersion: candidate.version, weight, shadow, run }]);
    };
    const versions = { champion: evaluation.champion.version, challenger: candidate.version };
    const durable = patched('canary-durable-evidence');
    // Pre-traffic checks: synthetic requests to the challenger alone before any live traffic;
    // a failure rolls back what the staging did (the same compensation as a failed canary), so no
    // traffic ever moved. Runs that passed this point before the `pre-traffic-checks` patch replay without it.
    if (durable && preTrafficSettings(spec.rollout, spec.serving?.backend).enabled && patched('pre-traffic-checks')) {
      const checked = await runPreTraffic(status, {
        enter,
        staging: () => compensations.once('restore champion', (reason) => restoreChampion(candidate.version, reason)),
        check: () => control.preTrafficChecks.executeWithOptions({ summary: `pre-traffic checks: synthetic requests to v${candidate.version}` }, [{ ref, versions, run }]),
        recorded: () => setCurrentDetails(describeRun(status, spec.gates.metric)),
      });
      if (!checked.passed) {
        await compensations.run(checked.reason);
        return await finish('rolled_back', checked.reason);
      }
    }
    const rollout = durable
      ? await runCanary(normalizeRollout(spec.rollout, spec.task), spec.label.delay, status, controls, {
          enter,
          setTraffic,
          evidence: async (stage, fromIso, asOfIso) => {
            const evidence = await control.canaryEvidence.executeWithOptions({ summary: `${stage} analysis` }, [{ ref, stage, fromIso, asOfIso, versions }]);
            // The label-free estimate is judged against the version's own holdout accuracy.
            evidence.champion.holdoutAccuracy = evaluation.champion?.metrics.accuracy;
            evidence.challenger.holdoutAccuracy = evaluation.challenger.metrics.accuracy;
            return evidence;
          },
          notify,
          analysed: () => setCurrentDetails(describeRun(status, spec.gates.metric)),
          ask: async (reasons) => {
            const answer = await askForApproval(reasons);
            return { approved: answer.approved, by: answer.by };
          },
        })
      : // Runs whose canary began before the `canary-durable-evidence` patch: the old loop on the gateway's in-memory numbers.
        await runRollout(spec.rollout as unknown as LegacyRolloutSpec, status, controls, {
          // Runs from before the `rollout-stage-attribute` patch never upserted these stages; replaying them must not either.
          enter: (stage) => (patched('rollout-stage-attribute') ? enter(stage) : (status.stage = stage)),
          setTraffic,
          liveMetrics: (sinceIso) => control.liveMetrics.executeWithOptions({ summary: 'live analysis' }, [{ model: spec.name, sinceIso }]),
          notify,
        }, run);
    if (rollout.result === 'rolled_back') {
      await compensations.run(rollout.reason);
      return await finish('rolled_back', rollout.reason);
    }

    // 6. Promotion: the registry alias moves and the ledger records who and why.
    enter('promoting');
    const actor = controls.promoteNow?.by ?? (approval?.approved ? approval.by : 'retrain:auto');
    await control.promote({ model: spec.name, version: candidate.version, actor, reason: `${trigger.reasons.join('; ')} → ${rollout.reason}`, run, evaluation });
    compensations.clear();
    await notify({ kind: 'promoted', title: `${spec.name} v${candidate.version} is the champion`, details: { by: actor } });
    return await finish('promoted', rollout.reason);
  } catch (err) {
    const failedAt = status.stage;
    await compensations.run(isCancellation(err) ? 'run cancelled' : `run failed: ${(err as Error).message}`);
    enter(isCancellation(err) ? 'cancelled' : 'failed');
    status.outcome = { result: status.stage as 'cancelled' | 'failed', reason: (err as Error).message };
    await CancellationScope.nonCancellable(writeReport);
    // People hear about a failed run (a cancelled one was someone's decision). Added with the
    // `notify-failed-run` patch: histories recorded before replay without it.
    if (!isCancellation(err) && patched('notify-failed-run')) {
      let cause = err as Error;
      while (cause.cause instanceof Error) cause = cause.cause;
      // A webhook that is down too must not replace the run's own error.
      await notify({
        kind: 'failed',
        title: `${spec.name}: run failed at ${failedAt.replace(/_/g, ' ')}: ${cause.message.split('\n')[0].slice(0, 200)}`,
        details: { stage: failedAt, error: cause.message, candidateVersion: status.candidateVersion, report: status.reportUrl },
      }).catch((notifyErr: unknown) => log.warn('Could not notify the failed run', { error: (notifyErr as Error).message }));
    }
    throw err;
  }

  /** The run's HTML report, linked from the workflow's details in the UI. Added with the `pipeline-report` patch. */
  /** The run's report: final when the run ends, interim (no end time, the stage about to start) while an approver decides. */
  async function writeReport(interim?: { interimAt: Stage }): Promise<void> {
    if (!patched('pipeline-report')) return;
    const report = await reporting
      .writeRunReport({
        ...status,
        ...(interim ? { stage: interim.interimAt } : {}),
        workflowId: run.workflowId,
        runId: run.runId,
        trigger,
        startedAt: new Date(info.startTime).toISOString(),
        endedAt: interim ? undefined : new Date().toISOString(),
        metric: spec.gates.metric,
      })
      .catch((err: unknown) => log.warn('No run report', { error: (err as Error).message }));
    if (report) status.reportUrl = report.url;
    setCurrentDetails(describeRun(status, spec.gates.metric));
  }

  async function askForApproval(reasons: string[]): Promise<ApprovalOutcome> {
    status.approvalReasons = reasons;
    // The approver sees the evidence while deciding: an interim report (holdout, gates, cost,
    // triggers) linked from the notification, `retrain status` and the UI's details (the `interim-report-for-approver` patch).
    // Written before the stage is published, so a run found awaiting approval is ready for a decision.
    if (patched('interim-report-for-approver')) await writeReport({ interimAt: 'awaiting_approval' });
    enter('awaiting_approval');
    if (status.reportUrl) setCurrentDetails(describeRun(status, spec.gates.metric));
    const outcome = await desk.await(reasons, deliver, spec.name, status.reportUrl);
    await notify({ kind: outcome.approved ? 'approved' : 'rejected', title: `${spec.name}: ${outcome.approved ? 'approved' : 'rejected'} by ${outcome.by}` });
    return outcome;
  }

  /** Traffic back to the champion; runs to the end even when the workflow is being cancelled. */
  async function restoreChampion(version: number, reason: string): Promise<void> {
    await CancellationScope.nonCancellable(async () => {
      await control.setTraffic.executeWithOptions({ summary: 'rollback: champion to 100%' }, [{ model: spec.name, challengerVersion: version, weight: 0, run }]);
      status.traffic = { ...status.traffic, challengerWeight: 0, shadow: false };
      await control.discardChallenger({ model: spec.name, version, reason, run });
      await notify({ kind: 'rolled_back', title: `${spec.name} v${version} rolled back: ${reason}` });
    });
  }
}

function installHandlers(status: PipelineStatus, desk: ApprovalDesk, controls: CanaryControls, record: (e: PipelineStatus['decisions'][number]) => void): void {
  setHandler(statusQuery, () => status);
  setHandler(approveSignal, (d) => void desk.decide('approve', d));
  setHandler(rejectSignal, (d) => void desk.decide('reject', d));
  const decideUpdate = (kind: 'approve' | 'reject') => (d: Decision) => {
    const refused = desk.decide(kind, d);
    if (refused) throw ApplicationFailure.nonRetryable(refused, 'DecisionRefused');
    return `${kind === 'approve' ? 'approved' : 'rejected'} by ${d.by}`;
  };
  // No validators: a refused decision is still recorded in the history, then failed back to the caller.
  setHandler(approveUpdate, decideUpdate('approve'));
  setHandler(rejectUpdate, decideUpdate('reject'));

  // Pause, resume, abort and promote move traffic: the same people as approvals may send them.
  const recordControl = (kind: ControlAction, d: Decision | undefined, refused: string | undefined) =>
    record({ at: new Date().toISOString(), kind, by: normalizePerson(d?.by) || '(nobody)', accepted: !refused, detail: refused ?? d?.comment ?? '', ...viaOf(d) });
  // Signals (the Temporal UI): a refusal cannot be answered, so it is recorded.
  const viaSignal = (kind: ControlAction) => (d: Decision) => {
    const refused = controls.refusal(kind, d);
    recordControl(kind, d, refused);
    if (refused) log.warn('Refused a rollout decision', { kind, by: normalizePerson(d?.by), reason: refused });
    else apply(kind, d);
  };
  const apply = (kind: ControlAction, d: Decision) => {
    controls.apply(kind, d);
    status.traffic.paused = controls.paused;
  };
  setHandler(pauseSignal, viaSignal('pause'));
  setHandler(resumeSignal, viaSignal('resume'));
  setHandler(abortSignal, viaSignal('abort'));
  setHandler(promoteSignal, viaSignal('promote'));
  // The update (the CLI): its validator refuses at once, before anything is written to the history.
  setHandler(
    controlUpdate,
    (action, d) => {
      // Updates accepted before this update had a validator were refused in the handler: replay them the same way.
      const refused = controls.refusal(action, d);
      recordControl(action, d, refused);
      if (refused) throw ApplicationFailure.nonRetryable(refused, 'DecisionRefused');
      apply(action, d);
      return `${action}: accepted from ${normalizePerson(d.by)}`;
    },
    {
      validator: (action, d) => {
        if (!['pause', 'resume', 'abort', 'promote'].includes(action)) throw new Error(`unknown action ${JSON.stringify(action)}`);
        // Validators must not write to the history, so the approver check here is the desk's own (no patch marker).
        const refused = controls.refusal(action, d, (kind, decision) => desk.refuseDecider(kind, decision));
        if (refused) throw ApplicationFailure.nonRetryable(refused, 'DecisionRefused');
      },
    },
  );
}

/** Markdown for the Temporal UI's details panel once the run has ended. */
function describeRun(s: PipelineStatus, metric: string): string {
  const lines = [`**${s.model}** — ${s.outcome?.result.replace('_', ' ') ?? s.stage}: ${s.outcome?.reason ?? ''}`, `- triggers: ${s.triggers.join(', ')} (requested by ${s.requestedBy})`];
  if (s.candidateVersion !== undefined) lines.push(`- challenger v${s.candidateVersion}${s.datasetId ? ` on dataset ${s.datasetId}` : ''}`);
  const e = s.evaluation;
  const fmt = (x: number | undefined) => (typeof x === 'number' ? x.toFixed(4) : 'n/a');
  if (e) lines.push(`- holdout ${metric}: challenger ${fmt(e.challenger.metrics[metric])}${e.champion ? ` vs champion ${fmt(e.champion.metrics[metric])}` : ''}`);
  const pt = s.preTraffic;
  if (pt) lines.push(`- pre-traffic checks: ${pt.passed ? 'passed' : 'failed'} — ${pt.reason}`);
  for (const step of s.steps ?? []) {
    const where = step.stage === 'shadow' ? 'shadow' : `${step.weight}%`;
    lines.push(`- ${where}: ${step.verdict ?? 'running'}${step.evidence?.length ? ` on ${step.evidence.join(' + ')}` : ''} (${step.analyses} analyses)${step.reason ? ` — ${step.reason}` : ''}`);
  }
  if (s.analyses.length && !s.steps) lines.push(`- canary: ${s.analyses.length} analyses, last ${s.analyses[s.analyses.length - 1].verdict}`);
  if (s.reportUrl) lines.push(`- [report](${s.reportUrl})`);
  return lines.join('\n');
}

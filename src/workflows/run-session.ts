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
import type { Notification } from '../domain/notification.js';
import type { RunRef, SpecRef } from '../domain/run.js';
import type { PipelineStatus, Stage } from '../domain/status.js';
import { RetrainModel, RetrainStage, RetrainTrigger } from '../domain/search-attributes.js';
import { normalizePerson } from '../config/people.js';
import { ApprovalDesk, viaOf, type ApprovalOutcome } from './approval.js';
import { CanaryControls } from './canary/controls.js';
import { Compensations } from './compensations.js';
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

/**
 * What every run of a model shares, whichever workflow runs it (a retraining pipeline, or the
 * deployment of a version trained elsewhere): its status for `retrain status`, the approval desk and
 * the rollout controls behind the signals and updates, the compensations, notifications, the HTML
 * report, and the end of the run. The workflows keep the process; this class keeps the bookkeeping.
 */

export interface RunTrigger {
  kinds: string[];
  reasons: string[];
  requestedBy: string;
}

export interface RunResult {
  outcome: 'promoted' | 'rejected' | 'rolled_back';
  reason: string;
  candidateVersion?: number;
  status: PipelineStatus;
}

export const control = proxyActivities<PipelineActivities>({
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

export class RunSession {
  readonly status: PipelineStatus;
  readonly run: RunRef;
  readonly desk: ApprovalDesk;
  readonly controls: CanaryControls;
  /** Undo steps registered as effects happen (the saga sample's pattern); run on rollback, failure or cancellation. */
  readonly compensations = new Compensations();
  private readonly startedAt: string;

  /**
   * Answers `retrain status` from the first moment (`status` is already queryable while the worker
   * looks the spec up), then installs the full handlers once the spec is known.
   */
  static async open(model: string, configRevision: string | undefined, trigger: RunTrigger, firstStage: Stage, loadSpec: () => Promise<ModelSpec>): Promise<RunSession> {
    const status: PipelineStatus = {
      model,
      stage: firstStage,
      triggers: trigger.kinds,
      requestedBy: trigger.requestedBy,
      gates: [],
      approvalReasons: [],
      traffic: { challengerWeight: 0, shadow: false, paused: false },
      analyses: [],
      decisions: [],
    };
    setHandler(statusQuery, () => status);
    const spec = await loadSpec();
    return new RunSession(spec, configRevision, trigger, status);
  }

  private constructor(
    readonly spec: ModelSpec,
    /** The revision of the spec the run was started with, which the worker resolves in its own config. */
    readonly configRevision: string | undefined,
    readonly trigger: RunTrigger,
    status: PipelineStatus,
  ) {
    this.status = status;
    const info = workflowInfo();
    this.run = { model: spec.name, workflowId: info.workflowId, runId: info.runId };
    this.startedAt = new Date(info.startTime).toISOString();
    const record = (entry: PipelineStatus['decisions'][number]) => status.decisions.push(entry);
    this.desk = new ApprovalDesk(spec.approval, trigger.requestedBy, record);
    this.controls = new CanaryControls(
      () => status.stage,
      (kind, d) => (patched('control-needs-approver') ? this.desk.refuseDecider(kind, d) : undefined),
    );
    installHandlers(status, this.desk, this.controls, record);
  }

  /** Publishes the run's model and triggers, and its first stage, as search attributes. */
  begin(): void {
    upsertSearchAttributes([
      { key: RetrainModel, value: this.spec.name },
      { key: RetrainTrigger, value: this.trigger.kinds },
    ]);
    this.enter(this.status.stage);
  }

  /** How activities find the run's spec: the model and the revision, never the spec itself. */
  get ref(): SpecRef {
    return { model: this.spec.name, revision: this.configRevision };
  }

  enter(stage: Stage): void {
    this.status.stage = stage;
    upsertSearchAttributes([{ key: RetrainStage, value: stage }]);
  }

  /** Notifications never decide a run: one that cannot be delivered is logged (runs before the `notify-best-effort` patch failed on it). */
  readonly deliver = async (n: Notification): Promise<void> => {
    try {
      await notifying.notify(n);
    } catch (err) {
      if (isCancellation(err) || !patched('notify-best-effort')) throw err;
      log.warn('A notification could not be delivered', { kind: n.kind, error: (err as Error).message });
    }
  };

  readonly notify = (n: Omit<Notification, 'model'>): Promise<void> => this.deliver({ ...n, model: this.spec.name, workflowId: this.run.workflowId });

  /** The run's details in the UI, from its status. */
  readonly showDetails = (): void => setCurrentDetails(describeRun(this.status, this.spec.gates.metric));

  async finish(outcome: RunResult['outcome'], reason: string): Promise<RunResult> {
    this.enter(outcome);
    this.status.outcome = { result: outcome, reason };
    log.info('Run finished', { model: this.spec.name, outcome, reason });
    await this.writeReport();
    return { outcome, reason, candidateVersion: this.status.candidateVersion, status: this.status };
  }

  /**
   * Runs the body of a run. An unexpected fault or a cancellation first undoes what the run did
   * (traffic back to the champion), then the run ends failed or cancelled, with its report, and
   * people hear about a failure.
   */
  async guard(body: () => Promise<RunResult>): Promise<RunResult> {
    try {
      return await body();
    } catch (err) {
      const failedAt = this.status.stage;
      await this.compensations.run(isCancellation(err) ? 'run cancelled' : `run failed: ${(err as Error).message}`);
      this.enter(isCancellation(err) ? 'cancelled' : 'failed');
      this.status.outcome = { result: this.status.stage as 'cancelled' | 'failed', reason: (err as Error).message };
      await CancellationScope.nonCancellable(() => this.writeReport());
      // A cancelled run was someone's decision. Added with the `notify-failed-run` patch: histories recorded before replay without it.
      if (!isCancellation(err) && patched('notify-failed-run')) {
        let cause = err as Error;
        while (cause.cause instanceof Error) cause = cause.cause;
        // A webhook that is down too must not replace the run's own error.
        await this.notify({
          kind: 'failed',
          title: `${this.spec.name}: run failed at ${failedAt.replace(/_/g, ' ')}: ${cause.message.split('\n')[0].slice(0, 200)}`,
          details: { stage: failedAt, error: cause.message, candidateVersion: this.status.candidateVersion, report: this.status.reportUrl },
        }).catch((notifyErr: unknown) => log.warn('Could not notify the failed run', { error: (notifyErr as Error).message }));
      }
      throw err;
    }
  }

  /** The run's report, linked from the UI: final when the run ends, interim (no end time, the stage about to start) while an approver decides. Added with the `pipeline-report` patch. */
  async writeReport(interim?: { interimAt: Stage }): Promise<void> {
    if (!patched('pipeline-report')) return;
    const status = this.status;
    const report = await reporting
      .writeRunReport({
        ...status,
        ...(interim ? { stage: interim.interimAt } : {}),
        workflowId: this.run.workflowId,
        runId: this.run.runId,
        trigger: this.trigger,
        startedAt: this.startedAt,
        endedAt: interim ? undefined : new Date().toISOString(),
        metric: this.spec.gates.metric,
      })
      .catch((err: unknown) => log.warn('No run report', { error: (err as Error).message }));
    if (report) status.reportUrl = report.url;
    this.showDetails();
  }

  async askForApproval(reasons: string[]): Promise<ApprovalOutcome> {
    this.status.approvalReasons = reasons;
    // The approver sees the evidence while deciding: an interim report (holdout, gates, cost,
    // triggers) linked from the notification, `retrain status` and the UI's details (the `interim-report-for-approver` patch).
    // Written before the stage is published, so a run found awaiting approval is ready for a decision.
    if (patched('interim-report-for-approver')) await this.writeReport({ interimAt: 'awaiting_approval' });
    this.enter('awaiting_approval');
    if (this.status.reportUrl) this.showDetails();
    const outcome = await this.desk.await(reasons, this.deliver, this.spec.name, this.status.reportUrl);
    await this.notify({ kind: outcome.approved ? 'approved' : 'rejected', title: `${this.spec.name}: ${outcome.approved ? 'approved' : 'rejected'} by ${outcome.by}` });
    return outcome;
  }

  /** Traffic back to the champion; runs to the end even when the workflow is being cancelled. */
  async restoreChampion(version: number, reason: string): Promise<void> {
    await CancellationScope.nonCancellable(async () => {
      await control.setTraffic.executeWithOptions({ summary: 'rollback: champion to 100%' }, [{ model: this.spec.name, challengerVersion: version, weight: 0, run: this.run }]);
      this.status.traffic = { ...this.status.traffic, challengerWeight: 0, shadow: false };
      await control.discardChallenger({ model: this.spec.name, version, reason, run: this.run });
      await this.notify({ kind: 'rolled_back', title: `${this.spec.name} v${version} rolled back: ${reason}` });
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

/** Markdown for the Temporal UI's details panel. */
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

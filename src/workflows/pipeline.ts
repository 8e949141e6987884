import { patched, proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { ModelSpec } from '../config/schema.js';
import type { PipelineActivities } from '../activities/contracts.js';
import { approvalReasons, type ApprovalOutcome } from './approval.js';
import { deployCandidate, judgeOnHoldout } from './deployment.js';
import { RetrainCandidate } from '../domain/search-attributes.js';
import { control, RunSession, type RunResult } from './run-session.js';

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

export type PipelineResult = RunResult;

export { pipelineWorkflowId } from './ids.js';

/**
 * One retraining run of one model: budget → dataset → train → then the deployment every version
 * goes through (deployment.ts): evaluation and gates → approval → pre-traffic checks → canary →
 * promote. Rejections are results; only unexpected faults fail the workflow, and then traffic goes
 * back to the champion before the failure is reported.
 */
export async function retrainPipeline(input: PipelineInput): Promise<PipelineResult> {
  const { trigger } = input;
  const session = await RunSession.open(input.model ?? input.spec!.name, input.configRevision, trigger, 'budget_check', () =>
    patched('spec-from-worker-config') ? control.resolveSpec({ model: input.model, revision: input.configRevision }) : Promise.resolve(input.spec!),
  );
  const { spec, status, run, ref } = session;
  const training = proxyActivities<Pick<PipelineActivities, 'trainChallenger'>>({
    taskQueue: input.trainingTaskQueue,
    startToCloseTimeout: spec.trainer.timeout,
    // Runs started before these settings existed carry specs without them: the old fixed values.
    heartbeatTimeout: spec.trainer.heartbeatTimeout ?? '2m',
    retry: { initialInterval: spec.trainer.retry?.initialInterval ?? '10s', backoffCoefficient: 2, maximumAttempts: spec.trainer.retry?.maximumAttempts ?? 3 },
  });
  session.begin();

  return session.guard(async () => {
    // 1. Budget: money is spent only with the budget's or a person's consent.
    const budget = await control.estimateRunCost({ ref });
    const projected = budget.monthSpendUsd + budget.estimatedCostUsd;
    const overBudget = projected > budget.monthlyCapUsd;
    // Messages only (no command changes): which budget binds, the model's or all models' together.
    const cap = budget.capScope === 'all_models' ? `$${budget.monthlyCapUsd} cap of all models` : `$${budget.monthlyCapUsd} cap`;
    if (overBudget && spec.budget.onExceed === 'refuse') {
      return session.finish('rejected', `estimated $${budget.estimatedCostUsd.toFixed(2)} would take this month to $${projected.toFixed(2)}, over the ${cap}`);
    }
    if (projected > budget.monthlyCapUsd * spec.budget.warnRatio) {
      await session.notify({ kind: 'budget_warning', title: `${spec.name}: this run takes monthly spend to $${projected.toFixed(2)} of the ${cap}` });
    }
    const costReasons = approvalReasons({ policy: { ...spec.approval, when: spec.approval.when === 'cost_above' ? 'cost_above' : 'never' }, estimatedCostUsd: budget.estimatedCostUsd, overBudget, flaggedGates: [] });
    let approval: ApprovalOutcome | undefined;
    if (costReasons.length > 0) {
      approval = await session.askForApproval(costReasons);
      if (!approval.approved) return session.finish('rejected', `not approved to train: ${approval.reason} (${approval.by})`);
    }

    // 2. Data and training.
    session.enter('building_dataset');
    const dataset = await control.buildDataset({ ref, asOf: new Date(workflowInfo().startTime).toISOString() });
    status.datasetId = dataset.datasetId;
    session.enter('training');
    const candidate = await training.trainChallenger.executeWithOptions({ summary: `train on dataset ${dataset.datasetId}` }, [{ ref, dataset, run }]);
    status.candidateVersion = candidate.version;
    upsertSearchAttributes([{ key: RetrainCandidate, value: `v${candidate.version}` }]);
    await control.recordSpend({ model: spec.name, costUsd: candidate.costUsd, idempotencyKey: `${run.runId}:train` });

    // 3. Evaluation and gates, on the same holdout for champion and challenger; 4–6. approval,
    // pre-traffic checks, canary, promotion.
    const judged = await judgeOnHoldout(session, dataset, candidate.version);
    if ('rejected' in judged) return judged.rejected;
    return deployCandidate(session, { version: candidate.version, evaluation: judged.evaluation }, approval);
  });
}

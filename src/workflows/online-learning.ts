import { proxyActivities, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { LearningActivities, LearnStep, PipelineActivities, SnapshotResult } from '../activities/contracts.js';
import { RetrainModel, RetrainStage } from '../domain/search-attributes.js';

export interface OnlineLearningInput {
  model: string;
  /** The revision of the model's spec that `retrain apply` scheduled. */
  configRevision?: string;
}

export interface OnlineLearningResult {
  step: LearnStep;
  /** Present when this step took a snapshot: its registry version and verdict. */
  snapshot?: SnapshotResult;
  /** Present when the snapshot froze the learner: what serves instead. */
  frozen?: { resetTo: string };
}

const { learnOnline } = proxyActivities<LearningActivities>({
  startToCloseTimeout: '5m',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5 },
});
const { snapshotOnline, freezeOnline } = proxyActivities<LearningActivities>({
  startToCloseTimeout: '15m',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5 },
});
const { notify } = proxyActivities<Pick<PipelineActivities, 'notify'>>({ startToCloseTimeout: '1m', retry: { maximumAttempts: 3 } });

/**
 * One step of a model's online learner (its schedule runs it every `learning.updateEvery`): learn
 * the labels that matured since the last step and push the copy to the gateway; when a snapshot
 * is due, register it and judge it on the champion's holdout; a snapshot worse than the last good
 * one freezes the learner, resets what serves to the last good snapshot, and alerts. Each step is
 * a workflow run of its own, so the UI lists every snapshot and every freeze.
 */
export async function onlineLearningStep(input: OnlineLearningInput): Promise<OnlineLearningResult> {
  const ref = { model: input.model, revision: input.configRevision };
  upsertSearchAttributes([
    { key: RetrainModel, value: input.model },
    { key: RetrainStage, value: 'learning' },
  ]);
  const asOf = new Date().toISOString();
  const step = await learnOnline.executeWithOptions({ summary: `learn ${input.model} from the labels that matured since the last step` }, [{ ref, asOf }]);
  if (!step.snapshotDue) return { step };

  const { workflowId, runId } = workflowInfo();
  const snapshot = await snapshotOnline.executeWithOptions({ summary: `snapshot ${step.copy} and judge it on the champion's holdout` }, [{ ref, asOf, workflowId, runId }]);
  if (!snapshot || snapshot.verdict !== 'worse') return { step, snapshot: snapshot ?? undefined };

  const frozen = await freezeOnline.executeWithOptions({ summary: `freeze ${input.model}'s online learner` }, [{ ref, reason: snapshot.detail, snapshotVersion: snapshot.version, at: asOf }]);
  upsertSearchAttributes([{ key: RetrainStage, value: 'online_frozen' }]);
  await notify({
    kind: 'online_frozen',
    model: input.model,
    title: `${input.model}: online learning frozen: snapshot v${snapshot.version} (${snapshot.copy}) scored ${snapshot.detail}; now serving ${frozen.resetTo}`,
    details: { snapshot, resetTo: frozen.resetTo },
    workflowId,
  });
  return { step, snapshot, frozen };
}

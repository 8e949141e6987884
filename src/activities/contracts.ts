import type { ModelSpec } from '../config/schema.js';
import type { CanaryEvidence, LiveComparison } from '../domain/canary.js';
import type { CheckResult } from '../domain/check.js';
import type { Evaluation } from '../domain/evaluation.js';
import type { Notification } from '../domain/notification.js';
import type { PreTrafficRecord } from '../domain/pre-traffic.js';
import type { BudgetEstimate, CandidateRef, DatasetRef, RunRef, SpecRef } from '../domain/run.js';
import type { PipelineReportInput } from '../reports/pipeline-report.js';

/**
 * What the workflows ask of the outside world. Workflows import these types only; the worker
 * registers implementations built from the backends. Payloads carry references (dataset ids,
 * artifact URIs, report paths), never data. The types the payloads are made of live in src/domain
 * (shared with reports, serving and backends); they are re-exported here for the activities' callers.
 */

export type { CanaryEvidence, LiveComparison, VariantEvidence, VariantLiveMetrics } from '../domain/canary.js';
export type { CheckResult } from '../domain/check.js';
export type { Evaluation, Metrics, SliceComparison } from '../domain/evaluation.js';
export type { Notification, NotificationKind } from '../domain/notification.js';
export type { PreTrafficRecord } from '../domain/pre-traffic.js';
export type { BudgetEstimate, CandidateRef, DatasetRef, RunRef, SpecRef } from '../domain/run.js';

/**
 * Activities name the model and the config revision a run started under (`ref`), never carry its
 * spec: the worker takes trainers, gates, approval, budget and rollout from its own config.
 */
export type { LearningActivities, LearnStep, SnapshotResult } from './learning.js';

export interface PipelineActivities {
  /** The spec of the run's model at its revision, from the worker's own validated config. */
  resolveSpec(ref: SpecRef): Promise<ModelSpec>;
  estimateRunCost(input: { ref: SpecRef }): Promise<BudgetEstimate>;
  buildDataset(input: { ref: SpecRef; asOf: string }): Promise<DatasetRef>;
  trainChallenger(input: { ref: SpecRef; dataset: DatasetRef; run: RunRef }): Promise<CandidateRef>;
  evaluateCandidates(input: { ref: SpecRef; dataset: DatasetRef; challengerVersion: number }): Promise<Evaluation>;
  recordSpend(input: { model: string; costUsd: number; idempotencyKey: string }): Promise<void>;
  notify(input: Notification): Promise<void>;
  /** Puts the challenger on `weight` percent of traffic (0 restores the champion alone). */
  setTraffic(input: { model: string; challengerVersion: number; weight: number; shadow?: boolean; run: RunRef }): Promise<void>;
  /** Runs whose canary began before the `canary-durable-evidence` patch read the gateway's in-memory numbers (replay only). */
  liveMetrics(input: { model: string; sinceIso: string }): Promise<LiveComparison>;
  /**
   * Stages the challenger on the gateway with no traffic (weight 0, no mirror), then sends it the
   * synthetic requests built from the reference profile and judges the answers. A failed check is a
   * result (passed: false), not an exception; undoing the staging is the caller's compensation.
   */
  preTrafficChecks(input: { ref: SpecRef; versions: { champion: number; challenger: number }; run: RunRef }): Promise<PreTrafficRecord>;
  /** The durable live evidence of a step: the lake's rows of both versions in [from, asOf). */
  canaryEvidence(input: { ref: SpecRef; stage: 'shadow' | 'canary'; fromIso: string; asOfIso: string; versions: { champion: number; challenger: number } }): Promise<CanaryEvidence>;
  promote(input: { model: string; version: number; actor: string; reason: string; run: RunRef; evaluation: Evaluation }): Promise<void>;
  discardChallenger(input: { model: string; version: number; reason: string; run: RunRef }): Promise<void>;
  /** Why `version` cannot be deployed (the champion already, its artifact missing or altered), or null when it can; an unknown version fails the run. */
  checkDeployable(input: { ref: SpecRef; version: number }): Promise<string | null>;
  /** Renders the run's HTML report; best effort (undefined when it could not be written). */
  writeRunReport(input: PipelineReportInput): Promise<{ path: string; url: string } | undefined>;
}

export interface MonitorActivities {
  resolveSpec(ref: SpecRef): Promise<ModelSpec>;
  checkModel(input: { ref: SpecRef; asOf: string }): Promise<CheckResult>;
  /** Starts the model's pipeline, or reports the run already in progress. */
  startRetrain(input: { ref: SpecRef; kinds: string[]; reasons: string[]; requestedBy: string }): Promise<{ started: boolean; workflowId: string; runId: string }>;
  /** The newest version registered from outside that is newer than the champion and that no deployment has tried yet, or null. */
  registeredCandidate(input: { ref: SpecRef }): Promise<{ version: number; registeredAt: string } | null>;
  /** Starts the deployment of `version` (`retrain deploy`'s workflow), or reports the run already in progress. */
  startDeployment(input: { ref: SpecRef; version: number; reason: string; requestedBy: string }): Promise<{ started: boolean; workflowId: string; runId: string }>;
}

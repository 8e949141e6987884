import type { ModelSpec } from '../config/schema.js';
import type { PipelineReportInput } from '../reports/pipeline-report.js';
import type { SpecRef } from './spec-catalog.js';

export type { SpecRef } from './spec-catalog.js';

/**
 * What the workflows ask of the outside world. Workflows import these types only; the worker
 * registers implementations built from the backends. Payloads carry references (dataset ids,
 * artifact URIs, report paths), never data.
 */

export type Metrics = Record<string, number>;

export interface RunRef {
  model: string;
  workflowId: string;
  runId: string;
}

export interface BudgetEstimate {
  estimatedCostUsd: number;
  monthSpendUsd: number;
  monthlyCapUsd: number;
}

export interface DatasetRef {
  datasetId: string;
  datasetDir: string;
  rowCounts: { train: number; validation: number; holdout: number };
}

export interface CandidateRef {
  version: number;
  artifactUri: string;
  costUsd: number;
  trainingMetrics: Metrics;
}

export interface SliceComparison {
  feature: string;
  value: string;
  samples: number;
  champion: number;
  challenger: number;
}

export interface Evaluation {
  /** Absent when the model has no champion yet (its first training). */
  champion?: { version: number; metrics: Metrics };
  challenger: { version: number; metrics: Metrics };
  slices: SliceComparison[];
  latencyMs?: number;
}

export type NotificationKind =
  | 'gates_failed'
  | 'approval_requested'
  | 'approval_escalated'
  | 'approval_timed_out'
  | 'approved'
  | 'rejected'
  | 'rollout_step'
  | 'rolled_back'
  | 'promoted'
  | 'budget_warning'
  | 'retraining_not_paying'
  | 'failed';

export interface Notification {
  kind: NotificationKind;
  model: string;
  title: string;
  details?: Record<string, unknown>;
  /** People to address, e.g. the approvers or the escalation list. */
  audience?: string[];
  workflowId?: string;
}

/** Live numbers per variant over a window, from the serving backend. */
export interface VariantLiveMetrics {
  requests: number;
  errors: number;
  p50LatencyMs: number;
  p99LatencyMs: number;
  labelledSamples: number;
  accuracy?: number;
}

export interface LiveComparison {
  champion: VariantLiveMetrics;
  challenger: VariantLiveMetrics;
}

/**
 * One variant's live evidence over a canary or shadow step, read from the lake: durable (a gateway
 * restart loses nothing the journal kept) and the sum of every gateway replica's rows.
 */
export interface VariantEvidence {
  /** The model version whose rows these are (null when it served none). */
  version: string | null;
  /** Answered predictions plus scoring failures. */
  requests: number;
  errors: number;
  /** Latency of this variant's own answers (its scoring, not the batch's); null without answers. */
  p50LatencyMs: number | null;
  p99LatencyMs: number | null;
  /**
   * The p99's one-sided 95% bounds by order statistics, good from 1,000 answers on: below it the
   * p98, above it the p99.5 (at n = 1,000 the p99's rank is 990 ± 5.2 at 95%; tighter with more).
   */
  p99BoundsMs?: { lower: number; upper: number };
  /** Predictions of the step with a label arrived by asOf, whatever the label's age. */
  labelled: number;
  /** Binary classification: share of labelled predictions that were right. */
  accuracy?: number;
  /** Regression: mean absolute error over the labelled predictions, and the standard deviation of the absolute errors. */
  mae?: number;
  absErrorStdDev?: number;
  /** Label-free (binary): accuracy implied by this version's scores through its own calibration (CBPE). */
  estimatedAccuracy?: number;
  /** This version's accuracy on the run's holdout (added by the workflow from the evaluation): what the estimate is compared with. */
  holdoutAccuracy?: number;
}

export interface CanaryEvidence {
  stage: 'shadow' | 'canary';
  /** Predictions made in [from, asOf); labels arrived by asOf. */
  from: string;
  asOf: string;
  champion: VariantEvidence;
  /** In the shadow stage, the challenger's mirrored answers. */
  challenger: VariantEvidence;
  /** Jensen–Shannon distance (base 2) between the two variants' score distributions; absent without answers on both sides. */
  scoreDistance?: number;
  /** The distance two samples of these sizes from one distribution exceed 1% of the time (chi² approximation). */
  scoreDistanceNoiseFloor?: number;
  /** Shadow stage: mirrored requests paired with the champion's answer, and how many got the same prediction. */
  shadowPairs?: { paired: number; agreed: number };
}

/**
 * Activities name the model and the config revision a run started under (`ref`), never carry its
 * spec: the worker takes trainers, gates, approval, budget and rollout from its own config.
 */
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
  /** Runs whose canary began before v0.4 read the gateway's in-memory numbers (replay only). */
  liveMetrics(input: { model: string; sinceIso: string }): Promise<LiveComparison>;
  /** The durable live evidence of a step: the lake's rows of both versions in [from, asOf). */
  canaryEvidence(input: { ref: SpecRef; stage: 'shadow' | 'canary'; fromIso: string; asOfIso: string; versions: { champion: number; challenger: number } }): Promise<CanaryEvidence>;
  promote(input: { model: string; version: number; actor: string; reason: string; run: RunRef; evaluation: Evaluation }): Promise<void>;
  discardChallenger(input: { model: string; version: number; reason: string; run: RunRef }): Promise<void>;
  /** Renders the run's HTML report; best effort (undefined when it could not be written). */
  writeRunReport(input: PipelineReportInput): Promise<{ path: string; url: string } | undefined>;
}

/** What one monitor check measured; numbers only, the HTML report holds the charts. */
export interface CheckResult {
  model: string;
  checkedAt: string;
  window: { from: string; to: string; rows: number };
  champion?: { version: number; trainedAt: string };
  drift: {
    verdict: 'drift' | 'ok' | 'insufficient_data';
    evaluatedFeatures: number;
    drifted: Array<{ feature: string; metric: string; score: number; threshold: number; importanceShare?: number | null }>;
    driftShare: number;
    /** Whether the drift is worth a retrain under the drift policy, and why (importance, estimated loss). */
    impact?: { material: boolean; policy: string; reason: string; importantDriftedFeatures: string[]; estimatedLoss: number | null };
  };
  /** Label-free estimate (CBPE) of the champion's accuracy on the window's scores, with its 95% interval. */
  estimate?: { metric: 'accuracy'; value: number; lower: number; upper: number; samples: number; baseline?: number };
  /** The windowed metric on matured labels, beside the champion's validated value. */
  performance?: { metric: string; value: number; labels: number; baseline?: number };
  /** Matured predictions of the window (old enough for their labels), how many have one, and revised labels. */
  labels?: { matured: number; labelled: number; coverage: number; revised: number };
  /** The sequential test on the matured error stream against the champion's validated error rate. */
  sequential?: {
    fired: boolean;
    statistic: number;
    threshold: number;
    baselineError: number;
    tolerance: number;
    samples: number;
    newSamples: number;
    errorRate?: number;
    lower: number;
    upper: number;
  };
  labelShift?: { jensenShannon: number; samples: number };
  /** Labels that joined served predictions since `newLabelsSince` (the last pipeline's end, or the champion's training). */
  newLabels: number;
  newLabelsSince?: string;
  /** When the last pipeline for this model finished, if one has. */
  lastRetrainAt?: string;
  /** Closed pipelines, newest first: their outcomes drive the back-off. */
  recentRuns?: Array<{ closedAt: string; outcome: string }>;
  /** The check's HTML report on the worker's disk, and where `retrain serve-reports` serves it. */
  reportPath?: string;
  reportUrl?: string;
}

export interface MonitorActivities {
  resolveSpec(ref: SpecRef): Promise<ModelSpec>;
  checkModel(input: { ref: SpecRef; asOf: string }): Promise<CheckResult>;
  /** Starts the model's pipeline, or reports the run already in progress. */
  startRetrain(input: { ref: SpecRef; kinds: string[]; reasons: string[]; requestedBy: string }): Promise<{ started: boolean; workflowId: string; runId: string }>;
}

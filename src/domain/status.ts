import type { CanaryEvidence, EvidenceKind, LiveComparison, MetricResult, StepRecord } from './canary.js';
import type { Evaluation, GateResult } from './evaluation.js';
import type { PreTrafficRecord } from './pre-traffic.js';

/** Where a pipeline run stands: its status query's answer, its details in the UI and its report's input. */

/** Stages a pipeline passes through; also the values of the RetrainStage search attribute. */
export type Stage =
  | 'budget_check'
  | 'building_dataset'
  | 'training'
  | 'evaluating'
  | 'awaiting_approval'
  | 'pre_traffic'
  | 'shadow'
  | 'canary'
  | 'promoting'
  | 'promoted'
  | 'rejected'
  | 'rolled_back'
  | 'failed'
  | 'cancelled';

export interface DecisionRecord {
  at: string;
  kind: string;
  by: string;
  accepted: boolean;
  detail: string;
  /** The client identity the decision came through, when it sent one. */
  via?: string;
}

export interface PipelineStatus {
  model: string;
  stage: Stage;
  triggers: string[];
  requestedBy: string;
  datasetId?: string;
  candidateVersion?: number;
  evaluation?: Evaluation;
  gates: GateResult[];
  approvalReasons: string[];
  traffic: { challengerWeight: number; shadow: boolean; paused: boolean };
  /**
   * Each analysis with what it judged, cumulative since its step began: `metrics` and `evidence`
   * (the lake's numbers) from the `canary-durable-evidence` patch on; `live` (the gateway's in-memory numbers) in older runs.
   */
  analyses: Array<{
    at: string;
    step: number;
    weight: number;
    stage?: 'shadow' | 'canary';
    verdict: 'pass' | 'fail' | 'inconclusive';
    detail: string;
    metrics?: MetricResult[];
    evidence?: CanaryEvidence;
    live?: LiveComparison;
  }>;
  /** The synthetic requests sent to the challenger before it got any traffic, and what they found (from the `pre-traffic-checks` patch on). */
  preTraffic?: PreTrafficRecord;
  /** Each shadow or canary step as the workflow judged it (from the `canary-durable-evidence` patch on). */
  steps?: StepRecord[];
  decisions: DecisionRecord[];
  outcome?: { result: 'promoted' | 'rejected' | 'rolled_back' | 'failed' | 'cancelled'; reason: string };
  /** The run's HTML report, once written (`retrain serve-reports` serves it). */
  reportUrl?: string;
}

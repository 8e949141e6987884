import type { CanaryEvidence, Evaluation, LiveComparison } from '../activities/contracts.js';
import type { EvidenceKind, MetricResult } from './canary/judge.js';

/** Stages a pipeline passes through; also the values of the RetrainStage search attribute. */
export type Stage =
  | 'budget_check'
  | 'building_dataset'
  | 'training'
  | 'evaluating'
  | 'awaiting_approval'
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

export interface GateResult {
  name: string;
  passed: boolean;
  /** Whether a failure only asks for a human instead of rejecting. */
  severity: 'reject' | 'approval' | 'warn';
  detail: string;
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
   * (the lake's numbers) from v0.4; `live` (the gateway's in-memory numbers) in older runs.
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
  /** Each shadow or canary step as the workflow judged it (from v0.4). */
  steps?: StepRecord[];
  decisions: DecisionRecord[];
  outcome?: { result: 'promoted' | 'rejected' | 'rolled_back' | 'failed' | 'cancelled'; reason: string };
  /** The run's HTML report, once written (`retrain serve-reports` serves it). */
  reportUrl?: string;
}

/** One step of the rollout: how long it ran, its verdict and the evidence the verdict rests on. */
export interface StepRecord {
  step: number;
  stage: 'shadow' | 'canary';
  weight: number;
  startedAt: string;
  endedAt?: string;
  bake: string;
  analyses: number;
  /** pass: judged good; fail: rolled back on failures; inconclusive: not judged in time; approved: not judged, a person let it go on. */
  verdict?: 'pass' | 'fail' | 'inconclusive' | 'approved' | 'aborted' | 'promoted_early';
  reason?: string;
  evidence?: EvidenceKind[];
}

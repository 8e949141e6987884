import type { Evaluation, LiveComparison } from '../activities/contracts.js';

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
  /** Each canary analysis with the live numbers it judged (cumulative since its step began). */
  analyses: Array<{ at: string; step: number; weight: number; verdict: 'pass' | 'fail' | 'inconclusive'; detail: string; live?: LiveComparison }>;
  decisions: DecisionRecord[];
  outcome?: { result: 'promoted' | 'rejected' | 'rolled_back' | 'failed' | 'cancelled'; reason: string };
  /** The run's HTML report, once written (`retrain serve-reports` serves it). */
  reportUrl?: string;
}

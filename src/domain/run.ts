import type { Metrics } from './evaluation.js';

/**
 * What a pipeline run names and hands from step to step. Payloads carry references (dataset ids,
 * artifact URIs), never data.
 */

/** How a run names the rules it runs under: a model of this worker's config, at one revision. */
export interface SpecRef {
  model: string;
  /** Absent: the worker's current revision (old schedules and runs carried no revision). */
  revision?: string;
}

export interface RunRef {
  model: string;
  workflowId: string;
  runId: string;
}

export interface BudgetEstimate {
  estimatedCostUsd: number;
  /** Spend this month and the cap of the budget with the least room left: the model's own, or all models' together. */
  monthSpendUsd: number;
  monthlyCapUsd: number;
  /** Which budget that is (absent in runs from before the shared budget: the model's). */
  capScope?: 'model' | 'all_models';
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

/**
 * A challenger measured against the champion on the run's holdout, and the gates judged on it.
 * Shared by the pipeline workflow, its activities and the run report.
 */

export type Metrics = Record<string, number>;

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

export interface GateResult {
  name: string;
  passed: boolean;
  /** Whether a failure only asks for a human instead of rejecting. */
  severity: 'reject' | 'approval' | 'warn';
  detail: string;
}

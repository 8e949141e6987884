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
  /** Data-quality checks against the reference: how many were judged, and the violations. */
  dataQuality?: {
    checked: number;
    violations: Array<{ feature: string; check: 'missing_rate' | 'out_of_range' | 'unseen_categories' | 'mean_shift'; value: number; reference: number; threshold: number; samples: number }>;
    /** Violations the model's previous check did not have ("feature/check"): what an alert is sent for. */
    started?: string[];
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

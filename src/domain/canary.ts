import type { AnalysisMetricKind } from '../config/rollout.js';

/**
 * The canary's evidence and judgements: what the serving side measured per variant, how a metric
 * was judged on it, and each step's record. Shared by the canary workflow, the evidence activity,
 * the gateway client and the run report.
 */

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

export type Verdict = 'pass' | 'fail' | 'inconclusive';

/** What a verdict rests on: served traffic, matured labels, label-free estimates, or the shadow's pairs. */
export type EvidenceKind = 'traffic' | 'labels' | 'label-free' | 'shadow';

/** One metric judged on one read of the evidence (workflows/canary/judge.ts judges it). */
export interface MetricResult {
  name: string;
  kind: AnalysisMetricKind;
  evidence: EvidenceKind;
  verdict: Verdict;
  detail: string;
  /** Shown, never deciding (the metric's dryRun). */
  dryRun?: boolean;
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

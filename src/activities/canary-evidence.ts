import type { ModelSpec } from '../config/schema.js';
import type { ServedEvidence, ServedVariantEvidence } from '../backends/data/types.js';
import { jensenShannonFromProportions } from '../drift/categorical.js';
import { jensenShannonNoiseFloor } from '../drift/noise-floor.js';
import { applyCalibration, type IsotonicCalibration } from '../drift/decisions/calibration.js';
import type { CanaryEvidence, VariantEvidence } from './contracts.js';

/**
 * Turns the lake's per-variant rows of one step into the canary's evidence: rates and quantiles
 * as they are, labelled accuracy (binary or multiclass: prediction = label) or MAE, and two label-free signals computed here: each version's
 * CBPE accuracy (its score histogram through its own calibration) and the Jensen–Shannon distance
 * between the two versions' score distributions on the same traffic.
 */

/** Score bins the lake is asked for: 50 equal bins on [0, 1] put an edge at the 0.5 threshold. */
export const EVIDENCE_SCORE_BINS = 50;
const DISTANCE_BINS = 10;

export function canaryEvidenceFrom(
  served: ServedEvidence,
  spec: Pick<ModelSpec, 'task'>,
  stage: 'shadow' | 'canary',
  calibrations: { champion?: IsotonicCalibration; challenger?: IsotonicCalibration },
): CanaryEvidence {
  const other = stage === 'shadow' ? 'shadow' : 'challenger';
  const champion = served.variants.champion;
  const challenger = served.variants[other];
  const evidence: CanaryEvidence = {
    stage,
    from: served.from,
    asOf: served.asOf,
    champion: describe(champion, spec.task, served.scoreEdges, calibrations.champion),
    challenger: describe(challenger, spec.task, served.scoreEdges, calibrations.challenger),
  };
  // The distance on 10 coarse bins: fine bins would make two samples of one distribution look apart.
  const coarse = (h: number[]) => (h.length % DISTANCE_BINS === 0 ? Array.from({ length: DISTANCE_BINS }, (_, i) => sum(h.slice((i * h.length) / DISTANCE_BINS, ((i + 1) * h.length) / DISTANCE_BINS))) : h);
  const p = coarse(champion.scoreHistogram);
  const q = coarse(challenger.scoreHistogram);
  const a = sum(p);
  const b = sum(q);
  if (a > 0 && b > 0) {
    evidence.scoreDistance = round(jensenShannonFromProportions(p.map((c) => c / a), q.map((c) => c / b)), 6);
    // What two samples of these sizes from one distribution exceed 1% of the time: the distance must clear it too.
    evidence.scoreDistanceNoiseFloor = round(jensenShannonNoiseFloor(a, b, p.length, 0.99), 6);
  }
  if (stage === 'shadow') evidence.shadowPairs = { ...served.shadowPairs };
  return evidence;
}

function describe(v: ServedVariantEvidence, task: ModelSpec['task'], edges: number[], calibration: IsotonicCalibration | undefined): VariantEvidence {
  const out: VariantEvidence = {
    version: v.version,
    requests: v.requests,
    errors: v.errors,
    p50LatencyMs: v.latencyMs ? round(v.latencyMs.p50, 3) : null,
    p99LatencyMs: v.latencyMs ? round(v.latencyMs.p99, 3) : null,
    labelled: v.labelled,
  };
  if (v.latencyMs) out.p99BoundsMs = { lower: round(v.latencyMs.p98, 3), upper: round(v.latencyMs.p995, 3) };
  if (v.labelled > 0) {
    if (task !== 'regression') out.accuracy = v.correct / v.labelled;
    else {
      const mae = v.absErrorSum / v.labelled;
      out.mae = mae;
      // |e|² = e², so the variance of the absolute errors comes from the two sums.
      out.absErrorStdDev = Math.sqrt(Math.max(v.squaredErrorSum / v.labelled - mae * mae, 0));
    }
  }
  if (task !== 'regression' && calibration) {
    const estimate = estimatedAccuracy(v.scoreHistogram, edges, calibration, task === 'multiclass_classification');
    if (estimate !== undefined) out.estimatedAccuracy = round(estimate, 6);
  }
  return out;
}

/**
 * CBPE on a histogram: a score s predicts 1 when s ≥ 0.5 and is right with the calibrated
 * probability q(s) (else 1 − q(s)); each bin is taken at its midpoint. With 50 bins the midpoint
 * moves q by at most the calibration's slope over 0.01, well inside the estimate's own noise.
 * Multiclass: the score is the predicted class's probability and the calibration gives
 * P(right | score) directly, so a bin is right with q(s).
 */
export function estimatedAccuracy(histogram: number[], edges: number[], calibration: IsotonicCalibration, multiclass = false): number | undefined {
  const total = sum(histogram);
  if (total === 0 || edges.length !== histogram.length + 1) return undefined;
  const mids = histogram.map((_, i) => (edges[i] + edges[i + 1]) / 2);
  const q = applyCalibration(calibration, mids);
  let right = 0;
  for (let i = 0; i < histogram.length; i++) right += histogram[i] * (multiclass || mids[i] >= 0.5 ? q[i] : 1 - q[i]);
  return right / total;
}

const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
const round = (x: number, digits: number) => Math.round(x * 10 ** digits) / 10 ** digits;

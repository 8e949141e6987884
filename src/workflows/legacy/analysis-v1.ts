import type { LiveComparison } from '../../domain/canary.js';

/**
 * The canary analysis of runs that reached their canary before the `canary-durable-evidence` patch (before `rollout.analysis`):
 * kept unchanged so their histories replay. New runs use ../canary/.
 */
export interface LegacyRolloutSpec {
  shadow?: { duration: string };
  steps: Array<{ weight: number; duration?: string }>;
  analysisInterval: string;
  minSamples: number;
  failureLimit: number;
  rollbackOn: { maxAccuracyDrop: number; maxErrorRate: number; maxP99LatencyMs?: number };
}

export type Verdict = 'pass' | 'fail' | 'inconclusive';

export interface AnalysisResult {
  verdict: Verdict;
  detail: string;
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

/** One-sided 95% normal quantile: a drop counts only when it is this many standard errors clear of the limit. */
const Z_95 = 1.645;

/**
 * Lower confidence bound of the accuracy drop (champion − challenger), two independent
 * proportions. Small canary samples are noisy: 80 labels put ±4.5 points on an accuracy of 80%.
 */
function dropLowerBound(champion: { accuracy: number; n: number }, challenger: { accuracy: number; n: number }): number {
  const variance = (champion.accuracy * (1 - champion.accuracy)) / champion.n + (challenger.accuracy * (1 - challenger.accuracy)) / challenger.n;
  return champion.accuracy - challenger.accuracy - Z_95 * Math.sqrt(variance);
}

/**
 * One canary analysis: live challenger vs champion on the serving backend's numbers. Too little
 * traffic is inconclusive, never a pass; accuracy is judged only once enough labels have matured,
 * and a drop fails only when it exceeds the limit with 95% confidence (a drop past the limit that
 * the samples cannot yet confirm is inconclusive: the step waits for more labels).
 */
export function analyseCanary(live: LiveComparison, rollout: Pick<LegacyRolloutSpec, 'minSamples' | 'rollbackOn'>): AnalysisResult {
  const { champion, challenger } = live;
  const rules = rollout.rollbackOn;
  if (challenger.requests < rollout.minSamples) {
    return { verdict: 'inconclusive', detail: `only ${challenger.requests} challenger requests (needs ${rollout.minSamples})` };
  }
  const failures: string[] = [];
  const errorRate = challenger.errors / challenger.requests;
  if (errorRate > rules.maxErrorRate) failures.push(`error rate ${pct(errorRate)} > ${pct(rules.maxErrorRate)}`);
  if (rules.maxP99LatencyMs !== undefined && challenger.p99LatencyMs > rules.maxP99LatencyMs) {
    failures.push(`p99 ${challenger.p99LatencyMs.toFixed(1)} ms > ${rules.maxP99LatencyMs} ms`);
  }

  const labelled = Math.min(challenger.labelledSamples, champion.labelledSamples);
  let accuracyNote = `accuracy not judged yet (${labelled} matured labels, needs ${rollout.minSamples})`;
  let unconfirmedDrop: string | undefined;
  if (labelled >= rollout.minSamples && challenger.accuracy !== undefined && champion.accuracy !== undefined) {
    const drop = champion.accuracy - challenger.accuracy;
    accuracyNote = `accuracy ${pct(challenger.accuracy)} vs champion ${pct(champion.accuracy)}`;
    if (drop > rules.maxAccuracyDrop) {
      const bound = dropLowerBound({ accuracy: champion.accuracy, n: champion.labelledSamples }, { accuracy: challenger.accuracy, n: challenger.labelledSamples });
      const claim = `${accuracyNote}: drop ${pct(drop)} > ${pct(rules.maxAccuracyDrop)}`;
      if (bound > rules.maxAccuracyDrop) failures.push(`${claim} (95% lower bound ${pct(bound)})`);
      else unconfirmedDrop = `${claim}, not yet significant on ${challenger.labelledSamples} challenger labels (95% lower bound ${pct(bound)})`;
    }
  }

  if (failures.length > 0) return { verdict: 'fail', detail: failures.join('; ') };
  if (unconfirmedDrop) return { verdict: 'inconclusive', detail: unconfirmedDrop };
  return { verdict: 'pass', detail: `error rate ${pct(errorRate)}, p99 ${challenger.p99LatencyMs.toFixed(1)} ms, ${accuracyNote}` };
}

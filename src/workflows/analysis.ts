import type { RolloutSpec } from '../config/schema.js';
import type { LiveComparison } from '../activities/contracts.js';

export type Verdict = 'pass' | 'fail' | 'inconclusive';

export interface AnalysisResult {
  verdict: Verdict;
  detail: string;
}

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

/**
 * One canary analysis: live challenger vs champion on the serving backend's numbers. Too little
 * traffic is inconclusive, never a pass; accuracy is judged only once enough labels have matured.
 */
export function analyseCanary(live: LiveComparison, rollout: Pick<RolloutSpec, 'minSamples' | 'rollbackOn'>): AnalysisResult {
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
  if (labelled >= rollout.minSamples && challenger.accuracy !== undefined && champion.accuracy !== undefined) {
    const drop = champion.accuracy - challenger.accuracy;
    accuracyNote = `accuracy ${pct(challenger.accuracy)} vs champion ${pct(champion.accuracy)}`;
    if (drop > rules.maxAccuracyDrop) failures.push(`${accuracyNote}: drop ${pct(drop)} > ${pct(rules.maxAccuracyDrop)}`);
  }

  if (failures.length > 0) return { verdict: 'fail', detail: failures.join('; ') };
  return { verdict: 'pass', detail: `error rate ${pct(errorRate)}, p99 ${challenger.p99LatencyMs.toFixed(1)} ms, ${accuracyNote}` };
}

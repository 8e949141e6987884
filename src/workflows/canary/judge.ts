import type { AnalysisMetric, AnalysisSpec } from '../../config/rollout.js';
import type { CanaryEvidence, EvidenceKind, MetricResult, Verdict } from '../../domain/canary.js';
import { normalQuantile } from '../../drift/decisions/common.js';

/**
 * The canary's judgement, as Argo Rollouts splits it: `judgeMetric` judges one metric on one
 * read of the evidence, `combineVerdicts` turns the metrics' verdicts into the step's. Pure
 * functions of numbers, so each rule has worked examples in test/decisions/canary-judge.test.ts.
 */

export type { EvidenceKind, MetricResult, Verdict } from '../../domain/canary.js';

export interface StepJudgement {
  verdict: Verdict;
  detail: string;
  metrics: MetricResult[];
  /** Inconclusive only because labelled metrics lack labels: the step may wait for them (labelWait). */
  awaitingLabels: boolean;
}

const EVIDENCE: Record<AnalysisMetric['kind'], EvidenceKind> = {
  error_rate: 'traffic',
  latency: 'traffic',
  accuracy_drop: 'labels',
  error_increase: 'labels',
  estimated_accuracy_drop: 'label-free',
  score_distance: 'label-free',
  shadow_agreement: 'shadow',
};

/** Answers per side before a p99 is compared: at least ten answers above it. */
export const P99_MIN_ANSWERS = 1_000;

const EVIDENCE_ORDER: EvidenceKind[] = ['traffic', 'labels', 'label-free', 'shadow'];

const pct = (x: number) => `${(x * 100).toFixed(2)}%`;
const ms = (x: number) => `${x.toFixed(1)} ms`;

/** The metrics that apply to a stage: the shadow comparison only while mirroring. */
export function metricsFor(analysis: AnalysisSpec, stage: CanaryEvidence['stage']): AnalysisMetric[] {
  return analysis.metrics.filter((m) => m.kind !== 'shadow_agreement' || stage === 'shadow');
}

export function judgeMetric(metric: AnalysisMetric, ev: CanaryEvidence, analysis: Pick<AnalysisSpec, 'minSamples' | 'confidence'>): MetricResult {
  const result = (verdict: Verdict, detail: string): MetricResult => ({ name: metric.name ?? metric.kind, kind: metric.kind, evidence: EVIDENCE[metric.kind], verdict, detail, ...(metric.dryRun ? { dryRun: true } : {}) });
  const { champion, challenger } = ev;
  const min = analysis.minSamples;
  const z = normalQuantile(analysis.confidence);
  const confidence = `${Math.round(analysis.confidence * 1000) / 10}%`;
  const answered = (v: typeof champion) => v.requests - v.errors;

  switch (metric.kind) {
    case 'error_rate': {
      if (challenger.requests < min) return result('inconclusive', `${challenger.requests} challenger requests (needs ${min})`);
      const rate = challenger.errors / challenger.requests;
      return result(rate > metric.max ? 'fail' : 'pass', `error rate ${pct(rate)} ${rate > metric.max ? '>' : '≤'} ${pct(metric.max)} (${challenger.errors} of ${challenger.requests})`);
    }
    case 'latency': {
      if (answered(challenger) < min) return result('inconclusive', `${answered(challenger)} challenger answers (needs ${min})`);
      if (answered(champion) < min) return result('inconclusive', `${answered(champion)} champion answers to compare with (needs ${min})`);
      // A p99 over fewer than 1,000 answers rests on under ten of them (one GC pause decides it):
      // until both sides have that many, the median is compared instead, and the detail says so.
      const enough = metric.quantile === 'p50' || Math.min(answered(challenger), answered(champion)) >= P99_MIN_ANSWERS;
      const quantile = enough ? metric.quantile : 'p50';
      const key = quantile === 'p50' ? 'p50LatencyMs' : 'p99LatencyMs';
      const mine = challenger[key];
      const theirs = champion[key];
      if (mine === null || theirs === null) return result('inconclusive', 'no latency recorded');
      // A p99 fails only when its lower bound clears the limit set from the champion's upper bound
      // (95% each way, by order statistics): a few slow answers on a busy host are not a regression.
      const sure = quantile === 'p99' && challenger.p99BoundsMs && champion.p99BoundsMs;
      const mineLow = sure ? challenger.p99BoundsMs!.lower : mine;
      const theirsHigh = sure ? champion.p99BoundsMs!.upper : theirs;
      if (metric.maxMs !== undefined && enough && mineLow > metric.maxMs) return result('fail', `${quantile} ${ms(mine)} > ${metric.maxMs} ms`);
      const limit = Math.max(theirsHigh * metric.maxRatio, theirsHigh + metric.minMarginMs);
      const note = enough ? '' : ` (p50: p99 needs ${P99_MIN_ANSWERS} answers a side)`;
      const bounds = sure ? ` (95% bounds: challenger ≥ ${ms(mineLow)}, champion ≤ ${ms(theirsHigh)})` : '';
      const detail = `${quantile} ${ms(mine)} vs champion ${ms(theirs)}${note}${bounds} (limit ${ms(limit)}: ×${metric.maxRatio}, at least +${metric.minMarginMs} ms)`;
      return result(mineLow > limit ? 'fail' : 'pass', detail);
    }
    case 'accuracy_drop': {
      const labelled = Math.min(champion.labelled, challenger.labelled);
      if (labelled < min || champion.accuracy === undefined || challenger.accuracy === undefined) {
        return result('inconclusive', `accuracy not judged yet: ${challenger.labelled} challenger and ${champion.labelled} champion predictions labelled (needs ${min} each)`);
      }
      const drop = champion.accuracy - challenger.accuracy;
      const se = Math.sqrt((champion.accuracy * (1 - champion.accuracy)) / champion.labelled + (challenger.accuracy * (1 - challenger.accuracy)) / challenger.labelled);
      const bound = drop - z * se;
      const claim = `accuracy ${pct(challenger.accuracy)} vs champion ${pct(champion.accuracy)} on ${challenger.labelled}/${champion.labelled} labels`;
      if (bound > metric.maxDrop) return result('fail', `${claim}: drop ${pct(drop)} > ${pct(metric.maxDrop)} (${confidence} lower bound ${pct(bound)})`);
      if (drop > metric.maxDrop) return result('inconclusive', `${claim}: drop ${pct(drop)} > ${pct(metric.maxDrop)}, not yet significant (${confidence} lower bound ${pct(bound)})`);
      return result('pass', `${claim}`);
    }
    case 'error_increase': {
      const labelled = Math.min(champion.labelled, challenger.labelled);
      if (labelled < min || champion.mae === undefined || challenger.mae === undefined) {
        return result('inconclusive', `error not judged yet: ${challenger.labelled} challenger and ${champion.labelled} champion predictions labelled (needs ${min} each)`);
      }
      const limit = champion.mae * metric.maxIncrease;
      const increase = challenger.mae - champion.mae;
      const se = Math.sqrt((champion.absErrorStdDev ?? 0) ** 2 / champion.labelled + (challenger.absErrorStdDev ?? 0) ** 2 / challenger.labelled);
      const bound = increase - z * se;
      const claim = `MAE ${challenger.mae.toPrecision(4)} vs champion ${champion.mae.toPrecision(4)} on ${challenger.labelled}/${champion.labelled} labels`;
      if (bound > limit) return result('fail', `${claim}: +${increase.toPrecision(3)} > ${pct(metric.maxIncrease)} of the champion's (${confidence} lower bound ${bound.toPrecision(3)})`);
      if (increase > limit) return result('inconclusive', `${claim}: +${increase.toPrecision(3)} > ${pct(metric.maxIncrease)} of the champion's, not yet significant`);
      return result('pass', claim);
    }
    case 'estimated_accuracy_drop': {
      // The challenger against its own holdout, not against the champion: under a concept change the
      // champion's stale calibration overstates its own accuracy, exactly when a retrain is needed.
      if (answered(challenger) < min) return result('inconclusive', `too few answers to estimate (${answered(challenger)} challenger, needs ${min})`);
      if (challenger.estimatedAccuracy === undefined || challenger.holdoutAccuracy === undefined) {
        return result('inconclusive', 'no calibrated estimate (a version without a calibration in its reference profile)');
      }
      const drop = challenger.holdoutAccuracy - challenger.estimatedAccuracy;
      const detail = `challenger's estimated live accuracy ${pct(challenger.estimatedAccuracy)} vs ${pct(challenger.holdoutAccuracy)} on the holdout (label-free, CBPE)`;
      return result(drop > metric.maxDrop ? 'fail' : 'pass', drop > metric.maxDrop ? `${detail}: drop ${pct(drop)} > ${pct(metric.maxDrop)}` : detail);
    }
    case 'score_distance': {
      if (answered(challenger) < min || answered(champion) < min || ev.scoreDistance === undefined) {
        return result('inconclusive', `too few answers to compare score distributions (${answered(challenger)} challenger, needs ${min})`);
      }
      const d = ev.scoreDistance;
      const limit = Math.max(metric.max, ev.scoreDistanceNoiseFloor ?? 0);
      const floor = limit > metric.max ? ` (the noise floor of these sample sizes)` : '';
      return result(d > limit ? 'fail' : 'pass', `score distributions ${d > limit ? 'apart' : 'close'}: Jensen–Shannon distance ${d.toFixed(3)} ${d > limit ? '>' : '≤'} ${limit.toFixed(3)}${floor}`);
    }
    case 'shadow_agreement': {
      const pairs = ev.shadowPairs;
      if (!pairs || pairs.paired < min) return result('inconclusive', `${pairs?.paired ?? 0} mirrored requests paired with the champion's answer (needs ${min})`);
      const rate = pairs.agreed / pairs.paired;
      return result(rate < metric.min ? 'fail' : 'pass', `agreement with the champion ${pct(rate)} ${rate < metric.min ? '<' : '≥'} ${pct(metric.min)} on ${pairs.paired} mirrored requests`);
    }
  }
}

/**
 * The step's verdict from its metrics: any failure fails it; otherwise it passes only when every
 * traffic, labelled and shadow metric passed. Label-free metrics can fail a step while labels
 * mature but never pass one, so with a labelled metric configured a step whose labels have not
 * arrived is inconclusive, never a pass.
 */
export function combineVerdicts(metrics: MetricResult[]): StepJudgement {
  const deciding = metrics.filter((m) => !m.dryRun);
  const failed = deciding.filter((m) => m.verdict === 'fail');
  if (failed.length > 0) return { verdict: 'fail', detail: failed.map((m) => m.detail).join('; '), metrics, awaitingLabels: false };
  const open = deciding.filter((m) => m.verdict === 'inconclusive' && m.evidence !== 'label-free');
  if (open.length > 0) {
    return { verdict: 'inconclusive', detail: open.map((m) => m.detail).join('; '), metrics, awaitingLabels: open.every((m) => m.evidence === 'labels') };
  }
  const passed = deciding.filter((m) => m.verdict === 'pass' && m.evidence !== 'label-free');
  return { verdict: 'pass', detail: passed.map((m) => m.detail).join('; ') || 'no metric objects', metrics, awaitingLabels: false };
}

export function judgeStep(analysis: AnalysisSpec, ev: CanaryEvidence): StepJudgement {
  return combineVerdicts(metricsFor(analysis, ev.stage).map((m) => judgeMetric(m, ev, analysis)));
}

/** The kinds of evidence a judgement rested on, for the status and the report ("passed on traffic and labels"). */
export function evidenceOf(judgement: StepJudgement): EvidenceKind[] {
  // A pass rests on the metrics that can pass a step; label-free ones only ever fail one.
  const rests = (m: MetricResult) => !m.dryRun && (judgement.verdict === 'fail' ? m.verdict === 'fail' : m.verdict === 'pass' && m.evidence !== 'label-free');
  const kinds = new Set(judgement.metrics.filter(rests).map((m) => m.evidence));
  return EVIDENCE_ORDER.filter((k) => kinds.has(k));
}

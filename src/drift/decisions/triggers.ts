import type { TriggerSpec } from '../../config/schema.js';
import { durationMs } from '../../config/duration.js';
import { LOWER_IS_BETTER } from '../../config/policies.js';
import type { CheckResult } from '../../domain/check.js';

export type TriggerKind = 'bootstrap' | 'schedule' | 'performance' | 'drift' | 'data_quality' | 'label_shift' | 'volume' | 'max_age';

export interface FiredTrigger {
  kind: TriggerKind;
  reason: string;
}

/** Every trigger the check weighed, fired or not, with the evidence: a person can see why. */
export interface ConsideredTrigger {
  kind: TriggerKind;
  fired: boolean;
  evidence: string;
}

export interface TriggerDecision {
  fired: FiredTrigger[];
  /** Set when triggers fired but the cooldown holds them back. */
  heldByCooldown?: string;
  /** Set when triggers fired but earlier runs they started did not pay (rejected or rolled back). */
  heldByBackoff?: string;
  considered?: ConsideredTrigger[];
}

const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(3));
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

/**
 * Which retraining triggers one check sets off, as a pure decision the monitor workflow records:
 * performance against the champion's own validated baseline (a sequential test across checks, or
 * an SLA when configured), drift only when it matters (an important feature, and a label-free
 * estimate that says it costs more than the tolerance, under the default `impact` policy), and the
 * opt-in calendar-like triggers. A pipeline starts when something fired, unless the cooldown holds,
 * or runs those triggers started keep not paying (back-off).
 */
export function evaluateTriggers(spec: TriggerSpec, check: CheckResult, options: { now: number; scheduled?: boolean }): TriggerDecision {
  const considered: ConsideredTrigger[] = [];
  const weigh = (kind: TriggerKind, fired: boolean, evidence: string) => considered.push({ kind, fired, evidence });

  if (!check.champion) weigh('bootstrap', true, 'no champion yet: train the first model');
  if (options.scheduled && spec.schedule?.enabled !== false) weigh('schedule', true, `scheduled retrain (${spec.schedule?.cron ?? 'calendar'})`);
  if (check.champion) {
    if (spec.performance.enabled) weighPerformance(spec, check, weigh);
    if (spec.drift.enabled) weighDrift(spec, check, weigh);
    // Specs carried by histories from before data quality have no dataQuality section.
    if (check.dataQuality && spec.dataQuality?.enabled) {
      const found = check.dataQuality.violations;
      const listed = found.slice(0, 3).map((v) => `${v.feature} ${v.check.replaceAll('_', ' ')}`).join(', ') + (found.length > 3 ? ', …' : '');
      const retrains = spec.dataQuality.action === 'retrain';
      weigh('data_quality', retrains && found.length > 0, found.length === 0
        ? `${check.dataQuality.checked} data-quality checks passed`
        : `${found.length} data-quality violation${found.length > 1 ? 's' : ''} (${listed})${retrains ? '' : ': alert only (triggers.dataQuality.action: alert)'}`);
    }
    if (spec.labelShift.enabled && check.labelShift && check.labelShift.samples >= spec.drift.minSamples) {
      const shifted = check.labelShift.jensenShannon > spec.labelShift.jensenShannon;
      weigh('label_shift', shifted, `label distribution JS ${fmt(check.labelShift.jensenShannon)} ${shifted ? '>' : '≤'} ${spec.labelShift.jensenShannon}`);
    }
    if (spec.volume.enabled) {
      const enough = check.newLabels >= spec.volume.newLabels;
      weigh('volume', enough, `${check.newLabels} new labels since ${check.newLabelsSince ? `the last run (${check.newLabelsSince})` : 'the last run'} (${enough ? '≥' : '<'} ${spec.volume.newLabels})`);
    }
    if (spec.maxAge.enabled) {
      const since = check.lastRetrainAt && Date.parse(check.lastRetrainAt) > Date.parse(check.champion.trainedAt) ? check.lastRetrainAt : check.champion.trainedAt;
      const old = options.now - Date.parse(since) > durationMs(spec.maxAge.age);
      weigh('max_age', old, `the last run ended ${since}: ${old ? 'longer' : 'less'} than ${spec.maxAge.age} ago`);
    }
  }

  const fired = considered.filter((c) => c.fired).map(({ kind, evidence }) => ({ kind, reason: evidence }));
  const decision: TriggerDecision = { fired, considered };
  if (fired.length === 0 || fired.some((f) => f.kind === 'bootstrap')) return decision;
  if (check.lastRetrainAt) {
    const since = options.now - Date.parse(check.lastRetrainAt);
    if (since < durationMs(spec.cooldown)) return { ...decision, heldByCooldown: `last retrain finished ${Math.round(since / 60_000)} min ago, within the ${spec.cooldown} cooldown` };
  }
  const backoff = backoffHold(spec, check, options.now);
  return backoff ? { ...decision, heldByBackoff: backoff } : decision;
}

function weighPerformance(spec: TriggerSpec, check: CheckResult, weigh: (kind: TriggerKind, fired: boolean, evidence: string) => void): void {
  const p = spec.performance;
  const perf = check.performance;
  if (p.baseline === 'sla') {
    if (!perf || p.threshold === undefined) return weigh('performance', false, `fewer than ${p.minLabels} matured labels: not judged`);
    const lower = LOWER_IS_BETTER.has(p.metric);
    const breached = lower ? perf.value > p.threshold : perf.value < p.threshold;
    return weigh('performance', breached, `${perf.metric} ${fmt(perf.value)} on ${perf.labels} matured labels is ${breached ? (lower ? 'above' : 'below') : 'within'} the SLA ${p.threshold}`);
  }
  const s = check.sequential;
  if (!s) return weigh('performance', false, 'no validated baseline or no matured labels yet: not judged');
  const rate = s.errorRate === undefined ? 'no matured errors yet' : `error rate ${pct(s.errorRate)} [${pct(s.lower)}, ${pct(s.upper)}] over the recent matured predictions`;
  weigh(
    'performance',
    s.fired,
    `${rate} vs the champion's validated ${pct(s.baselineError)} + ${pct(s.tolerance)} tolerance: sequential evidence ${fmt(s.statistic)} ${s.fired ? '≥' : '<'} ${fmt(s.threshold)} after ${s.samples} matured predictions`,
  );
}

function weighDrift(spec: TriggerSpec, check: CheckResult, weigh: (kind: TriggerKind, fired: boolean, evidence: string) => void): void {
  const d = check.drift;
  if (d.verdict === 'insufficient_data') return weigh('drift', false, 'too few rows in the window: drift not judged');
  const top = [...d.drifted].sort((a, b) => b.score / b.threshold - a.score / a.threshold).slice(0, 3);
  const listed = top.map((f) => `${f.metric} ${fmt(f.score)} on ${f.feature}`).join(', ');
  if (!d.impact) {
    // A check from before impact existed (or without a profile): the plain count rule.
    const fired = spec.drift.action !== 'alert' && d.drifted.length >= spec.drift.minDriftedFeatures;
    return weigh('drift', fired, d.drifted.length ? `${d.drifted.length} of ${d.evaluatedFeatures} features drifted (${listed})` : 'no feature drifted');
  }
  const enough = d.impact.importantDriftedFeatures.length >= spec.drift.minDriftedFeatures;
  weigh('drift', d.impact.material && enough, d.impact.material && !enough ? `${d.impact.reason}; fewer than ${spec.drift.minDriftedFeatures} important features drifted` : d.impact.reason);
}

/**
 * After runs that did not pay (rejected by the gates or a person, rolled back), their triggers
 * wait: initial, doubling per further such run, capped; a promotion ends the back-off.
 */
function backoffHold(spec: TriggerSpec, check: CheckResult, now: number): string | undefined {
  if (!spec.backoff.enabled || !check.recentRuns?.length) return undefined;
  let unpaid = 0;
  for (const run of check.recentRuns) {
    if (run.outcome === 'promoted') break;
    if (run.outcome === 'rejected' || run.outcome === 'rolled_back') unpaid++;
  }
  if (unpaid === 0) return undefined;
  const wait = Math.min(durationMs(spec.backoff.initial) * 2 ** (unpaid - 1), durationMs(spec.backoff.max));
  const since = now - Date.parse(check.recentRuns[0].closedAt);
  if (since >= wait) return undefined;
  return `the last ${unpaid} run${unpaid > 1 ? 's' : ''} did not pay (rejected or rolled back): retraining waits ${Math.round(wait / 3_600_000)} h after the last one (${Math.round((wait - since) / 3_600_000)} h left); a person should look at why`;
}

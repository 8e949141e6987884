import type { TriggerSpec } from '../config/schema.js';
import { durationMs } from '../config/duration.js';
import { LOWER_IS_BETTER } from '../config/policies.js';
import type { CheckResult } from '../activities/contracts.js';

export interface FiredTrigger {
  kind: 'bootstrap' | 'schedule' | 'performance' | 'drift' | 'label_shift' | 'volume' | 'max_age';
  reason: string;
}

export interface TriggerDecision {
  fired: FiredTrigger[];
  /** Set when triggers fired but the cooldown holds them back. */
  heldByCooldown?: string;
}

const fmt = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : x.toFixed(3));

/**
 * Which retraining triggers one check sets off, as a pure decision: the monitor workflow records it
 * and starts a pipeline when anything fired and the cooldown allows.
 */
export function evaluateTriggers(spec: TriggerSpec, check: CheckResult, options: { now: number; scheduled?: boolean }): TriggerDecision {
  const fired: FiredTrigger[] = [];
  if (!check.champion) fired.push({ kind: 'bootstrap', reason: 'no champion yet: train the first model' });
  if (options.scheduled && spec.schedule?.enabled !== false) fired.push({ kind: 'schedule', reason: `scheduled retrain (${spec.schedule?.cron ?? 'calendar'})` });

  const perf = check.performance;
  if (spec.performance.enabled && perf && perf.labels >= spec.performance.minLabels) {
    const lower = LOWER_IS_BETTER.has(spec.performance.metric);
    const breached = lower ? perf.value > spec.performance.threshold : perf.value < spec.performance.threshold;
    if (breached) {
      fired.push({ kind: 'performance', reason: `${perf.metric} ${fmt(perf.value)} on ${perf.labels} matured labels is ${lower ? 'above' : 'below'} ${spec.performance.threshold}` });
    }
  }

  if (spec.drift.enabled && check.drift.verdict !== 'insufficient_data' && check.drift.drifted.length >= spec.drift.minDriftedFeatures) {
    const top = [...check.drift.drifted].sort((a, b) => b.score / b.threshold - a.score / a.threshold).slice(0, 3);
    const detail = top.map((d) => `${d.metric} ${fmt(d.score)} on ${d.feature}`).join(', ');
    fired.push({ kind: 'drift', reason: `${check.drift.drifted.length} of ${check.drift.evaluatedFeatures} features drifted (${detail})` });
  }

  if (spec.labelShift.enabled && check.labelShift && check.labelShift.samples >= spec.drift.minSamples && check.labelShift.jensenShannon > spec.labelShift.jensenShannon) {
    fired.push({ kind: 'label_shift', reason: `label distribution shifted: JS ${fmt(check.labelShift.jensenShannon)} > ${spec.labelShift.jensenShannon}` });
  }

  if (spec.volume.enabled && check.newLabelsSinceTraining >= spec.volume.newLabels) {
    fired.push({ kind: 'volume', reason: `${check.newLabelsSinceTraining} new labels since the last training (≥ ${spec.volume.newLabels})` });
  }

  if (spec.maxAge.enabled && check.champion) {
    const age = options.now - Date.parse(check.champion.trainedAt);
    if (age > durationMs(spec.maxAge.age)) fired.push({ kind: 'max_age', reason: `champion v${check.champion.version} is older than ${spec.maxAge.age}` });
  }

  if (fired.length === 0 || !check.lastRetrainAt || fired.some((f) => f.kind === 'bootstrap')) return { fired };
  const since = options.now - Date.parse(check.lastRetrainAt);
  if (since < durationMs(spec.cooldown)) {
    return { fired, heldByCooldown: `last retrain finished ${Math.round(since / 60_000)} min ago, within the ${spec.cooldown} cooldown` };
  }
  return { fired };
}

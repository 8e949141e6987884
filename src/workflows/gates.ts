import type { ApprovalSpec, GateSpec } from '../config/schema.js';
import { LOWER_IS_BETTER, type MetricName } from '../config/policies.js';
import type { Evaluation, GateResult } from '../domain/evaluation.js';

/** Metric keys as the evaluation reports them (the drift module's names). */
const METRIC_KEY: Record<MetricName, string> = {
  accuracy: 'accuracy',
  precision: 'precision',
  recall: 'recall',
  f1: 'f1',
  roc_auc: 'roc_auc',
  log_loss: 'log_loss',
  macro_f1: 'macro_f1',
  mae: 'mae',
  rmse: 'rmse',
};

const fmt = (x: number) => (Number.isFinite(x) ? x.toFixed(4) : String(x));

/**
 * The evaluation gates, as pure decisions over the numbers of one holdout. Everything a challenger
 * must prove before it may see traffic; the pipeline turns failures into a `rejected` run.
 */
export function evaluateGates(gates: GateSpec, evaluation: Evaluation): GateResult[] {
  const key = METRIC_KEY[gates.metric];
  const lowerIsBetter = LOWER_IS_BETTER.has(gates.metric);
  const better = (a: number, b: number) => (lowerIsBetter ? b - a : a - b);
  const challenger = evaluation.challenger.metrics[key];
  const results: GateResult[] = [];

  if (challenger === undefined || !Number.isFinite(challenger)) {
    return [{ name: 'metric_present', passed: false, severity: 'reject', detail: `the evaluation has no finite ${key} for the challenger` }];
  }

  if (gates.floor !== undefined) {
    const meetsFloor = lowerIsBetter ? challenger <= gates.floor : challenger >= gates.floor;
    results.push({
      name: 'floor',
      passed: meetsFloor,
      severity: 'reject',
      detail: `${key} ${fmt(challenger)} ${meetsFloor ? 'meets' : 'misses'} the floor ${gates.floor}`,
    });
  }

  const champion = evaluation.champion?.metrics[key];
  if (champion === undefined) {
    results.push({ name: 'improvement', passed: true, severity: 'reject', detail: 'no champion yet: first model, nothing to beat' });
  } else {
    const gain = better(challenger, champion);
    const passed = gain >= gates.minImprovement - 1e-12;
    results.push({
      name: 'improvement',
      passed,
      severity: 'reject',
      detail: `${key} ${fmt(challenger)} vs champion ${fmt(champion)}: ${gain >= 0 ? '+' : ''}${fmt(gain)} (needs ≥ ${gates.minImprovement})`,
    });
  }

  // Only "higher is better" metrics can be suspiciously high; a near-perfect score usually means a leak.
  if (!lowerIsBetter) {
    const suspicious = challenger >= gates.leakageCeiling;
    results.push({
      name: 'leakage',
      passed: !suspicious,
      severity: gates.onLeakage === 'reject' ? 'reject' : gates.onLeakage === 'require_approval' ? 'approval' : 'warn',
      detail: suspicious ? `${key} ${fmt(challenger)} is at or above the leakage ceiling ${gates.leakageCeiling}: check for label leakage` : `below the leakage ceiling ${gates.leakageCeiling}`,
    });
  }

  for (const slice of gates.slices) {
    const rows = evaluation.slices.filter((s) => s.feature === slice.feature && s.samples >= slice.minSamples);
    const worst = rows.map((s) => ({ ...s, regression: -better(s.challenger, s.champion) })).sort((a, b) => b.regression - a.regression)[0];
    const passed = !worst || worst.regression <= slice.tolerance + 1e-12;
    results.push({
      name: `slice:${slice.feature}`,
      passed,
      severity: 'reject',
      detail: worst
        ? `worst ${slice.feature}=${worst.value}: ${fmt(worst.challenger)} vs ${fmt(worst.champion)} (${worst.samples} samples, tolerance ${slice.tolerance})`
        : `no ${slice.feature} slice with ≥ ${slice.minSamples} samples to compare`,
    });
  }

  if (gates.maxLatencyMs !== undefined) {
    const latency = evaluation.latencyMs;
    const passed = latency !== undefined && latency <= gates.maxLatencyMs;
    results.push({
      name: 'latency',
      passed,
      severity: 'reject',
      detail: latency === undefined ? 'no latency was measured' : `${fmt(latency)} ms per prediction (budget ${gates.maxLatencyMs} ms)`,
    });
  }
  return results;
}

export const rejectingFailures = (results: GateResult[]) => results.filter((r) => !r.passed && r.severity === 'reject');
/**
 * The gates that ask a person before the challenger sees traffic. A gate whose own policy says so
 * (`onLeakage: require_approval`) asks whatever `approval.when` is; with `approval.when: on_flag`
 * every gate that only warned (`onLeakage: warn`, the default) asks as well: on_flag turns the
 * gates' warnings into a question for an approver instead of a line in the report.
 */
export const flaggedForApproval = (results: GateResult[], when?: ApprovalSpec['when']) =>
  results.filter((r) => !r.passed && (r.severity === 'approval' || (r.severity === 'warn' && when === 'on_flag')));

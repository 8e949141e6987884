/**
 * Several Bernoulli CUSUM charts on one matured error stream, each tuned to another size of loss
 * (a multi-chart CUSUM, Lorden & Pollak; Tartakovsky et al.), alarming as soon as any chart does.
 *
 * Why: one CUSUM is fastest for the shift it is tuned to. Tuned to a loss just past the tolerance
 * (the losses a retrain only barely pays for), it needs two to three times the samples of a chart
 * tuned to a large loss when the loss is large: the abrupt concept drifts that cost the most are
 * then confirmed last. A ladder of charts is close to the best delay over the whole range of
 * losses for the price of a slightly higher threshold per chart.
 *
 * False alarms: each chart's threshold is set for `charts × arl` samples of average run length at
 * the null edge (Siegmund's approximation, see arlThreshold), so by the union bound the chance that
 * any chart alarms within a horizon stays at the single chart's design (measured in the tests).
 *
 * State is plain JSON of constant size (one SequentialState per chart): stored between checks and
 * survives worker restarts like the single chart's.
 */
import { DriftInputError, requireNumber } from './common.js';
import { arlThreshold, createDetector, resultOf, update, type ErrorBatch, type SequentialResult, type SequentialState } from './sequential.js';

export interface MultiChartConfig {
  /** The champion's validated error rate (or mean bounded loss), in (0, 1). */
  baseline: number;
  /** The null: worse than the baseline by at most this much is no reason to alarm. */
  tolerance: number;
  /** Shift beyond the null each chart is tuned to catch fastest, smallest first (distinct, > 0). */
  shifts: number[];
  /** Average run length (samples) of the whole set at the null edge; each chart gets charts × arl. */
  arl: number;
  /** Effective memory, in samples, of the reported error-rate estimate (default 2000). */
  window?: number;
  /** Confidence level of the reported interval (default 0.95). */
  confidence?: number;
}

export interface MultiChartState {
  kind: 'multi-chart-cusum';
  version: 1;
  arl: number;
  charts: SequentialState[];
}

export interface MultiChartResult extends SequentialResult {
  /** The chart reported: the first to fire, else the one closest to its threshold. */
  chart: number;
  /** The shift (beyond the null) the reported chart is tuned to. */
  shift: number;
  /** Every chart's statistic and threshold, in the order of `shifts`. */
  charts: Array<{ shift: number; statistic: number; threshold: number; firedAt: number | null }>;
}

export function createMultiChart(config: MultiChartConfig): MultiChartState {
  if (config == null || typeof config !== 'object') throw new DriftInputError('config', 'expected { baseline, tolerance, shifts, arl }');
  const shifts = config.shifts;
  if (!Array.isArray(shifts) || shifts.length === 0) throw new DriftInputError('config.shifts', 'expected a non-empty array of shifts');
  shifts.forEach((s, i) => {
    requireNumber(s, `config.shifts[${i}]`, { min: 0, openMin: true });
    if (i > 0 && !(s > shifts[i - 1])) throw new DriftInputError('config.shifts', `shifts must increase, got ${shifts[i - 1]} then ${s}`);
  });
  const arl = requireNumber(config.arl, 'config.arl', { min: 1 });
  const perChart = arl * shifts.length;
  const charts = shifts.map((detectableShift) =>
    createDetector({
      baseline: config.baseline,
      tolerance: config.tolerance,
      detectableShift,
      threshold: arlThreshold({ baseline: config.baseline, tolerance: config.tolerance, detectableShift, arl: perChart }),
      window: config.window,
      confidence: config.confidence,
    }),
  );
  return { kind: 'multi-chart-cusum', version: 1, arl, charts };
}

/** Whether a stored state is a multi-chart state this version reads (older stores held one chart). */
export function isMultiChart(state: unknown): state is MultiChartState {
  return state != null && typeof state === 'object' && (state as MultiChartState).kind === 'multi-chart-cusum' && (state as MultiChartState).version === 1;
}

function checkState(state: MultiChartState): void {
  if (!isMultiChart(state) || !Array.isArray(state.charts) || state.charts.length === 0) {
    throw new DriftInputError('state', 'expected a state from createMultiChart() (kind multi-chart-cusum, version 1)');
  }
}

/** Feeds the same matured errors to every chart; returns the new state (the input is not modified) and the verdict. */
export function updateMultiChart(state: MultiChartState, batch: ErrorBatch): { state: MultiChartState; result: MultiChartResult } {
  checkState(state);
  const charts = state.charts.map((chart) => update(chart, batch).state);
  const next = { ...state, charts };
  return { state: next, result: multiChartResult(next) };
}

/** The verdict of a state without feeding anything (for reports). */
export function multiChartResult(state: MultiChartState): MultiChartResult {
  checkState(state);
  const results = state.charts.map((chart) => resultOf(chart));
  const firing = results
    .map((r, i) => ({ r, i }))
    .filter(({ r }) => r.firedAt !== null)
    .sort((x, y) => (x.r.firedAt as number) - (y.r.firedAt as number) || x.i - y.i);
  const closest = results.reduce((best, r, i) => (r.statistic / r.threshold > results[best].statistic / results[best].threshold ? i : best), 0);
  const chart = firing.length > 0 ? firing[0].i : closest;
  const reported = results[chart];
  return {
    ...reported,
    fired: firing.length > 0,
    firedAt: firing.length > 0 ? firing[0].r.firedAt : null,
    // The recent-rate estimate is the same stream for every chart; the first chart's is reported.
    estimate: results[0].estimate,
    chart,
    shift: state.charts[chart].config.detectableShift,
    charts: results.map((r, i) => ({ shift: state.charts[i].config.detectableShift, statistic: r.statistic, threshold: r.threshold, firedAt: r.firedAt })),
  };
}

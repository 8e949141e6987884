/**
 * Sequential change detection on the champion's matured error stream: has the
 * live error rate become worse than the champion's own validated baseline by
 * more than a tolerance?
 *
 * Method: a one-sided Bernoulli CUSUM in log-likelihood-ratio form (Page's
 * CUSUM, i.e. Wald's SPRT restarted whenever its statistic drops to zero):
 *   H0: p = p0 = baseline + tolerance      (worse only within the tolerance)
 *   H1: p = p1 = p0 + detectableShift      (worse than the tolerance allows)
 *   S_t = max(0, S_{t-1} + x_t log(p1/p0) + (1 - x_t) log((1-p1)/(1-p0)))
 * and the alarm is raised the first time S_t >= h.
 *
 * Why this one:
 *  - The null is the edge of "not worth a retrain" (baseline + tolerance), not
 *    the baseline itself, so a model that got slightly worse but within the
 *    tolerance does not fire. Centring the statistic at baseline + tolerance/2
 *    (the textbook midpoint) would let a walk with ~zero drift, as a 1-point
 *    rise gives, hit any fixed h eventually.
 *  - The false-alarm rate is provable, not simulated: for any error rate
 *    <= p0, exp(sum of increments) started at any sample is a non-negative
 *    supermartingale, so by Ville's inequality each start crosses h with
 *    probability <= e^-h; a union over the start samples gives
 *    P(alarm within N samples) <= N e^-h. With h = log(horizon / alpha) an
 *    alarm inside `horizon` samples has probability <= alpha, and the average
 *    run length without a change is >= e^h (Lorden). The same holds for a
 *    bounded loss x in [0, 1] (regression: loss / bound, capped at 1), since
 *    exp of the increment is convex in x and a [0, 1] variable is dominated by
 *    the Bernoulli with its mean.
 *  - O(1) state that is plain JSON: it is stored between checks and survives
 *    worker restarts; feed each matured prediction exactly once.
 *  - Expected delay after a change to error rate p is about h / KL-drift,
 *    drift = p log(p1/p0) + (1-p) log((1-p1)/(1-p0)): see expectedDelay().
 *
 * The reported estimate is the exponentially weighted error rate over about
 * the last `window` samples with a Wilson interval at the effective sample
 * size (for a bounded loss the interval is conservative), plus the error rate
 * since the statistic last left zero, the CUSUM's estimate of the change point.
 * Once fired the detector stays in alarm (firedAt) until resetDetector().
 */
import { DriftInputError, requireArrayLike, requireNumber, requireOpenUnit, wilsonInterval } from './common.js';

export interface SequentialConfig {
  /** The champion's validated error rate (or mean bounded loss), in (0, 1). */
  baseline: number;
  /** How much worse than the baseline is still acceptable (default 0.02). */
  tolerance?: number;
  /** Extra shift beyond the tolerance the detector is tuned to catch fastest (default = tolerance). */
  detectableShift?: number;
  /** Bound on P(false alarm within `horizon` samples) while the error rate is <= baseline + tolerance (default 0.01). */
  alpha?: number;
  /** Samples the alpha bound covers (default 100000). */
  horizon?: number;
  /** Explicit alarm threshold h; overrides alpha and horizon. */
  threshold?: number;
  /** Effective memory, in samples, of the reported error-rate estimate (default 2000). */
  window?: number;
  /** Confidence level of the reported interval (default 0.95). */
  confidence?: number;
}

export type ResolvedSequentialConfig = Required<SequentialConfig>;

export interface SequentialState {
  kind: 'bernoulli-cusum';
  version: 1;
  config: ResolvedSequentialConfig;
  statistic: number;
  /** Samples seen since createDetector(). */
  samples: number;
  /** Samples and summed errors since the statistic last was zero (the estimated change point). */
  run: { count: number; errors: number };
  /** Exponentially weighted sums: weights, weighted errors, squared weights. */
  recent: { weight: number; errors: number; weight2: number };
  /** Sample count at which the alarm was raised, or null. */
  firedAt: number | null;
}

export interface SequentialResult {
  fired: boolean;
  statistic: number;
  threshold: number;
  samples: number;
  firedAt: number | null;
  estimate: { errorRate: number | null; lower: number; upper: number; effectiveSamples: number };
  sinceChange: { samples: number; errorRate: number | null };
}

export type ErrorBatch = { errors: number; count: number } | ArrayLike<number>;

export const SEQUENTIAL_DEFAULTS = Object.freeze({ tolerance: 0.02, alpha: 0.01, horizon: 100_000, window: 2000, confidence: 0.95 });

/** h = log(horizon / alpha): P(alarm within horizon samples | no material change) <= alpha. */
export function detectorThreshold(alpha: number, horizon: number): number {
  requireOpenUnit(alpha, 'alpha');
  requireNumber(horizon, 'horizon', { min: 1 });
  return Math.log(horizon / alpha);
}

/**
 * h for an average run length of `arl` samples while the error rate sits exactly at the tolerance
 * edge (p0), by Siegmund's approximation for a CUSUM of log-likelihood ratios: ARL0 ≈
 * (e^h − h − 1) / KL(p0 ‖ p1). Far less conservative than the union bound ln(horizon/alpha) (whose
 * real ARL is orders of magnitude above its promise), so evidence suffices sooner; it is an
 * approximation, so the rate it gives is checked by simulation in the tests. A model below the
 * edge (the usual case: at its baseline) drifts down faster and alarms far more rarely still.
 */
export function arlThreshold(config: { baseline: number; tolerance?: number; detectableShift?: number; arl: number }): number {
  const tolerance = config.tolerance ?? SEQUENTIAL_DEFAULTS.tolerance;
  const p0 = requireOpenUnit(config.baseline, 'baseline') + tolerance;
  const p1 = p0 + (config.detectableShift ?? tolerance);
  if (!(p1 < 1)) throw new DriftInputError('config', `baseline + tolerance + detectableShift must be < 1, got ${p1}`);
  const arl = requireNumber(config.arl, 'arl', { min: 1 });
  const kl = p0 * Math.log(p0 / p1) + (1 - p0) * Math.log((1 - p0) / (1 - p1));
  let lo = 0;
  let hi = 1;
  while ((Math.exp(hi) - hi - 1) / kl < arl) hi *= 2;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if ((Math.exp(mid) - mid - 1) / kl < arl) lo = mid;
    else hi = mid;
  }
  return hi;
}

function resolveConfig(config: SequentialConfig): ResolvedSequentialConfig {
  if (config == null || typeof config !== 'object') throw new DriftInputError('config', 'expected { baseline, ... }');
  const baseline = requireOpenUnit(config.baseline, 'config.baseline');
  const tolerance = requireNumber(config.tolerance ?? SEQUENTIAL_DEFAULTS.tolerance, 'config.tolerance', { min: 0 });
  const detectableShift = requireNumber(config.detectableShift ?? tolerance, 'config.detectableShift', { min: 0, openMin: true });
  if (!(baseline + tolerance + detectableShift < 1)) {
    throw new DriftInputError('config', `baseline + tolerance + detectableShift must be < 1, got ${baseline} + ${tolerance} + ${detectableShift}`);
  }
  const alpha = requireOpenUnit(config.alpha ?? SEQUENTIAL_DEFAULTS.alpha, 'config.alpha');
  const horizon = requireNumber(config.horizon ?? SEQUENTIAL_DEFAULTS.horizon, 'config.horizon', { min: 1 });
  const threshold = config.threshold === undefined ? detectorThreshold(alpha, horizon) : requireNumber(config.threshold, 'config.threshold', { min: 0, openMin: true });
  const window = requireNumber(config.window ?? SEQUENTIAL_DEFAULTS.window, 'config.window', { min: 1, openMin: true });
  const confidence = requireOpenUnit(config.confidence ?? SEQUENTIAL_DEFAULTS.confidence, 'config.confidence');
  return { baseline, tolerance, detectableShift, alpha, horizon, threshold, window, confidence };
}

/** Log-likelihood-ratio increments for an error (a) and a success (b). */
function increments(c: ResolvedSequentialConfig): { a: number; b: number } {
  const p0 = c.baseline + c.tolerance;
  const p1 = p0 + c.detectableShift;
  return { a: Math.log(p1 / p0), b: Math.log((1 - p1) / (1 - p0)) };
}

/** Approximate samples to alarm once the error rate is `errorRate` (Wald: h / drift); Infinity when it drifts down. */
export function expectedDelay(config: SequentialConfig, errorRate: number): number {
  const c = resolveConfig(config);
  requireNumber(errorRate, 'errorRate', { min: 0, max: 1 });
  const { a, b } = increments(c);
  const drift = errorRate * a + (1 - errorRate) * b;
  return drift > 0 ? c.threshold / drift : Infinity;
}

export function createDetector(config: SequentialConfig): SequentialState {
  return {
    kind: 'bernoulli-cusum', version: 1, config: resolveConfig(config), statistic: 0, samples: 0,
    run: { count: 0, errors: 0 }, recent: { weight: 0, errors: 0, weight2: 0 }, firedAt: null,
  };
}

/** The same detector with its evidence cleared (after a pipeline ran, for example). */
export function resetDetector(state: SequentialState): SequentialState {
  checkState(state);
  return { ...createDetector(state.config), samples: state.samples };
}

function checkState(state: SequentialState): void {
  if (state == null || typeof state !== 'object' || state.kind !== 'bernoulli-cusum' || state.version !== 1) {
    throw new DriftInputError('state', 'expected a state from createDetector() (kind bernoulli-cusum, version 1)');
  }
  resolveConfig(state.config);
  const numbers: Array<[string, unknown]> = [
    ['statistic', state.statistic], ['samples', state.samples], ['run.count', state.run?.count], ['run.errors', state.run?.errors],
    ['recent.weight', state.recent?.weight], ['recent.errors', state.recent?.errors], ['recent.weight2', state.recent?.weight2],
  ];
  for (const [name, v] of numbers) requireNumber(v, `state.${name}`, { min: 0 });
  if (state.firedAt !== null) requireNumber(state.firedAt, 'state.firedAt', { min: 0 });
}

function checkBatch(batch: ErrorBatch): Float64Array | { errors: number; count: number } {
  if (batch != null && typeof batch === 'object' && 'count' in batch && !('length' in batch)) {
    const count = requireNumber(batch.count, 'batch.count', { min: 0, integer: true });
    const errors = requireNumber(batch.errors, 'batch.errors', { min: 0, max: count });
    return { errors, count };
  }
  const a = requireArrayLike(batch, 'batch', 'an array of errors in [0, 1] or { errors, count }');
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    if (typeof x !== 'number' || !(x >= 0 && x <= 1)) throw new DriftInputError('batch', `value at index ${i} must be an error in [0, 1], got ${String(x)}`);
    out[i] = x;
  }
  return out;
}

/**
 * Feeds matured errors and returns the new state (the input is not modified)
 * with the verdict. An array is processed sample by sample (identical to
 * feeding one sample at a time); { errors, count } is applied as one
 * increment, since the order inside it is unknown. Its statistic is never
 * above the per-sample one (it resets at zero less often), so it never
 * alarms earlier and keeps the false-alarm bound.
 */
export function update(state: SequentialState, batch: ErrorBatch): { state: SequentialState; result: SequentialResult } {
  checkState(state);
  const input = checkBatch(batch);
  const c = state.config;
  const { a, b } = increments(c);
  const lambda = 1 - 1 / c.window;
  let { statistic: s, samples, firedAt } = state;
  let { count: runCount, errors: runErrors } = state.run;
  let { weight: w, errors: we, weight2: w2 } = state.recent;
  if (input instanceof Float64Array) {
    for (let i = 0; i < input.length; i++) {
      const x = input[i];
      s += b + x * (a - b);
      samples++;
      if (s <= 0) { s = 0; runCount = 0; runErrors = 0; } else { runCount++; runErrors += x; }
      if (firedAt === null && s >= c.threshold) firedAt = samples;
      w = lambda * w + 1;
      we = lambda * we + x;
      w2 = lambda * lambda * w2 + 1;
    }
  } else if (input.count > 0) {
    const { errors, count } = input;
    s += errors * a + (count - errors) * b;
    samples += count;
    if (s <= 0) { s = 0; runCount = 0; runErrors = 0; } else { runCount += count; runErrors += errors; }
    if (firedAt === null && s >= c.threshold) firedAt = samples;
    const decay = Math.pow(lambda, count);
    const added = (1 - decay) / (1 - lambda);
    w = decay * w + added;
    we = decay * we + (errors / count) * added;
    w2 = decay * decay * w2 + (1 - decay * decay) / (1 - lambda * lambda);
  }
  const next: SequentialState = {
    ...state, statistic: s, samples, firedAt, run: { count: runCount, errors: runErrors }, recent: { weight: w, errors: we, weight2: w2 },
  };
  return { state: next, result: resultOf(next) };
}

/** The verdict of a state without feeding anything (for reports). */
export function resultOf(state: SequentialState): SequentialResult {
  checkState(state);
  const { weight, errors, weight2 } = state.recent;
  const effective = weight2 > 0 ? (weight * weight) / weight2 : 0;
  const rate = weight > 0 ? Math.min(1, errors / weight) : null;
  const interval = rate === null ? { lower: 0, upper: 1 } : wilsonInterval(rate * effective, effective, state.config.confidence);
  return {
    fired: state.firedAt !== null,
    statistic: state.statistic,
    threshold: state.config.threshold,
    samples: state.samples,
    firedAt: state.firedAt,
    estimate: { errorRate: rate, ...interval, effectiveSamples: effective },
    sinceChange: { samples: state.run.count, errorRate: state.run.count > 0 ? state.run.errors / state.run.count : null },
  };
}

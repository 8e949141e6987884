/**
 * Drift thresholds calibrated from the reference itself: how large does the
 * statistic get when a monitor window of n rows comes from the reference's
 * own distribution? Draw B windows of size n from the reference, score each
 * against the rest of the reference (or the whole reference) with the same
 * statistic the monitor uses, and take an upper quantile of the scores (a
 * lower quantile for p-values). The threshold then follows the window size
 * (PSI's noise floor is about (bins - 1)(1/n + 1/N)) and the structure of the
 * reference.
 *
 * blocks: 'random' draws n rows at random (iid windows); 'contiguous' takes
 * B evenly spaced runs of n consecutive rows, for a reference in time order:
 * a window that sees only part of a weekly cycle differs from the whole
 * reference even when nothing changed, and that variation raises the
 * threshold instead of firing every check.
 *
 * compare: 'rest' (default) scores the window against the reference minus
 * the window (disjoint, no self-overlap bias); 'reference' against the whole
 * reference, as a window is compared with a profile built from all of it.
 * PSI always uses bins from the whole reference, as the profile stores them.
 * Missing values (null, NaN, ...) are dropped first, as the monitor ignores
 * them. Deterministic for a given seed.
 */
import { chiSquare, jensenShannonFromProportions } from '../categorical.js';
import { finiteValues } from '../data.js';
import { ksTest } from '../ks.js';
import { categoryKey } from '../profile.js';
import { binCounts, flooredProportions, psiBinEdgesOf, psiFromProportions } from '../psi.js';
import { wasserstein } from '../wasserstein.js';
import { DriftInputError, linearQuantile, partialShuffle, requireArrayLike, requireNumber, requireOpenUnit, seededRandom } from './common.js';

export type BuiltInStatistic = 'psi' | 'ks' | 'wasserstein' | 'jensen_shannon' | 'chi_square';
export type Direction = 'higher-is-drift' | 'lower-is-drift';

/** A statistic of your own on numerical data: compute(reference, window). */
export interface CustomStatistic {
  name: string;
  direction: Direction;
  compute: (reference: Float64Array, window: Float64Array) => number;
}

export interface ThresholdCalibrationOptions {
  /** Rows in one monitor window. */
  windowSize: number;
  statistic: BuiltInStatistic | CustomStatistic;
  /** Share of reference windows that must pass (default 0.99). */
  quantile?: number;
  /** Windows drawn (default 200). */
  draws?: number;
  seed?: number;
  blocks?: 'random' | 'contiguous';
  compare?: 'rest' | 'reference';
  /** PSI bins (default 10, the profile's default). */
  bins?: number;
}

export interface CalibratedThreshold {
  statistic: string;
  direction: Direction;
  threshold: number;
  /** Quantile of the draws the threshold is (1 - quantile for p-values). */
  level: number;
  windowSize: number;
  referenceSize: number;
  draws: number;
  blocks: 'random' | 'contiguous';
  compare: 'rest' | 'reference';
  /** The drawn statistics' spread, for reports. */
  distribution: { min: number; median: number; max: number };
}

const NUMERICAL = new Set(['psi', 'ks', 'wasserstein']);
const CATEGORICAL = new Set(['jensen_shannon', 'chi_square']);

/**
 * Scores one window given its row indices; rest() gives the other rows' indices
 * (null when comparing with the whole reference). Counting statistics never
 * call it: their rest is the total minus the window.
 */
type WindowScorer = (window: Int32Array, rest: (() => Int32Array) | null) => number;

function gather(values: Float64Array, idx: Int32Array): Float64Array {
  const out = new Float64Array(idx.length);
  for (let i = 0; i < idx.length; i++) out[i] = values[idx[i]];
  return out;
}

function numericalScorer(values: Float64Array, statistic: 'psi' | 'ks' | 'wasserstein' | CustomStatistic, bins: number): WindowScorer {
  if (statistic === 'psi') {
    const edges = psiBinEdgesOf(values, bins);
    const total = binCounts(values, edges);
    return (window, rest) => {
      const w = binCounts(gather(values, window), edges);
      const refCounts = rest ? total.map((c, i) => c - w[i]) : total;
      const refN = rest ? values.length - window.length : values.length;
      return psiFromProportions(flooredProportions(refCounts, refN), flooredProportions(w, window.length));
    };
  }
  const compute = statistic === 'ks'
    ? (r: Float64Array, w: Float64Array) => ksTest(r, w).pValue
    : statistic === 'wasserstein' ? wasserstein : statistic.compute;
  return (window, rest) => compute(rest ? gather(values, rest()) : values, gather(values, window));
}

function categoricalScorer(column: ArrayLike<unknown>, statistic: 'jensen_shannon' | 'chi_square'): { rows: number; score: WindowScorer } {
  const slot = new Map<string, number>();
  const codes: number[] = [];
  for (let i = 0; i < column.length; i++) {
    const key = categoryKey(column[i]);
    if (key === null) continue;
    if (!slot.has(key)) slot.set(key, slot.size);
    codes.push(slot.get(key) as number);
  }
  const names = Array.from(slot.keys());
  const total = new Float64Array(names.length);
  for (const c of codes) total[c]++;
  const score: WindowScorer = (window, rest) => {
    const w = new Float64Array(names.length);
    for (let i = 0; i < window.length; i++) w[codes[window[i]]]++;
    const ref = rest ? total.map((c, i) => c - w[i]) : total;
    if (statistic === 'chi_square') {
      const asMap = (counts: Float64Array) => new Map(names.map((k, i) => [k, counts[i]] as [string, number]));
      return chiSquare(asMap(ref), asMap(w)).pValue;
    }
    const refN = ref.reduce((a, b) => a + b, 0);
    return jensenShannonFromProportions(ref.map((c) => c / refN), w.map((c) => c / window.length));
  };
  return { rows: codes.length, score };
}

function checkOptions(options: ThresholdCalibrationOptions) {
  if (options == null || typeof options !== 'object') throw new DriftInputError('options', 'expected { windowSize, statistic, ... }');
  const s = options.statistic;
  const custom = typeof s === 'object' && s !== null;
  if (custom) {
    if (typeof s.compute !== 'function' || typeof s.name !== 'string') throw new DriftInputError('options.statistic', 'a custom statistic needs a name and compute(reference, window)');
    if (s.direction !== 'higher-is-drift' && s.direction !== 'lower-is-drift') throw new DriftInputError('options.statistic.direction', `must be 'higher-is-drift' or 'lower-is-drift', got ${String(s.direction)}`);
  } else if (!NUMERICAL.has(s as string) && !CATEGORICAL.has(s as string)) {
    throw new DriftInputError('options.statistic', `must be psi, ks, wasserstein, jensen_shannon, chi_square or a custom statistic, got ${String(s)}`);
  }
  const blocks = options.blocks ?? 'random';
  if (blocks !== 'random' && blocks !== 'contiguous') throw new DriftInputError('options.blocks', `must be 'random' or 'contiguous', got ${String(blocks)}`);
  const compare = options.compare ?? 'rest';
  if (compare !== 'rest' && compare !== 'reference') throw new DriftInputError('options.compare', `must be 'rest' or 'reference', got ${String(compare)}`);
  return {
    statistic: s,
    name: custom ? s.name : (s as BuiltInStatistic),
    direction: (custom ? s.direction : s === 'ks' || s === 'chi_square' ? 'lower-is-drift' : 'higher-is-drift') as Direction,
    windowSize: requireNumber(options.windowSize, 'options.windowSize', { min: 1, integer: true }),
    quantile: requireOpenUnit(options.quantile ?? 0.99, 'options.quantile'),
    draws: requireNumber(options.draws ?? 200, 'options.draws', { min: 2, integer: true }),
    seed: requireNumber(options.seed ?? 42, 'options.seed', { integer: true }),
    bins: requireNumber(options.bins ?? 10, 'options.bins', { min: 1, integer: true }),
    blocks,
    compare,
  };
}

/** The row indices of each drawn window, in turn, with the rest when compare is 'rest'. */
function* windows(rows: number, o: ReturnType<typeof checkOptions>): Generator<[Int32Array, (() => Int32Array) | null]> {
  const n = o.windowSize;
  const withRest = o.compare === 'rest';
  if (o.blocks === 'contiguous') {
    for (let k = 0; k < o.draws; k++) {
      const start = Math.round((k * (rows - n)) / (o.draws - 1));
      const window = Int32Array.from({ length: n }, (_, i) => start + i);
      const rest = withRest ? () => Int32Array.from({ length: rows - n }, (_, i) => (i < start ? i : i + n)) : null;
      yield [window, rest];
    }
    return;
  }
  const random = seededRandom(o.seed, 'calibrated-thresholds');
  const perm = Int32Array.from({ length: rows }, (_, i) => i);
  for (let k = 0; k < o.draws; k++) {
    partialShuffle(perm, n, random);
    // Sorted indices keep the rows in their original order inside each side.
    yield [perm.slice(0, n).sort(), withRest ? () => perm.slice(n).sort() : null];
  }
}

/**
 * Threshold for `statistic` on windows of `windowSize` rows, calibrated on the
 * reference column (numbers for psi/ks/wasserstein/custom, categories for
 * jensen_shannon/chi_square), in time order when blocks is 'contiguous'.
 */
export function calibrateThreshold(reference: ArrayLike<unknown>, options: ThresholdCalibrationOptions): CalibratedThreshold {
  requireArrayLike(reference, 'reference', 'an array of reference values');
  const o = checkOptions(options);
  let rows: number;
  let score: WindowScorer;
  if (typeof o.statistic === 'string' && CATEGORICAL.has(o.statistic)) {
    ({ rows, score } = categoricalScorer(reference, o.statistic as 'jensen_shannon' | 'chi_square'));
  } else {
    const values = finiteValues(reference as ArrayLike<number>).values;
    rows = values.length;
    score = numericalScorer(values, o.statistic as 'psi' | 'ks' | 'wasserstein' | CustomStatistic, o.bins);
  }
  const limit = o.compare === 'rest' ? rows - 1 : rows;
  if (o.windowSize > limit) {
    throw new DriftInputError('options.windowSize', `${o.windowSize} needs a reference of more than ${o.windowSize} non-missing values (compare '${o.compare}'), got ${rows}`);
  }
  const scores = new Float64Array(o.draws);
  let k = 0;
  for (const [window, rest] of windows(rows, o)) {
    const s = score(window, rest);
    if (!Number.isFinite(s)) throw new DriftInputError('options.statistic', `${o.name} returned ${s} for draw ${k}`);
    scores[k++] = s;
  }
  const level = o.direction === 'higher-is-drift' ? o.quantile : 1 - o.quantile;
  const threshold = linearQuantile(scores, level);
  return {
    statistic: o.name, direction: o.direction, threshold, level, windowSize: o.windowSize, referenceSize: rows,
    draws: o.draws, blocks: o.blocks, compare: o.compare,
    distribution: { min: scores[0], median: linearQuantile(scores, 0.5), max: scores[scores.length - 1] },
  };
}

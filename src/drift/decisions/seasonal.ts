/**
 * The seasonal part of a reference's own variation: how much more a drift statistic moves between
 * windows of consecutive rows (as a monitor window sees them) than between windows of rows drawn at
 * random. A reference with a daily or weekly cycle that a monitor window sees only part of gives
 * consecutive windows far from the whole reference even though nothing changed; random windows
 * carry only sampling noise, which the monitor's analytic noise floor already covers and which
 * shrinks as the window grows. The difference of their 99th percentiles is what the cycle adds,
 * and the monitor adds it to the noise floor of each check's own window size (the seed's advice:
 * "set thresholds where false positives are rare, from historical data").
 *
 * 0 for a reference without time structure (up to the draws' own noise, so small negative
 * differences are clamped). Only distances (PSI, Jensen–Shannon) are covered: they add; a p-value
 * depends on the sample size in a way a fixed allowance cannot follow.
 */
import type { DriftProfile } from '../profile.js';
import { calibrateThreshold } from './calibrated-thresholds.js';
import { DriftInputError, requireNumber } from './common.js';

export type SeasonalStatistic = 'psi' | 'jensen_shannon';

/**
 * statistic; windowSize: rows of the windows compared (what a monitor window held in the
 * reference); contiguous / random: the 99th percentile over windows of consecutive rows and over
 * windows of random rows; excess = max(0, contiguous − random), what the time structure adds.
 */
export type SeasonalAllowance = NonNullable<DriftProfile['seasonality']>['features'][string];

export interface SeasonalOptions {
  windowSize: number;
  statistic: SeasonalStatistic;
  /** PSI bins (default 10, the profile's). */
  bins?: number;
  /** Windows drawn each way (default 200). */
  draws?: number;
  quantile?: number;
}

/**
 * The allowance for one column in time order (numbers for PSI, categories for Jensen–Shannon), or
 * null when the reference holds fewer than four windows: too short to tell a cycle from a trend.
 */
export function seasonalAllowance(columnInTimeOrder: ArrayLike<unknown>, options: SeasonalOptions): SeasonalAllowance | null {
  if (options.statistic !== 'psi' && options.statistic !== 'jensen_shannon') {
    throw new DriftInputError('options.statistic', `must be psi or jensen_shannon, got ${String(options.statistic)}`);
  }
  const windowSize = requireNumber(options.windowSize, 'options.windowSize', { min: 1, integer: true });
  const present = countPresent(columnInTimeOrder);
  if (present < 4 * windowSize) return null;
  const common = { windowSize, statistic: options.statistic, bins: options.bins, draws: options.draws ?? 200, quantile: options.quantile ?? 0.99, compare: 'reference' as const };
  const contiguous = calibrateThreshold(columnInTimeOrder, { ...common, blocks: 'contiguous' }).threshold;
  const random = calibrateThreshold(columnInTimeOrder, { ...common, blocks: 'random' }).threshold;
  return { statistic: options.statistic, windowSize, contiguous, random, excess: Math.max(0, contiguous - random) };
}

function countPresent(column: ArrayLike<unknown>): number {
  let n = 0;
  for (let i = 0; i < column.length; i++) {
    const v = column[i];
    if (v === null || v === undefined) continue;
    if (typeof v === 'number' && !Number.isFinite(v)) continue;
    n++;
  }
  return n;
}

import type { FeatureSpec } from '../../config/schema.js';
import { categoryAt, type CategoricalColumn, type FeatureColumns, isEncodedCategorical } from '../models/columns.js';
import type { LinearFeature } from '../models/format.js';

/**
 * Fits the preprocessing a feature spec implies, on the training split only (statistics from
 * validation or holdout would leak):
 * - numerical: mean and population std of the present values; missing values are imputed with
 *   the mean (so they standardise to 0); a constant column gets std 1;
 * - categorical: the declared `categories` when the spec lists them, otherwise the training
 *   values seen at least `minCount` times, most frequent first (ties by value, so the layout is
 *   deterministic), capped at `maxCategories`; everything else (unseen, rare, missing) shares
 *   the unknown bucket.
 */
export interface PreprocessOptions {
  maxCategories?: number;
  minCount?: number;
}

export function fitPreprocessing(features: readonly FeatureSpec[], columns: FeatureColumns, rows: number, options: PreprocessOptions = {}): LinearFeature[] {
  const maxCategories = options.maxCategories ?? 1000;
  const minCount = options.minCount ?? 1;
  return features.map((f): LinearFeature => {
    const column = columns[f.name];
    if (column === undefined) throw new TypeError(`missing feature column "${f.name}"`);
    if (f.type === 'numerical') {
      const { mean, std } = meanStdPresent(column as Float64Array | readonly (number | null | undefined)[], rows);
      return { name: f.name, type: 'numerical', mean, std, impute: mean };
    }
    if (f.categories && f.categories.length > 0) {
      return { name: f.name, type: 'categorical', vocabulary: [...new Set(f.categories)] };
    }
    const counts = categoryCounts(column as CategoricalColumn, rows);
    const vocabulary = [...counts.entries()]
      .filter(([, n]) => n >= minCount)
      .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
      .slice(0, maxCategories)
      .map(([value]) => value);
    return { name: f.name, type: 'categorical', vocabulary };
  });
}

function meanStdPresent(column: Float64Array | readonly (number | null | undefined)[], rows: number): { mean: number; std: number } {
  let n = 0;
  let sum = 0;
  for (let i = 0; i < rows; i++) {
    const v = column[i];
    if (typeof v === 'number' && Number.isFinite(v)) {
      n++;
      sum += v;
    }
  }
  if (n === 0) return { mean: 0, std: 1 };
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < rows; i++) {
    const v = column[i];
    if (typeof v === 'number' && Number.isFinite(v)) ss += (v - mean) * (v - mean);
  }
  const std = Math.sqrt(ss / n);
  return { mean, std: std > 1e-12 * Math.max(1, Math.abs(mean)) ? std : 1 };
}

function categoryCounts(column: CategoricalColumn, rows: number): Map<string, number> {
  const counts = new Map<string, number>();
  if (isEncodedCategorical(column)) {
    const byCode = new Float64Array(column.dictionary.length);
    for (let i = 0; i < rows; i++) {
      const code = column.codes[i];
      if (code >= 0) byCode[code]++;
    }
    column.dictionary.forEach((value, code) => {
      if (byCode[code] > 0) counts.set(value, (counts.get(value) ?? 0) + byCode[code]);
    });
    return counts;
  }
  for (let i = 0; i < rows; i++) {
    const v = categoryAt(column, i);
    if (v !== null) counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  return counts;
}

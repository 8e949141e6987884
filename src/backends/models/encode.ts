import { categoryAt, type CategoricalColumn, type FeatureColumns, isEncodedCategorical, type NumericColumn } from './columns.js';
import { type LinearFeature, weightOffsets } from './format.js';

/**
 * Feature columns → the design a linear model multiplies. The trainer and every scorer call this
 * one function, so preprocessing cannot drift between training and serving.
 *
 * One-hot features are kept sparse: each categorical feature contributes exactly one active
 * weight per row, stored as that weight's index. A row's score is then
 * `bias + Σ numeric[i,j]·w[numericIndex[j]] + Σ w[codes[i,k]]`, far cheaper than a dense matrix.
 */
export interface EncodedDesign {
  rows: number;
  /** Standardised, imputed numerical values, rows × numericIndex.length, row-major. */
  numeric: Float64Array;
  /** Weight index of each numerical column. */
  numericIndex: Int32Array;
  /** Active one-hot weight per row and categorical feature, rows × categoricalCount, row-major. */
  codes: Int32Array;
  categoricalCount: number;
  /** Rows whose category fell in the unknown bucket (unseen or missing), per categorical feature. */
  unknownCounts: number[];
}

export function encode(features: readonly LinearFeature[], columns: FeatureColumns, rows: number): EncodedDesign {
  const offsets = weightOffsets(features);
  const numerical = features.map((f, i) => ({ f, offset: offsets[i] })).filter((x) => x.f.type === 'numerical');
  const categorical = features.map((f, i) => ({ f, offset: offsets[i] })).filter((x) => x.f.type === 'categorical');
  const p = numerical.length;
  const c = categorical.length;
  const numeric = new Float64Array(rows * p);
  const codes = new Int32Array(rows * c);

  numerical.forEach(({ f }, j) => {
    if (f.type !== 'numerical') return;
    const column = columns[f.name] as NumericColumn | undefined;
    if (column === undefined) throw new TypeError(`missing feature column "${f.name}"`);
    const { mean, std, impute } = f;
    const filled = (impute - mean) / std;
    if (column instanceof Float64Array) {
      for (let i = 0; i < rows; i++) {
        const v = column[i];
        numeric[i * p + j] = Number.isFinite(v) ? (v - mean) / std : filled;
      }
    } else {
      for (let i = 0; i < rows; i++) {
        const v = column[i];
        numeric[i * p + j] = typeof v === 'number' && Number.isFinite(v) ? (v - mean) / std : filled;
      }
    }
  });

  const unknownCounts = categorical.map(({ f, offset }, k) => {
    if (f.type !== 'categorical') return 0;
    const column = columns[f.name] as CategoricalColumn | undefined;
    if (column === undefined) throw new TypeError(`missing feature column "${f.name}"`);
    const unknown = offset + f.vocabulary.length;
    const index = new Map(f.vocabulary.map((v, at) => [v, offset + at]));
    let unknownCount = 0;
    if (isEncodedCategorical(column)) {
      // Translate the dictionary once, then each row is an array lookup.
      const translate = Int32Array.from(column.dictionary, (v) => index.get(v) ?? unknown);
      for (let i = 0; i < rows; i++) {
        const code = column.codes[i];
        const w = code >= 0 && code < translate.length ? translate[code] : unknown;
        if (w === unknown) unknownCount++;
        codes[i * c + k] = w;
      }
    } else {
      for (let i = 0; i < rows; i++) {
        const v = categoryAt(column, i);
        const w = v === null ? unknown : (index.get(v) ?? unknown);
        if (w === unknown) unknownCount++;
        codes[i * c + k] = w;
      }
    }
    return unknownCount;
  });

  return { rows, numeric, numericIndex: Int32Array.from(numerical, (x) => x.offset), codes, categoricalCount: c, unknownCounts };
}

/** Linear scores z = bias + w·x for every row of a design. */
export function linearScores(design: EncodedDesign, weights: ArrayLike<number>, bias: number, out = new Float64Array(design.rows)): Float64Array {
  const { rows, numeric, numericIndex, codes, categoricalCount: c } = design;
  const p = numericIndex.length;
  const wNum = Float64Array.from(numericIndex, (idx) => weights[idx]);
  for (let i = 0; i < rows; i++) {
    let z = bias;
    const base = i * p;
    for (let j = 0; j < p; j++) z += numeric[base + j] * wNum[j];
    const cbase = i * c;
    for (let k = 0; k < c; k++) z += weights[codes[cbase + k]];
    out[i] = z;
  }
  return out;
}

export function sigmoid(z: number): number {
  if (z >= 0) return 1 / (1 + Math.exp(-z));
  const e = Math.exp(z);
  return e / (1 + e);
}

/** Row-wise softmax of rows × k scores in place, stable (each row shifted by its maximum). */
export function softmaxRows(z: Float64Array, k: number, rows: number): Float64Array {
  for (let i = 0; i < rows; i++) {
    const base = i * k;
    let max = z[base];
    for (let c = 1; c < k; c++) if (z[base + c] > max) max = z[base + c];
    let sum = 0;
    for (let c = 0; c < k; c++) {
      const e = Math.exp(z[base + c] - max);
      z[base + c] = e;
      sum += e;
    }
    for (let c = 0; c < k; c++) z[base + c] /= sum;
  }
  return z;
}

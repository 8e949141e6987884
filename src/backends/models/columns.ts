/**
 * Column-wise feature data, the one input shape every scorer works on. Rows from the gateway and
 * Parquet batches from evaluation both become these columns, so there is a single scoring path.
 *
 * Missing values: a numerical column holds NaN (or null in a plain array); a categorical column
 * holds null (plain array) or code -1 (dictionary-encoded).
 */

/** A categorical column as codes into a dictionary: what the Parquet reader produces cheaply. */
export interface EncodedCategorical {
  codes: Int32Array;
  dictionary: readonly string[];
}

export type NumericColumn = Float64Array | readonly (number | null | undefined)[];
export type CategoricalColumn = EncodedCategorical | readonly (string | null | undefined)[];
export type FeatureColumn = NumericColumn | CategoricalColumn;

/** Feature name → column; all columns have the same length. */
export type FeatureColumns = Record<string, FeatureColumn>;

export type FeatureValue = number | string | null | undefined;
export type FeatureRow = Record<string, FeatureValue>;

export interface FeatureDef {
  name: string;
  type: 'numerical' | 'categorical';
}

export function isEncodedCategorical(column: FeatureColumn | undefined): column is EncodedCategorical {
  return typeof column === 'object' && column !== null && !Array.isArray(column) && 'codes' in column;
}

export function columnLength(column: FeatureColumn): number {
  return isEncodedCategorical(column) ? column.codes.length : column.length;
}

/** Row count of a column set; refuses ragged columns, which would silently misalign features. */
export function rowCountOf(columns: FeatureColumns, features: readonly FeatureDef[]): number {
  let count = -1;
  for (const f of features) {
    const column = columns[f.name];
    if (column === undefined) throw new TypeError(`missing feature column "${f.name}"`);
    const length = columnLength(column);
    if (count >= 0 && length !== count) {
      throw new TypeError(`feature column "${f.name}" has ${length} values, expected ${count} like the others`);
    }
    count = length;
  }
  return Math.max(count, 0);
}

/** Numeric value i of a column, NaN when missing (null, undefined, NaN, or a non-number). */
export function numericAt(column: NumericColumn, i: number): number {
  const v = column[i];
  return typeof v === 'number' ? v : Number.NaN;
}

/** Category i of a plain or encoded column, null when missing. */
export function categoryAt(column: CategoricalColumn, i: number): string | null {
  if (isEncodedCategorical(column)) {
    const code = column.codes[i];
    return code >= 0 ? (column.dictionary[code] ?? null) : null;
  }
  const v = column[i];
  return v === null || v === undefined ? null : String(v);
}

/**
 * Rows → columns. Numerical values must be numbers (or numeric strings, as JSON clients send);
 * anything else is a clear error rather than a silent NaN.
 */
export function rowsToColumns(rows: readonly FeatureRow[], features: readonly FeatureDef[]): FeatureColumns {
  const columns: FeatureColumns = {};
  for (const f of features) {
    if (f.type === 'numerical') {
      const values = new Float64Array(rows.length);
      rows.forEach((row, i) => {
        const v = row[f.name];
        if (v === null || v === undefined || v === '') values[i] = Number.NaN;
        else if (typeof v === 'number') values[i] = v;
        else {
          const parsed = Number(v);
          if (!Number.isFinite(parsed)) throw new TypeError(`row ${i}: feature "${f.name}" is numerical, got ${JSON.stringify(v)}`);
          values[i] = parsed;
        }
      });
      columns[f.name] = values;
    } else {
      columns[f.name] = rows.map((row) => {
        const v = row[f.name];
        return v === null || v === undefined ? null : String(v);
      });
    }
  }
  return columns;
}

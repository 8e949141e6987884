import { LIST, listValue, VARCHAR, type DuckDBConnection, type DuckDBMaterializedResult, type DuckDBVector } from '@duckdb/node-api';
import type { FeatureColumn } from '../types.js';

/**
 * Moving query results into JS columns. Measured on a 7-day window of 2.1M rows x 25 features (on
 * the shared 2-core dev VM): value-by-value getItem() took ~3.5 s for the 20 numerical columns and
 * ~5.7 s to decode the 5 string columns, while copying whole vectors took ~0.8 s and turning the
 * categories into dictionary codes in SQL ~0.5 s. So numerical columns leave SQL with NULL already
 * mapped to NaN and are copied a vector at a time, and categorical columns leave as small integer
 * codes indexing a dictionary of their distinct values.
 *
 * The dictionary reaches SQL only as a bound parameter: dictionaries() creates a temporary ENUM
 * type per column from a LIST(VARCHAR) parameter, and the coding expression names that type. A
 * category holding a quote or a NUL byte (the lake may hold such values from older versions) is
 * data to DuckDB, never SQL text. Coding through the type costs about what the literal lists did
 * (300k rows x 25 features: ~0.6 s CPU either way); a type-backed ENUM cast beats a linear
 * list_position from ~30 values up (2M rows: 200 values 0.12 s vs 0.45 s CPU; 4 values 0.11 s vs
 * 0.08 s), hence the threshold below.
 */

/** How one result column becomes a JS column. */
export type ColumnPlan =
  | { kind: 'double' }
  /** Codes 0 = NULL, k = dictionary[k - 1]. */
  | { kind: 'code'; dictionary: string[] }
  | { kind: 'string' };

/** Above this many distinct values a categorical column is decoded as strings rather than coded. */
const MAX_DICTIONARY = 100_000;
/** Up to this size a linear list_position is cheaper than an ENUM cast. */
const SMALL_DICTIONARY = 32;
/**
 * The temporary ENUM type holding each dictionary that dictionaries() returned. Types belong to the
 * connection that made them: used on another connection the query fails loudly ("Type ... does not
 * exist"), never silently codes everything as NULL.
 */
const typeOf = new WeakMap<string[], string>();
let nextType = 0;
/** The product's own words (variant names) may be spelled as SQL literals: nothing a quote or NUL can hide in. */
const PLAIN_WORD = /^[A-Za-z0-9_.-]+$/;

/** SELECT expression for a numerical column, NULL mapped to NaN so whole vectors can be copied. */
export function doubleExpr(expr: string): string {
  return `coalesce(CAST(${expr} AS DOUBLE), 'NaN'::DOUBLE)`;
}

/**
 * SELECT expression and plan for a categorical column with a known dictionary: one returned by
 * dictionaries() on the same connection, or a short list of the product's own plain words.
 */
export function categoricalExpr(expr: string, dictionary: string[] | null): { expr: string; plan: ColumnPlan } {
  if (!dictionary || dictionary.length === 0 || dictionary.length > MAX_DICTIONARY) {
    return { expr, plan: { kind: 'string' } };
  }
  const type = typeOf.get(dictionary);
  let code: string;
  if (type !== undefined) {
    code =
      dictionary.length <= SMALL_DICTIONARY
        ? `coalesce(list_position(enum_range(NULL::${type}), ${expr}), 0)::UINTEGER`
        : `coalesce(enum_code(CAST(${expr} AS ${type}))::UINTEGER + 1, 0)::UINTEGER`;
  } else {
    const bad = dictionary.find((v) => !PLAIN_WORD.test(v));
    if (bad !== undefined || dictionary.length > SMALL_DICTIONARY) {
      throw new Error(`categoricalExpr: values read from data must be coded through dictionaries() (got ${JSON.stringify(bad ?? `${dictionary.length} values`)})`);
    }
    code = `coalesce(list_position([${dictionary.map((v) => `'${v}'`).join(', ')}], ${expr}), 0)::UINTEGER`;
  }
  return { expr: code, plan: { kind: 'code', dictionary } };
}

/**
 * Distinct values of categorical expressions over `from` (a FROM ... WHERE ... clause), one list
 * per expression; null where there are too many to code. Each list is also bound into the
 * connection as a temporary ENUM type, which is what categoricalExpr refers to.
 */
export async function dictionaries(connection: DuckDBConnection, exprs: string[], fromWhere: string): Promise<(string[] | null)[]> {
  if (exprs.length === 0) return [];
  const select = exprs.map((e) => `CASE WHEN count(DISTINCT ${e}) <= ${MAX_DICTIONARY} THEN list(DISTINCT ${e}) END`).join(', ');
  const reader = await connection.runAndReadAll(`SELECT ${select} ${fromWhere}`);
  const row = reader.getRowsJS()[0] ?? [];
  const out: (string[] | null)[] = [];
  for (let i = 0; i < exprs.length; i++) {
    const list = row[i] as (string | null)[] | null;
    const dictionary = list ? list.filter((v): v is string => v !== null).sort() : null;
    if (dictionary && dictionary.length > 0 && dictionary.length <= MAX_DICTIONARY) {
      // The ENUM's codes follow the parameter's order, which is the dictionary's.
      const type = `__lake_dict_${nextType++}`;
      await connection.run(`CREATE TEMP TYPE ${type} AS ENUM (SELECT unnest($1))`, [listValue(dictionary)], [LIST(VARCHAR)]);
      typeOf.set(dictionary, type);
    }
    out.push(dictionary);
  }
  return out;
}

/** Copies a materialised result into columns following `plans` (one per result column). */
export function collectColumns(result: DuckDBMaterializedResult, plans: ColumnPlan[]): FeatureColumn[] {
  const rows = result.rowCount;
  const out: FeatureColumn[] = plans.map((p) => (p.kind === 'double' ? new Float64Array(rows) : new Array<string | null>(rows)));
  const lookups = plans.map((p) => (p.kind === 'code' ? [null, ...p.dictionary] : null));
  let offset = 0;
  for (let c = 0; c < result.chunkCount; c++) {
    const chunk = result.getChunk(c);
    const n = chunk.rowCount;
    for (let j = 0; j < plans.length; j++) {
      const vector = chunk.getColumnVector(j);
      const plan = plans[j];
      if (plan.kind === 'double') copyDoubles(vector, out[j] as Float64Array, offset, n);
      else if (plan.kind === 'code') copyCodes(vector, out[j] as (string | null)[], lookups[j]!, offset, n);
      else copyItems(vector, out[j] as (string | null)[], offset, n);
    }
    offset += n;
  }
  return out;
}

/**
 * The vector classes keep their data in a typed array field named `items`; it is not part of the
 * declared API, so it is used only when present with the expected type, and getItem() otherwise.
 */
function rawItems(vector: DuckDBVector, n: number): ArrayLike<number> | undefined {
  const items = (vector as unknown as { items?: unknown }).items;
  if ((items instanceof Float64Array || items instanceof Uint32Array) && items.length === n) return items;
  return undefined;
}

function copyDoubles(vector: DuckDBVector, target: Float64Array, offset: number, n: number): void {
  const items = rawItems(vector, n);
  if (items instanceof Float64Array) {
    target.set(items, offset); // NULLs were mapped to NaN in SQL
    return;
  }
  for (let i = 0; i < n; i++) {
    const v = vector.getItem(i);
    target[offset + i] = v === null ? NaN : Number(v);
  }
}

function copyCodes(vector: DuckDBVector, target: (string | null)[], lookup: (string | null)[], offset: number, n: number): void {
  const items = rawItems(vector, n);
  if (items instanceof Uint32Array) {
    for (let i = 0; i < n; i++) target[offset + i] = lookup[items[i]];
    return;
  }
  for (let i = 0; i < n; i++) target[offset + i] = lookup[Number(vector.getItem(i) ?? 0)];
}

function copyItems(vector: DuckDBVector, target: (string | null)[], offset: number, n: number): void {
  for (let i = 0; i < n; i++) {
    const v = vector.getItem(i);
    target[offset + i] = v === null ? null : String(v);
  }
}

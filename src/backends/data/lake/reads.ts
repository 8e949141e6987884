import type { ModelSpec } from '../../../config/schema.js';
import { durationMs } from '../../../config/duration.js';
import {
  DataInputError,
  VARIANTS,
  type FeatureColumn,
  type MaturedLabelsQuery,
  type MaturedLabelsResult,
  type Variant,
  type WindowQuery,
  type WindowResult,
} from '../types.js';
import { sql, type Duck } from './duck.js';
import { datesForRange, utcDate, type LakeLayout } from './layout.js';
import type { FileGuard } from './quarantine.js';
import { categoricalExpr, collectColumns, dictionaries, doubleExpr, type ColumnPlan } from './vectors.js';

/** What the read functions share with the backend: where files are, the engine, the quarantine guard. */
export interface LakeContext {
  layout: LakeLayout;
  duck: Duck;
  guard: FileGuard;
}

export async function readWindow(ctx: LakeContext, spec: ModelSpec, query: WindowQuery): Promise<WindowResult> {
  const { from, to } = checkRange(query.from, query.to, 'readWindow');
  const variant = query.variant ?? 'champion';
  if (variant !== 'all' && !VARIANTS.includes(variant)) throw new DataInputError(`readWindow: unknown variant "${variant}"`);
  const files = await ctx.layout.listFiles(spec.name, 'predictions', datesForRange(from, to));

  return ctx.duck.with(async (connection) => {
    const guarded = await ctx.guard.run(connection, spec, [{ kind: 'predictions', files }], async ([set]) => {
      if (set.files.length === 0) return emptyColumns(spec);
      const fromWhere =
        `FROM ${sql.parquet(set.files.map((f) => f.path))} WHERE ts >= ${sql.ts(from)} AND ts < ${sql.ts(to)}` +
        (variant === 'all' ? '' : ` AND variant = ${sql.str(variant)}`);
      const { exprs, plans } = await featurePlans(connection, spec, spec.features.map((f) => f.name), fromWhere);
      const result = await connection.run(`SELECT ${exprs.join(', ')} ${fromWhere}`);
      return collectColumns(result, plans);
    });
    const columns: Record<string, FeatureColumn> = {};
    spec.features.forEach((f, i) => (columns[f.name] = guarded.value[i]));
    const rowCount = guarded.value[0]?.length ?? 0;
    return {
      rowCount,
      columns,
      ...missingCounts(columns, rowCount),
      filesRead: guarded.sets[0].files.length,
      quarantined: guarded.quarantined,
    };
  });
}

export async function maturedLabels(ctx: LakeContext, spec: ModelSpec, query: MaturedLabelsQuery): Promise<MaturedLabelsResult> {
  const { from, to } = checkRange(query.from, query.to, 'maturedLabels');
  const maturedBy = new Date(checkDate(query.asOf, 'maturedLabels: asOf').getTime() - durationMs(spec.label.delay));
  if (query.variant !== undefined && !VARIANTS.includes(query.variant)) throw new DataInputError(`maturedLabels: unknown variant "${query.variant}"`);
  const sliceBy = query.sliceBy ?? [];
  const unknown = sliceBy.filter((s) => !spec.features.some((f) => f.name === s));
  if (unknown.length) throw new DataInputError(`maturedLabels: sliceBy names unknown feature(s) ${unknown.join(', ')}`, { columns: unknown });

  const predictionFiles = await ctx.layout.listFiles(spec.name, 'predictions', datesForRange(from, to));
  // Labels are partitioned by arrival; any arrival up to maturedBy may belong to the window.
  const labelFiles = await ctx.layout.listFiles(spec.name, 'labels', { toDate: utcDate(maturedBy.getTime()) });

  return ctx.duck.with(async (connection) => {
    const sets = [
      { kind: 'predictions' as const, files: predictionFiles },
      { kind: 'labels' as const, files: labelFiles },
    ];
    const guarded = await ctx.guard.run(connection, spec, sets, async ([preds, labels]) => {
      if (preds.files.length === 0 || labels.files.length === 0) return undefined;
      const predWhere =
        `ts >= ${sql.ts(from)} AND ts < ${sql.ts(to)}` + (query.variant ? ` AND variant = ${sql.str(query.variant)}` : '');
      // Reduce labels to the window's request ids before picking the latest per request.
      const fromWhere = `FROM (SELECT * FROM ${sql.parquet(preds.files.map((f) => f.path))} WHERE ${predWhere}) p
        JOIN (
          SELECT request_id, arg_max(label, label_ts) AS label
          FROM ${sql.parquet(labels.files.map((f) => f.path))}
          WHERE label_ts <= ${sql.ts(maturedBy)} AND label IS NOT NULL
            AND request_id IN (SELECT request_id FROM ${sql.parquet(preds.files.map((f) => f.path))} WHERE ${predWhere})
          GROUP BY request_id
        ) l ON p.request_id = l.request_id`;
      const slice = await featurePlans(connection, spec, sliceBy, fromWhere, 'p.');
      const exprs = [doubleExpr('p.prediction'), doubleExpr('p.score'), doubleExpr('l.label')];
      const plans: ColumnPlan[] = [{ kind: 'double' }, { kind: 'double' }, { kind: 'double' }];
      if (!query.variant) {
        exprs.push(categoricalExpr('p.variant', [...VARIANTS]).expr);
        plans.push({ kind: 'code', dictionary: [...VARIANTS] });
      }
      const result = await connection.run(`SELECT ${[...exprs, ...slice.exprs].join(', ')} ${fromWhere}`);
      return { columns: collectColumns(result, [...plans, ...slice.plans]), base: plans.length };
    });

    const value = guarded.value;
    const out: MaturedLabelsResult = {
      count: value ? (value.columns[0] as Float64Array).length : 0,
      predictions: (value?.columns[0] as Float64Array) ?? new Float64Array(0),
      scores: (value?.columns[1] as Float64Array) ?? new Float64Array(0),
      labels: (value?.columns[2] as Float64Array) ?? new Float64Array(0),
      maturedBy,
      filesRead: guarded.sets.reduce((n, s) => n + s.files.length, 0),
      quarantined: guarded.quarantined,
    };
    if (!query.variant) out.variants = (value ? value.columns[3] : []) as Variant[];
    if (sliceBy.length > 0) {
      const empty = emptyColumns(spec);
      out.slices = Object.fromEntries(
        sliceBy.map((name, i) => [name, value ? value.columns[value.base + i] : empty[spec.features.findIndex((f) => f.name === name)]]),
      );
    }
    return out;
  });
}

export async function countNewLabels(ctx: LakeContext, spec: ModelSpec, since: Date): Promise<number> {
  const after = checkDate(since, 'countNewLabels: since');
  const files = await ctx.layout.listFiles(spec.name, 'labels', { fromDate: utcDate(after.getTime()) });
  return ctx.duck.with(async (connection) => {
    const guarded = await ctx.guard.run(connection, spec, [{ kind: 'labels', files }], async ([set]) => {
      if (set.files.length === 0) return 0;
      const reader = await connection.runAndReadAll(
        `SELECT count(*) FROM ${sql.parquet(set.files.map((f) => f.path))} WHERE label_ts > ${sql.ts(after)}`,
      );
      return Number(reader.getRowsJS()[0][0]);
    });
    return guarded.value;
  });
}

/** SELECT expressions and plans for the named features (categoricals coded through a dictionary). */
async function featurePlans(
  connection: Parameters<typeof dictionaries>[0],
  spec: ModelSpec,
  names: string[],
  fromWhere: string,
  prefix = '',
): Promise<{ exprs: string[]; plans: ColumnPlan[] }> {
  const features = names.map((n) => spec.features.find((f) => f.name === n)!);
  const categorical = features.filter((f) => f.type === 'categorical').map((f) => prefix + sql.ident(f.name));
  const dicts = await dictionaries(connection, categorical, fromWhere);
  let k = 0;
  const exprs: string[] = [];
  const plans: ColumnPlan[] = [];
  for (const f of features) {
    const ref = prefix + sql.ident(f.name);
    if (f.type === 'numerical') {
      exprs.push(doubleExpr(ref));
      plans.push({ kind: 'double' });
    } else {
      const c = categoricalExpr(ref, dicts[k++]);
      exprs.push(c.expr);
      plans.push(c.plan);
    }
  }
  return { exprs, plans };
}

function emptyColumns(spec: ModelSpec): FeatureColumn[] {
  return spec.features.map((f) => (f.type === 'numerical' ? new Float64Array(0) : []));
}

function missingCounts(columns: Record<string, FeatureColumn>, rowCount: number): { missing: Record<string, number>; rowsWithMissingFeatures: number } {
  const missing: Record<string, number> = {};
  const rowMissing = new Uint8Array(rowCount);
  for (const [name, column] of Object.entries(columns)) {
    let n = 0;
    if (column instanceof Float64Array) {
      for (let i = 0; i < rowCount; i++) if (column[i] !== column[i]) (n++, (rowMissing[i] = 1)); // NaN
    } else {
      for (let i = 0; i < rowCount; i++) if (column[i] === null) (n++, (rowMissing[i] = 1));
    }
    missing[name] = n;
  }
  let rows = 0;
  for (let i = 0; i < rowCount; i++) rows += rowMissing[i];
  return { missing, rowsWithMissingFeatures: rows };
}

function checkDate(value: Date, what: string): Date {
  if (!(value instanceof Date) || !Number.isFinite(value.getTime())) throw new DataInputError(`${what}: expected a valid Date, got ${String(value)}`);
  return value;
}

function checkRange(from: Date, to: Date, what: string): { from: Date; to: Date } {
  checkDate(from, `${what}: from`);
  checkDate(to, `${what}: to`);
  if (to.getTime() < from.getTime()) throw new DataInputError(`${what}: window ends (${to.toISOString()}) before it starts (${from.toISOString()})`);
  return { from, to };
}

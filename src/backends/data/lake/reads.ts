import { randomUUID } from 'node:crypto';
import type { ModelSpec } from '../../../config/schema.js';
import { durationMs } from '../../../config/duration.js';
import {
  DataInputError,
  LABEL_REVISION_RULES,
  VARIANTS,
  type CountNewLabelsOptions,
  type FeatureColumn,
  type LabelHistory,
  type LabelRevisionRule,
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
      // The served scores too: the label-free performance estimate reads them.
      const result = await connection.run(`SELECT ${[...exprs, doubleExpr('score')].join(', ')} ${fromWhere}`);
      return collectColumns(result, [...plans, { kind: 'double' }]);
    });
    const columns: Record<string, FeatureColumn> = {};
    spec.features.forEach((f, i) => (columns[f.name] = guarded.value[i]));
    const rowCount = guarded.value[0]?.length ?? 0;
    return {
      rowCount,
      columns,
      scores: (guarded.value[spec.features.length] as Float64Array | undefined) ?? new Float64Array(0),
      ...missingCounts(columns, rowCount),
      filesRead: guarded.sets[0].files.length,
      quarantined: guarded.quarantined,
    };
  });
}

/**
 * Which of a request's labels decides it: `label.revisions` in the model spec ('first' by default).
 * The config schema field `label.revisions` (z.enum(['first', 'last']).default('first')) is added
 * together with this read; until a spec carries it, every model gets 'first'.
 */
export function labelRevisionRule(spec: ModelSpec): LabelRevisionRule {
  const rule = (spec.label as { revisions?: LabelRevisionRule }).revisions ?? 'first';
  if (!LABEL_REVISION_RULES.includes(rule)) {
    throw new DataInputError(`model ${spec.name}: label.revisions must be one of ${LABEL_REVISION_RULES.join(', ')}, got ${JSON.stringify(rule)}`);
  }
  return rule;
}

/**
 * SQL aggregate over a request's label rows (columns label, label_ts) that picks the deciding label:
 * rows in (label_ts, label) order, the first of them or the last.
 */
export function decidingLabelSql(rule: LabelRevisionRule): string {
  const dir = rule === 'first' ? 'ASC' : 'DESC';
  return `first(label ORDER BY label_ts ${dir}, label ${dir})`;
}

/**
 * Matured labels as a check at `asOf` sees them: predictions with ts in [from, to) that are at least
 * label.delay old (ts <= asOf - delay), joined to the labels that arrived by asOf (label_ts <= asOf,
 * however late), one per request id by the revision rule. Labels whose request id no logged
 * prediction carries never join. Also reports coverage: how many of the matured predictions have a
 * label yet; a label arriving after one check counts in every later one.
 */
export async function maturedLabels(ctx: LakeContext, spec: ModelSpec, query: MaturedLabelsQuery): Promise<MaturedLabelsResult> {
  const { from, to } = checkRange(query.from, query.to, 'maturedLabels');
  const asOf = checkDate(query.asOf, 'maturedLabels: asOf');
  const maturedBy = new Date(asOf.getTime() - durationMs(spec.label.delay));
  const rule = labelRevisionRule(spec);
  if (query.variant !== undefined && !VARIANTS.includes(query.variant)) throw new DataInputError(`maturedLabels: unknown variant "${query.variant}"`);
  const sliceBy = query.sliceBy ?? [];
  const unknown = sliceBy.filter((s) => !spec.features.some((f) => f.name === s));
  if (unknown.length) throw new DataInputError(`maturedLabels: sliceBy names unknown feature(s) ${unknown.join(', ')}`, { columns: unknown });

  // Predictions with ts in [from, end): `to`, or just past maturedBy when that comes first.
  const end = new Date(Math.min(to.getTime(), maturedBy.getTime() + 1));
  const predictionFiles = end.getTime() > from.getTime() ? await ctx.layout.listFiles(spec.name, 'predictions', datesForRange(from, end)) : [];
  // Labels are partitioned by arrival; any arrival up to asOf may belong to these predictions.
  const labelFiles = predictionFiles.length > 0 ? await ctx.layout.listFiles(spec.name, 'labels', { toDate: utcDate(asOf.getTime()) }) : [];
  const decidedTable = `ml_decided_${randomUUID().replace(/-/g, '')}`;

  return ctx.duck.with(async (connection) => {
    const sets = [
      { kind: 'predictions' as const, files: predictionFiles },
      { kind: 'labels' as const, files: labelFiles },
    ];
    try {
      const guarded = await ctx.guard.run(connection, spec, sets, async ([preds, labels]) => {
        if (preds.files.length === 0) return undefined;
        // The variant was checked against VARIANTS above: a constant, not data.
        const predWhere =
          `ts >= ${sql.ts(from)} AND ts < ${sql.ts(to)} AND ts <= ${sql.ts(maturedBy)}` + (query.variant ? ` AND variant = ${sql.str(query.variant)}` : '');
        const matured = `(SELECT * FROM ${sql.parquet(preds.files.map((f) => f.path))} WHERE ${predWhere})`;
        // One label per matured request id, read once (label history is the widest scan here).
        await connection.run(
          labels.files.length === 0
            ? `CREATE OR REPLACE TEMP TABLE ${decidedTable} AS SELECT NULL::VARCHAR AS request_id, NULL::DOUBLE AS label, false AS revised LIMIT 0`
            : `CREATE OR REPLACE TEMP TABLE ${decidedTable} AS
               SELECT request_id, ${decidingLabelSql(rule)} AS label, min(label) <> max(label) AS revised
               FROM ${sql.parquet(labels.files.map((f) => f.path))}
               WHERE label_ts <= ${sql.ts(asOf)} AND label IS NOT NULL
                 AND request_id IN (SELECT request_id FROM ${matured})
               GROUP BY request_id`,
        );
        // The labelled ones are the rows of the join below; the decided table holds only matured ids.
        const totals = (
          await connection.runAndReadAll(
            `SELECT (SELECT count(*) FROM ${matured}), (SELECT count(*) FILTER (WHERE revised) FROM ${decidedTable}), (SELECT count(*) FROM ${decidedTable})`,
          )
        ).getRowsJS()[0];
        const coverage = { matured: Number(totals[0]), revised: Number(totals[1]) };
        if (coverage.matured === 0 || Number(totals[2]) === 0) return { coverage };

        const fromWhere = `FROM ${matured} p JOIN ${decidedTable} l ON p.request_id = l.request_id`;
        const slice = await featurePlans(connection, spec, sliceBy, fromWhere, 'p.');
        const exprs = [doubleExpr('p.prediction'), doubleExpr('p.score'), doubleExpr('l.label')];
        const plans: ColumnPlan[] = [{ kind: 'double' }, { kind: 'double' }, { kind: 'double' }];
        if (!query.variant) {
          exprs.push(categoricalExpr('p.variant', [...VARIANTS]).expr);
          plans.push({ kind: 'code', dictionary: [...VARIANTS] });
        }
        const result = await connection.run(`SELECT ${[...exprs, ...slice.exprs].join(', ')} ${fromWhere}`);
        return { coverage, columns: collectColumns(result, [...plans, ...slice.plans]), base: plans.length };
      });

      const value = guarded.value;
      const rows = value?.columns;
      const matured = value?.coverage.matured ?? 0;
      const labelled = rows ? (rows[0] as Float64Array).length : 0;
      const out: MaturedLabelsResult = {
        count: labelled,
        predictions: (rows?.[0] as Float64Array) ?? new Float64Array(0),
        scores: (rows?.[1] as Float64Array) ?? new Float64Array(0),
        labels: (rows?.[2] as Float64Array) ?? new Float64Array(0),
        maturedBy,
        matured,
        labelled,
        coverage: matured > 0 ? labelled / matured : 0,
        revised: value?.coverage.revised ?? 0,
        revisionRule: rule,
        filesRead: guarded.sets.reduce((n, s) => n + s.files.length, 0),
        quarantined: guarded.quarantined,
      };
      if (!query.variant) out.variants = (rows ? rows[3] : []) as Variant[];
      if (sliceBy.length > 0) {
        const empty = emptyColumns(spec);
        out.slices = Object.fromEntries(
          sliceBy.map((name, i) => [name, rows && value?.base !== undefined ? rows[value.base + i] : empty[spec.features.findIndex((f) => f.name === name)]]),
        );
      }
      return out;
    } finally {
      await connection.run(`DROP TABLE IF EXISTS ${decidedTable}`);
    }
  });
}

/**
 * Newly labelled requests since `since`: request ids of logged predictions (any variant) whose first
 * label arrived after `since`, counting only labels that arrived by asOf and predictions logged by
 * it when asOf is given. One per request id, so resending or revising a label never counts again,
 * and labels for request ids no prediction was logged with never count. A prediction logged more
 * than data.lookback before `since` is too old for any dataset built after `since`, so its late
 * labels do not count either (labels are taken to arrive after their prediction).
 */
export async function countNewLabels(ctx: LakeContext, spec: ModelSpec, since: Date, options: Date | CountNewLabelsOptions = {}): Promise<number> {
  const after = checkDate(since, 'countNewLabels: since');
  const asOf = options instanceof Date ? options : options.asOf;
  if (asOf !== undefined) checkDate(asOf, 'countNewLabels: asOf');
  if (asOf && asOf.getTime() <= after.getTime()) return 0;
  const horizon = new Date(after.getTime() - durationMs(spec.data.lookback));
  const range = { fromDate: utcDate(horizon.getTime()), ...(asOf ? { toDate: utcDate(asOf.getTime()) } : {}) };
  const labelFiles = await ctx.layout.listFiles(spec.name, 'labels', { ...range, fromDate: utcDate(after.getTime()) });
  // Without a label arriving after `since` nothing can be new: skip the wider reads.
  const sets = [
    { kind: 'labels' as const, files: labelFiles.length > 0 ? await ctx.layout.listFiles(spec.name, 'labels', range) : [] },
    { kind: 'predictions' as const, files: labelFiles.length > 0 ? await ctx.layout.listFiles(spec.name, 'predictions', range) : [] },
  ];
  return ctx.duck.with(async (connection) => {
    const guarded = await ctx.guard.run(connection, spec, sets, async ([labels, preds]) => {
      if (labels.files.length === 0 || preds.files.length === 0) return 0;
      const until = (column: string) => (asOf ? ` AND ${column} <= ${sql.ts(asOf)}` : '');
      const reader = await connection.runAndReadAll(
        `SELECT count(*) FROM (
           SELECT request_id FROM ${sql.parquet(labels.files.map((f) => f.path))}
           WHERE label IS NOT NULL AND label_ts >= ${sql.ts(horizon)}${until('label_ts')}
           GROUP BY request_id HAVING min(label_ts) > ${sql.ts(after)}
         ) l SEMI JOIN (
           SELECT request_id FROM ${sql.parquet(preds.files.map((f) => f.path))}
           WHERE ts >= ${sql.ts(horizon)}${until('ts')}
         ) p ON l.request_id = p.request_id`,
      );
      return Number(reader.getRowsJS()[0][0]);
    });
    return guarded.value;
  });
}

/**
 * Every label sent for one request id (as of `asOf` when given), the predictions logged with it and
 * the label the revision rule picks: what an operator looks at when a label was flipped. Reads the
 * whole label and prediction history of the model, so it is for one id at a time.
 */
export async function labelHistory(ctx: LakeContext, spec: ModelSpec, requestId: string, options: { asOf?: Date } = {}): Promise<LabelHistory> {
  if (typeof requestId !== 'string' || requestId.length === 0) throw new DataInputError(`labelHistory: expected a request id, got ${JSON.stringify(requestId)}`);
  const asOf = options.asOf === undefined ? undefined : checkDate(options.asOf, 'labelHistory: asOf');
  const rule = labelRevisionRule(spec);
  const range = asOf ? { toDate: utcDate(asOf.getTime()) } : {};
  const sets = [
    { kind: 'labels' as const, files: await ctx.layout.listFiles(spec.name, 'labels', range) },
    { kind: 'predictions' as const, files: await ctx.layout.listFiles(spec.name, 'predictions', range) },
  ];
  return ctx.duck.with(async (connection) => {
    const guarded = await ctx.guard.run(connection, spec, sets, async ([labels, preds]) => {
      // The request id is data: it reaches DuckDB only as a bound parameter.
      const params = { id: requestId };
      const labelRows =
        labels.files.length === 0
          ? []
          : (
              await connection.runAndReadAll(
                `SELECT label, epoch_ms(label_ts)::DOUBLE FROM ${sql.parquet(labels.files.map((f) => f.path))}
                 WHERE request_id = $id AND label IS NOT NULL${asOf ? ` AND label_ts <= ${sql.ts(asOf)}` : ''}
                 ORDER BY label_ts, label`,
                params,
              )
            ).getRowsJS();
      const predictionRows =
        preds.files.length === 0
          ? []
          : (
              await connection.runAndReadAll(
                `SELECT epoch_ms(ts)::DOUBLE, variant, model_version FROM ${sql.parquet(preds.files.map((f) => f.path))}
                 WHERE request_id = $id${asOf ? ` AND ts <= ${sql.ts(asOf)}` : ''}
                 ORDER BY ts, variant`,
                params,
              )
            ).getRowsJS();
      return { labelRows, predictionRows };
    });
    const labels = guarded.value.labelRows.map((r) => ({ label: Number(r[0]), labelTs: new Date(Number(r[1])) }));
    const predictions = guarded.value.predictionRows.map((r) => ({ ts: new Date(Number(r[0])), variant: String(r[1]) as Variant, modelVersion: String(r[2]) }));
    const pick = rule === 'first' ? labels[0] : labels.at(-1);
    return {
      requestId,
      revisionRule: rule,
      predictions,
      labels,
      decided: predictions.length > 0 && pick ? pick : null,
      revised: new Set(labels.map((l) => l.label)).size > 1,
    };
  });
}

/** SELECT expressions and plans for the named features (categoricals coded through a dictionary). */
export async function featurePlans(
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

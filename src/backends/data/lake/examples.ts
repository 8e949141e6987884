import { durationMs } from '../../../config/duration.js';
import type { ModelSpec } from '../../../config/schema.js';
import { DataInputError, type FeatureColumn, type LabelledExamples, type LabelledExamplesQuery } from '../types.js';
import { sql } from './duck.js';
import { utcDate } from './layout.js';
import { featurePlans, type LakeContext } from './reads.js';
import { collectColumns, doubleExpr } from './vectors.js';

const DAY_MS = 86_400_000;

/**
 * Labelled examples in the order their labels arrived, after a cursor: what an online learner
 * reads each step. A request counts once, at its first label (a label re-sent within a day of the
 * first is not learned twice); its features come from the prediction logged with its id (the
 * shadow's duplicate row left out). Predictions are looked up from label.delay + 1 day before the
 * cursor, so a label arriving later than that after its prediction is not learned (it still counts
 * everywhere else). Rows are ordered by (label time, request id), which is also the cursor's order.
 */
export async function labelledExamples(ctx: LakeContext, spec: ModelSpec, query: LabelledExamplesQuery): Promise<LabelledExamples> {
  const { after, asOf, limit } = query;
  if (!(asOf instanceof Date) || !Number.isFinite(asOf.getTime())) throw new DataInputError(`labelledExamples: expected asOf to be a valid Date, got ${String(asOf)}`);
  if (!Number.isInteger(limit) || limit < 1) throw new DataInputError(`labelledExamples: expected a positive whole limit, got ${limit}`);
  const afterMs = after.labelTs.getTime();
  const empty: LabelledExamples = { count: 0, columns: emptyColumns(spec), labels: new Float64Array(0), labelTs: new Float64Array(0), requestIds: [], filesRead: 0, quarantined: [] };
  if (asOf.getTime() <= afterMs) return empty;
  const labelFiles = await ctx.layout.listFiles(spec.name, 'labels', { fromDate: utcDate(afterMs - DAY_MS), toDate: utcDate(asOf.getTime()) });
  if (labelFiles.length === 0) return empty;
  const predictionFiles = await ctx.layout.listFiles(spec.name, 'predictions', {
    fromDate: utcDate(afterMs - durationMs(spec.label.delay) - DAY_MS),
    toDate: utcDate(asOf.getTime()),
  });
  if (predictionFiles.length === 0) return empty;

  return ctx.duck.with(async (connection) => {
    const sets = [
      { kind: 'labels' as const, files: labelFiles },
      { kind: 'predictions' as const, files: predictionFiles },
    ];
    const guarded = await ctx.guard.run(connection, spec, sets, async ([labels, preds]) => {
      if (labels.files.length === 0 || preds.files.length === 0) return undefined;
      const first = `(SELECT request_id, arg_min(label, label_ts) AS label, min(label_ts) AS label_ts
          FROM ${sql.parquet(labels.files.map((f) => f.path))}
          WHERE label_ts <= ${sql.ts(asOf)} AND label IS NOT NULL
          GROUP BY request_id)`;
      const served = `(SELECT * FROM ${sql.parquet(preds.files.map((f) => f.path))} WHERE variant <> 'shadow'
          QUALIFY row_number() OVER (PARTITION BY request_id ORDER BY ts) = 1)`;
      const position = `(l.label_ts > ${sql.ts(after.labelTs)} OR (l.label_ts = ${sql.ts(after.labelTs)} AND l.request_id > ${sql.str(after.requestId)}))`;
      const fromWhere = `FROM ${first} l JOIN ${served} p ON p.request_id = l.request_id WHERE ${position}`;
      const features = await featurePlans(connection, spec, spec.features.map((f) => f.name), fromWhere, 'p.');
      const exprs = [doubleExpr('l.label'), 'epoch_ms(l.label_ts)::DOUBLE', 'l.request_id', ...features.exprs];
      const result = await connection.run(`SELECT ${exprs.join(', ')} ${fromWhere} ORDER BY l.label_ts, l.request_id LIMIT ${limit}`);
      return collectColumns(result, [{ kind: 'double' }, { kind: 'double' }, { kind: 'string' }, ...features.plans]);
    });
    const rows = guarded.value;
    if (!rows) return { ...empty, filesRead: guarded.sets.reduce((n, s) => n + s.files.length, 0), quarantined: guarded.quarantined };
    const columns: Record<string, FeatureColumn> = {};
    spec.features.forEach((f, i) => (columns[f.name] = rows[3 + i]));
    return {
      count: (rows[0] as Float64Array).length,
      columns,
      labels: rows[0] as Float64Array,
      labelTs: rows[1] as Float64Array,
      requestIds: rows[2] as string[],
      filesRead: guarded.sets.reduce((n, s) => n + s.files.length, 0),
      quarantined: guarded.quarantined,
    };
  });
}

function emptyColumns(spec: ModelSpec): Record<string, FeatureColumn> {
  return Object.fromEntries(spec.features.map((f) => [f.name, f.type === 'numerical' ? new Float64Array(0) : []]));
}

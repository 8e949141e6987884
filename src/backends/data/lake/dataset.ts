import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { ModelSpec } from '../../../config/schema.js';
import { durationMs } from '../../../config/duration.js';
import { logger } from '../../../runtime/logger.js';
import {
  DATASET_FILES,
  DataInputError,
  type BuildDatasetOptions,
  type DatasetManifest,
  type DatasetResult,
  type DatasetSource,
  type DatasetSplit,
  type LabelRevisionRule,
} from '../types.js';
import { datasetColumns } from './columns.js';
import { PARQUET_COPY_OPTIONS, sql } from './duck.js';
import { datesForRange, utcDate, type LakeFile } from './layout.js';
import type { FileSet } from './quarantine.js';
import { labelRevisionRule, type LakeContext } from './reads.js';

/**
 * Materialises a training snapshot: training-table rows with ts in [asOf - lookback, asOf), plus
 * the predictions in that range that are at least label.delay old (ts <= asOf - delay: old enough
 * for their labels to have arrived) joined to every label that arrived by asOf, the same maturity
 * the monitor's checks use. One row per request_id: among a request's labels the revision rule
 * (spec.label.revisions, 'first' by default) picks one, and a served prediction's row beats a
 * training row with the same id. Split by time so the holdout is the most recent slice and
 * validation the slice before it. The id hashes every input (model, asOf, lookback, fractions,
 * label delay and revision rule, columns, source file names and sizes), so an activity retry finds
 * the finished folder and returns it; the folder is built under a temp name and renamed into
 * place, so it is complete or absent.
 */

export async function buildDataset(ctx: LakeContext, spec: ModelSpec, options: BuildDatasetOptions): Promise<DatasetResult> {
  const asOf = options.asOf;
  if (!(asOf instanceof Date) || !Number.isFinite(asOf.getTime())) throw new DataInputError(`buildDataset: expected asOf to be a valid Date, got ${String(asOf)}`);
  const source: DatasetSource = options.source ?? 'both';
  if (!['training', 'feedback', 'both'].includes(source)) throw new DataInputError(`buildDataset: source must be training, feedback or both, got "${source}"`);
  const from = new Date(asOf.getTime() - durationMs(spec.data.lookback));
  const maturedBy = new Date(asOf.getTime() - durationMs(spec.label.delay));
  // Feedback predictions with ts in [from, predictionsEnd): matured ones only.
  const predictionsEnd = new Date(Math.min(asOf.getTime(), maturedBy.getTime() + 1));
  const rule = labelRevisionRule(spec);
  const useTraining = source !== 'feedback';
  const useFeedback = source !== 'training';

  const useMatured = useFeedback && predictionsEnd.getTime() > from.getTime();
  const sets: FileSet[] = [
    { kind: 'training', files: useTraining ? await ctx.layout.listFiles(spec.name, 'training', datesForRange(from, asOf)) : [] },
    { kind: 'predictions', files: useMatured ? await ctx.layout.listFiles(spec.name, 'predictions', datesForRange(from, predictionsEnd)) : [] },
    { kind: 'labels', files: useMatured ? await ctx.layout.listFiles(spec.name, 'labels', { toDate: utcDate(asOf.getTime()) }) : [] },
  ];

  return ctx.duck.with(async (connection) => {
    const guarded = await ctx.guard.run(connection, spec, sets, async (checked) => {
      // Files written after asOf (today's partition keeps growing) hold no usable rows; leaving
      // them out keeps the id stable when an activity retry comes minutes later.
      const [training, predictions, labels] = [
        await overlapping(connection, checked[0].files, 'ts', from, asOf),
        await overlapping(connection, checked[1].files, 'ts', from, predictionsEnd),
        await overlapping(connection, checked[2].files, 'label_ts', null, new Date(asOf.getTime() + 1)),
      ];
      const sourceFiles = [...training, ...predictions, ...labels];
      const datasetId = datasetIdFor(spec, asOf, source, sourceFiles);
      const datasetDir = path.join(ctx.layout.datasetsDir(spec.name), datasetId);
      const remote = ctx.layout.remote;
      const existing = await readManifest(datasetDir, datasetId);
      if (existing) {
        // Uploaded already unless a build here stopped between its rename and its upload (the manifest goes last, so its presence says the rest is there).
        if (remote && (await remote.datasetManifest(spec.name, datasetId)) === undefined) await remote.uploadDataset(spec.name, datasetId, datasetDir, Object.values(DATASET_FILES));
        return { manifest: existing, datasetDir, reused: true };
      }
      if (await fs.stat(datasetDir).catch(() => undefined)) {
        // Look again: a concurrent build may have renamed its finished folder in just now.
        const justBuilt = await readManifest(datasetDir, datasetId);
        if (justBuilt) return { manifest: justBuilt, datasetDir, reused: true };
        // A folder without a valid manifest was not made by this code path (renames are atomic): rebuild it.
        logger().warn({ model: spec.name, datasetDir }, 'dataset folder without a valid manifest; rebuilding');
        await fs.rm(datasetDir, { recursive: true, force: true });
      }
      // Built by another data dir (a retry on another control worker): the store's copy, not a second one.
      const stored = remote ? await downloadDataset(ctx, spec.name, datasetId) : undefined;
      if (stored) return { manifest: stored, datasetDir, reused: true };

      const plan: BuildPlan = { spec, asOf, from, maturedBy, rule, source, datasetId, training, predictions, labels };
      const built = await materialise(connection, ctx.layout.datasetsDir(spec.name), datasetDir, plan);
      await remote?.uploadDataset(spec.name, datasetId, datasetDir, Object.values(DATASET_FILES));
      return { ...built, datasetDir };
    });
    return { ...guarded.value.manifest, datasetDir: guarded.value.datasetDir, reused: guarded.value.reused, quarantined: guarded.quarantined };
  });
}

/**
 * A dataset snapshot as local files, for any worker: `<dataDir>/datasets/<model>/<id>` of this data
 * dir, downloaded from the lake store when it is not there yet (the three files' hash checked
 * against the manifest's contentHash); without a store, the folder the build named.
 */
export async function localDataset(ctx: LakeContext, spec: ModelSpec, dataset: { datasetId: string; datasetDir: string }): Promise<string> {
  const { datasetId } = dataset;
  if (!/^ds-[0-9a-f]{16}$/.test(datasetId)) throw new DataInputError(`dataset id ${JSON.stringify(datasetId)}: expected ds- and 16 hex digits`);
  const here = path.join(ctx.layout.datasetsDir(spec.name), datasetId);
  if (await readManifest(here, datasetId)) return here;
  // With a store, its copy before another data dir's folder: that folder is on another host's disk, or
  // on this one only because a test or a shared mount put it there.
  const remote = ctx.layout.remote;
  if (remote && (await downloadDataset(ctx, spec.name, datasetId))) return here;
  if (await readManifest(dataset.datasetDir, datasetId)) return dataset.datasetDir;
  throw new DataInputError(
    remote
      ? `dataset ${datasetId} of ${spec.name} is not in the lake store ${remote.where} (no ${remote.key('datasets', spec.name, datasetId, 'manifest.json')}) nor in ${dataset.datasetDir}`
      : `dataset ${datasetId} of ${spec.name} is in neither ${dataset.datasetDir} nor ${here}, and no lake store is set (RETRAIN_LAKE_STORE=s3://bucket/prefix shares datasets between data dirs)`,
  );
}

/**
 * Downloads a snapshot from the lake store into `<dataDir>/datasets/<model>/<id>`: into a temp
 * folder, the files' hash checked against the manifest, then renamed into place (complete or
 * absent). Undefined when the store has no manifest for it.
 */
async function downloadDataset(ctx: LakeContext, model: string, datasetId: string): Promise<DatasetManifest | undefined> {
  const remote = ctx.layout.remote;
  if (!remote) return undefined;
  const text = await remote.datasetManifest(model, datasetId);
  if (text === undefined) return undefined;
  const manifest = JSON.parse(text) as DatasetManifest;
  if (manifest.datasetId !== datasetId) throw new DataInputError(`${remote.where}: the manifest of dataset ${datasetId} names ${manifest.datasetId}`);
  const parent = ctx.layout.datasetsDir(model);
  const target = path.join(parent, datasetId);
  const temp = path.join(parent, `.download-${datasetId}-${randomUUID()}`);
  await fs.mkdir(temp, { recursive: true });
  try {
    const files = Object.values(DATASET_FILES);
    await remote.downloadDatasetFiles(model, datasetId, temp, files);
    const actual = await hashFiles(files.map((f) => path.join(temp, f)));
    if (actual !== manifest.contentHash) {
      throw new DataInputError(`dataset ${datasetId} of ${model} in ${remote.where}: its files hash to ${actual}, the manifest says ${manifest.contentHash}; the stored snapshot changed after it was built`);
    }
    await fs.writeFile(path.join(temp, 'manifest.json'), text);
    try {
      await fs.rename(temp, target);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const winner = code === 'ENOTEMPTY' || code === 'EEXIST' ? await readManifest(target, datasetId) : undefined;
      if (!winner) throw err;
      return winner; // another download in this data dir finished first
    }
    logger().info({ model, datasetId, from: remote.where }, 'dataset downloaded from the lake store');
    return manifest;
  } finally {
    await fs.rm(temp, { recursive: true, force: true });
  }
}

interface BuildPlan {
  spec: ModelSpec;
  asOf: Date;
  from: Date;
  /** asOf - label delay: feedback predictions are at most this recent. */
  maturedBy: Date;
  rule: LabelRevisionRule;
  source: DatasetSource;
  datasetId: string;
  training: LakeFile[];
  predictions: LakeFile[];
  labels: LakeFile[];
}

/**
 * The files whose `column` range (from the Parquet footer statistics) meets [from, to); files
 * without statistics are kept.
 */
async function overlapping(connection: DuckDBConnection, files: LakeFile[], column: string, from: Date | null, to: Date): Promise<LakeFile[]> {
  if (files.length === 0) return files;
  const reader = await connection.runAndReadAll(
    `SELECT file_name, min(TRY_CAST(stats_min_value AS TIMESTAMP)) < ${sql.ts(to)}
       AND ${from ? `max(TRY_CAST(stats_max_value AS TIMESTAMP)) >= ${sql.ts(from)}` : 'true'}
     FROM parquet_metadata([${files.map((f) => sql.str(f.path)).join(', ')}])
     WHERE path_in_schema = ${sql.str(column)} GROUP BY file_name`,
  );
  const outside = new Set(reader.getRowsJS().filter((r) => r[1] === false).map((r) => String(r[0])));
  return files.filter((f) => !outside.has(f.path));
}

export function datasetIdFor(spec: ModelSpec, asOf: Date, source: DatasetSource, files: LakeFile[]): string {
  const inputs = {
    model: spec.name,
    asOf: asOf.toISOString(),
    lookback: spec.data.lookback,
    fractions: [spec.data.validationFraction, spec.data.holdoutFraction],
    labelDelay: spec.label.delay,
    // New with maturity by prediction age: no id from before that change is reused for other contents.
    labelRevisions: labelRevisionRule(spec),
    source,
    columns: datasetColumns(spec),
    files: files.map((f) => `${f.relative}:${f.bytes}`).sort(),
  };
  return `ds-${createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 16)}`;
}

async function materialise(
  connection: DuckDBConnection,
  parentDir: string,
  datasetDir: string,
  plan: BuildPlan,
): Promise<{ manifest: DatasetManifest; reused: boolean }> {
  const { spec } = plan;
  const started = performance.now();
  // Phase timings go into the "dataset built" log line: where the time went on big builds.
  const phases: Record<string, number> = {};
  let mark = started;
  const phase = (name: string) => {
    const now = performance.now();
    phases[name] = Math.round(now - mark);
    mark = now;
  };
  const id = randomUUID().replace(/-/g, '');
  const dups = `ds_dups_${id}`;
  const keys = `ds_keys_${id}`;
  const keptTable = `ds_kept_${id}`;
  const tempDir = path.join(parentDir, `.tmp-${plan.datasetId}-${randomUUID()}`);
  await fs.mkdir(tempDir, { recursive: true });
  try {
    // Narrow pass: one join of predictions to labels, keeping only a 64-bit hash of request_id,
    // ts, the label and its time, and a missing-feature flag, so the materialised table is small.
    // (A hash collision between two ids, odds ~n^2/2^65, could only move the split cut by a row:
    // the wide pass below still dedupes by the real request_id.)
    await connection.run(`CREATE TEMP TABLE ${keys} AS SELECT hash(request_id) AS h, ts, __lake_label_ts, __lake_label, __lake_missing FROM (${candidates(plan, 'narrow')})`);
    // Ids with more than one candidate (usually few or none): only these go through the
    // revision rule's window, here and in the wide pass.
    phase('narrowJoinMs');
    await connection.run(
      `CREATE TEMP TABLE ${dups} AS SELECT h, count(*) AS copies, min(__lake_label) FILTER (WHERE __lake_label_ts IS NOT NULL) <> max(__lake_label) FILTER (WHERE __lake_label_ts IS NOT NULL) AS revised
       FROM ${keys} GROUP BY h HAVING count(*) > 1`,
    );
    const kept = `SELECT ts, __lake_missing FROM ${keys} ANTI JOIN ${dups} USING (h)
      UNION ALL
      SELECT ts, __lake_missing FROM (SELECT * FROM ${keys} SEMI JOIN ${dups} USING (h) QUALIFY ${winnerOrder(plan.rule, 'h')} = 1)`;
    await connection.run(`CREATE TEMP TABLE ${keptTable} AS ${kept}`);
    const stats = (
      await connection.runAndReadAll(
        `SELECT count(*), count(*) FILTER (WHERE __lake_missing), (SELECT coalesce(sum(copies - 1), 0) FROM ${dups}), (SELECT count(*) FILTER (WHERE revised) FROM ${dups}) FROM ${keptTable}`,
      )
    ).getRowsJS()[0];
    phase('dedupeMs');
    const total = Number(stats[0]);
    if (total === 0) {
      throw new DataInputError(
        `no labelled rows for model ${spec.name} with ts in [${plan.from.toISOString()}, ${plan.asOf.toISOString()})` +
          ` (source ${plan.source}: ${plan.training.length} training, ${plan.predictions.length} prediction and ${plan.labels.length} label files;` +
          ` predictions must be label.delay old, logged by ${plan.maturedBy.toISOString()}, with a label that arrived by ${plan.asOf.toISOString()})`,
      );
    }

    // Time split: count the rows each split should get, then cut at the ts found at that rank, so
    // rows sharing a ts never straddle two splits (ties go to the later split).
    const holdoutRows = Math.round(total * spec.data.holdoutFraction);
    const validationRows = Math.round(total * spec.data.validationFraction);
    const ranks = [total - holdoutRows - validationRows, total - holdoutRows].map((k) => (k < total ? k : null));
    const cuts = await tsAtRanks(connection, keptTable, total, ranks);
    const [validationFrom, holdoutFrom] = [validationRows > 0 ? cuts[0] : cuts[1], holdoutRows > 0 ? cuts[1] : null];
    const at = (micros: string | null) => (micros === null ? `TIMESTAMP '9999-12-31'` : `make_timestamp(${micros}::BIGINT)`);
    const where: Record<DatasetSplit, string> = {
      train: `ts < ${at(validationFrom)}`,
      validation: `ts >= ${at(validationFrom)} AND ts < ${at(holdoutFrom)}`,
      holdout: `ts >= ${at(holdoutFrom)}`,
    };

    phase('splitMs');
    const columns = datasetColumns(spec);
    const select = columns.map((c) => sql.ident(c.name)).join(', ');
    const rowCounts = { train: 0, validation: 0, holdout: 0 } as Record<DatasetSplit, number>;
    const missingValues: Record<string, number> = Object.fromEntries(spec.features.map((f) => [f.name, 0]));
    for (const split of Object.keys(DATASET_FILES) as DatasetSplit[]) {
      const file = path.join(tempDir, DATASET_FILES[split]);
      // Not sorted: ordering ~10M wide rows costs more than the write itself (see bench/lake.ts);
      // the files are immutable once built, so a dataset id always maps to the same bytes.
      // RETURN_STATS: the writer reports rows and per-column NULL counts for free.
      const copied = await connection.runAndReadAll(
        `COPY (SELECT ${select} FROM (${deduped(plan, dups, where[split])})) TO ${sql.str(file)} (${PARQUET_COPY_OPTIONS}, RETURN_STATS)`,
      );
      const stats = copied.getRowObjectsJS()[0] ?? {};
      rowCounts[split] = Number(stats.count ?? 0);
      for (const [column, nulls] of nullCounts(stats.column_statistics)) {
        if (column in missingValues) missingValues[column] += nulls;
      }
    }

    phase('writeMs');
    const contentHash = await hashFiles(Object.values(DATASET_FILES).map((f) => path.join(tempDir, f)));
    const toIso = (micros: string | null) => (micros === null ? null : new Date(Number(BigInt(micros) / 1000n)).toISOString());
    const manifest: DatasetManifest = {
      datasetId: plan.datasetId,
      model: spec.name,
      asOf: plan.asOf.toISOString(),
      lookback: spec.data.lookback,
      source: plan.source,
      timeRange: { from: plan.from.toISOString(), to: plan.asOf.toISOString() },
      predictionsMaturedBy: plan.maturedBy.toISOString(),
      labelsArrivedBy: plan.asOf.toISOString(),
      labelRevisions: plan.rule,
      labelsRevised: Number(stats[3]),
      fractions: { validation: spec.data.validationFraction, holdout: spec.data.holdoutFraction },
      splitBoundaries: { validationFrom: toIso(validationFrom), holdoutFrom: toIso(holdoutFrom) },
      rowCounts,
      rowsWithMissingFeatures: Number(stats[1]),
      missingValues,
      duplicatesDropped: Number(stats[2]),
      files: DATASET_FILES,
      schema: columns,
      labelColumn: spec.label.name,
      features: spec.features.map((f) => ({ name: f.name, type: f.type })),
      contentHash,
      sourceFiles: [...plan.training, ...plan.predictions, ...plan.labels].map((f) => ({ path: f.relative, bytes: f.bytes })),
      createdAt: new Date().toISOString(),
    };
    phase('hashMs');
    await fs.writeFile(path.join(tempDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);

    try {
      await fs.rename(tempDir, datasetDir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      const winner = code === 'ENOTEMPTY' || code === 'EEXIST' ? await readManifest(datasetDir, plan.datasetId) : undefined;
      if (!winner) throw err;
      return { manifest: winner, reused: true }; // a concurrent build of the same inputs finished first
    }
    logger().info({ model: spec.name, datasetId: plan.datasetId, rowCounts, ms: Math.round(performance.now() - started), ...phases }, 'dataset built');
    return { manifest, reused: false };
  } finally {
    for (const table of [dups, keys, keptTable]) await connection.run(`DROP TABLE IF EXISTS ${table}`);
    await fs.rm(tempDir, { recursive: true, force: true });
  }
}

/**
 * Candidate rows from the chosen sources: training rows (label_ts NULL) and matured predictions
 * joined to every label that arrived by asOf (the history; the revision rule picks one later). 'narrow' carries only what the dedupe and the split
 * need, plus a flag for rows with a missing feature; 'wide' carries the dataset's columns.
 */
function candidates(plan: BuildPlan, width: 'narrow' | 'wide'): string {
  const { spec } = plan;
  const features = spec.features.map((f) => sql.ident(f.name));
  const carried = (alias: string) =>
    width === 'wide' ? features.map((f) => alias + f).join(', ') : `(${features.map((f) => `${alias}${f} IS NULL`).join(' OR ') || 'false'}) AS __lake_missing`;
  const inWindow = (alias: string) => `${alias}ts >= ${sql.ts(plan.from)} AND ${alias}ts < ${sql.ts(plan.asOf)} AND ${alias}request_id IS NOT NULL`;
  const parts: string[] = [];
  if (plan.training.length > 0) {
    const label = sql.ident(spec.label.name);
    parts.push(
      `SELECT request_id, ts, ${carried('')}, ${label} AS __lake_label, NULL::TIMESTAMP AS __lake_label_ts
       FROM ${sql.parquet(plan.training.map((f) => f.path))}
       WHERE ${inWindow('')} AND ${label} IS NOT NULL`,
    );
  }
  if (plan.predictions.length > 0 && plan.labels.length > 0) {
    parts.push(
      `SELECT p.request_id, p.ts, ${carried('p.')}, l.label AS __lake_label, l.label_ts AS __lake_label_ts
       FROM ${sql.parquet(plan.predictions.map((f) => f.path))} p
       JOIN ${sql.parquet(plan.labels.map((f) => f.path))} l ON p.request_id = l.request_id
       WHERE ${inWindow('p.')} AND p.ts <= ${sql.ts(plan.maturedBy)} AND l.label_ts <= ${sql.ts(plan.asOf)} AND l.label IS NOT NULL`,
    );
  }
  if (parts.length === 0) {
    // No inputs: no rows, with the right columns, so the caller reports "no rows".
    const cols = width === 'wide' ? spec.features.map((f) => `NULL::${f.type === 'numerical' ? 'DOUBLE' : 'VARCHAR'} AS ${sql.ident(f.name)}`).join(', ') : 'false AS __lake_missing';
    return `SELECT NULL::VARCHAR AS request_id, NULL::TIMESTAMP AS ts, ${cols}, NULL::DOUBLE AS __lake_label, NULL::TIMESTAMP AS __lake_label_ts LIMIT 0`;
  }
  return parts.join('\nUNION ALL\n');
}

/**
 * Ranks a request's candidates (partitioned by `key`): feedback rows before training rows (which
 * have no label_ts), then the labels in the rule's order, as decidingLabelSql picks them (by
 * label_ts, then label: ascending for 'first', descending for 'last'), then the latest ts.
 */
function winnerOrder(rule: LabelRevisionRule, key: 'request_id' | 'h'): string {
  const dir = rule === 'first' ? 'ASC' : 'DESC';
  return `row_number() OVER (PARTITION BY ${key} ORDER BY __lake_label_ts IS NULL, __lake_label_ts ${dir}, __lake_label ${dir}, ts DESC)`;
}

/**
 * The dataset's rows with ts matching `filter`, one per request_id: ids outside `dups` pass straight
 * through (and the ts filter reaches the Parquet scan), ids in it keep the row the rule picks.
 */
function deduped(plan: BuildPlan, dups: string, filter: string): string {
  const label = sql.ident(plan.spec.label.name);
  const carried = `request_id, ts, ${plan.spec.features.map((f) => sql.ident(f.name)).join(', ')}, __lake_label AS ${label}`;
  const rows = candidates(plan, 'wide');
  return `SELECT ${carried} FROM (${rows}) c ANTI JOIN ${dups} d ON hash(c.request_id) = d.h WHERE ${filter}
    UNION ALL
    SELECT ${carried} FROM (
      SELECT * FROM (${rows}) c SEMI JOIN ${dups} d ON hash(c.request_id) = d.h QUALIFY ${winnerOrder(plan.rule, 'request_id')} = 1
    ) WHERE ${filter}`;
}

/** epoch microseconds (decimal strings) of the ts at each 0-based rank in time order (null rank → null). */
async function tsAtRanks(connection: DuckDBConnection, table: string, total: number, ranks: (number | null)[]): Promise<(string | null)[]> {
  // quantile_disc(q) picks the value at index ceil(q * n) - 1, so (k + 0.5) / n lands on index k exactly.
  const exprs = ranks.map((k) => (k === null ? 'NULL' : `epoch_us(quantile_disc(ts, ${(k + 0.5) / total}))::VARCHAR`));
  const row = (await connection.runAndReadAll(`SELECT ${exprs.join(', ')} FROM ${table}`)).getRowsJS()[0];
  return row.map((v) => (v === null ? null : String(v)));
}

/** (column, NULL count) pairs from COPY ... RETURN_STATS column_statistics (a MAP of MAPs). */
function nullCounts(columnStatistics: unknown): [string, number][] {
  const entries = (columnStatistics ?? []) as { key: string; value: { key: string; value: string }[] }[];
  return entries.map((e) => [e.key.replace(/^"|"$/g, '').replace(/""/g, '"'), Number(e.value.find((v) => v.key === 'null_count')?.value ?? 0)]);
}

async function hashFiles(files: string[]): Promise<string> {
  const hash = createHash('sha256');
  for (const file of files) {
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  }
  return `sha256:${hash.digest('hex')}`;
}

/** The manifest of a finished dataset folder, or undefined when absent or not this dataset's. */
export async function readManifest(datasetDir: string, datasetId: string): Promise<DatasetManifest | undefined> {
  try {
    const manifest = JSON.parse(await fs.readFile(path.join(datasetDir, 'manifest.json'), 'utf8')) as DatasetManifest;
    if (manifest.datasetId !== datasetId) return undefined;
    for (const file of Object.values(DATASET_FILES)) await fs.access(path.join(datasetDir, file));
    return manifest;
  } catch {
    return undefined;
  }
}

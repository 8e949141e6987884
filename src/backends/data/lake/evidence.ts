import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import type { ModelSpec } from '../../../config/schema.js';
import { DataInputError, VARIANTS, type ServedEvidence, type ServedEvidenceQuery, type ServedVariantEvidence, type TimeInput, type Variant } from '../types.js';
import { sql } from './duck.js';
import { datesForRange, utcDate } from './layout.js';
import type { FileSet } from './quarantine.js';
import { decidingLabelSql, labelRevisionRule, type LakeContext } from './reads.js';
import { instantMs } from './rows.js';

/**
 * What a canary analysis judges champion against challenger by, read from the lake alone: the
 * predictions and serving_errors every gateway replica logged (durable across restarts, summed over
 * replicas), joined to the labels that arrived by asOf. Lake files appear whole by rename, so a
 * read sees each file another process appends either entirely or not at all; files are listed
 * once and the query reads exactly that list.
 *
 * Prediction rows are not deduplicated here (no lake read does): the gateway's journal replay is
 * what keeps a request's row from being written twice.
 */

const DEFAULT_SCORE_BINS = 20;
const MAX_SCORE_BINS = 1_000;

export async function servedEvidence(ctx: LakeContext, spec: ModelSpec, query: ServedEvidenceQuery): Promise<ServedEvidence> {
  const from = instant(query.from, 'from');
  const to = instant(query.to, 'to');
  const asOf = instant(query.asOf, 'asOf');
  if (to.getTime() < from.getTime()) throw new DataInputError(`servedEvidence: the range ends (${to.toISOString()}) before it starts (${from.toISOString()})`);
  const bins = scoreBins(query.scoreBins);
  const versions = versionFilter(query.versions);
  const rule = labelRevisionRule(spec);
  // Classification (binary or multiclass): a prediction is a class, right or wrong; scores are probabilities.
  const binary = spec.task !== 'regression';

  const inRange = to.getTime() > from.getTime();
  const range = datesForRange(from, to);
  const predictionFiles = inRange ? await ctx.layout.listFiles(spec.name, 'predictions', range) : [];
  const errorFiles = inRange ? await ctx.layout.listFiles(spec.name, 'serving_errors', range) : [];
  // Labels are partitioned by arrival; any arrival up to asOf may belong to these predictions.
  const labelFiles = predictionFiles.length > 0 ? await ctx.layout.listFiles(spec.name, 'labels', { toDate: utcDate(asOf.getTime()) }) : [];
  const sets: FileSet[] = [
    { kind: 'predictions', files: predictionFiles },
    { kind: 'serving_errors', files: errorFiles },
    { kind: 'labels', files: labelFiles },
  ];

  return ctx.duck.with(async (connection) => {
    const guarded = await ctx.guard.run(connection, spec, sets, async ([preds, errors, labels]) => {
      const when = `ts >= ${sql.ts(from)} AND ts < ${sql.ts(to)}${versions.where}`;
      const answered = `(SELECT request_id, variant, model_version, ts, prediction, score, latency_ms FROM ${sql.parquet(preds.files.map((f) => f.path))} WHERE ${when})`;
      const byVariant = preds.files.length > 0 ? await predictionAggregates(connection, answered, labels, asOf, rule, binary, versions.params) : [];
      const errorRows = errors.files.length > 0 ? await errorAggregates(connection, errors, when, versions.params) : [];

      // Shared edges: binary scores are probabilities; regression spans what all variants answered.
      const scored = byVariant.filter((v) => v.answered > 0);
      const lo = binary ? 0 : Math.min(...scored.map((v) => v.minScore));
      const hi = binary ? 1 : Math.max(...scored.map((v) => v.maxScore));
      const edges = binary || scored.length > 0 ? binEdges(lo, hi, lo === hi ? 1 : bins) : [];
      const histograms = scored.length > 0 ? await scoreHistograms(connection, answered, lo, hi, edges.length - 1, versions.params) : new Map<string, number[]>();
      const shadowed = byVariant.some((v) => v.variant === 'shadow' && v.answered > 0) && byVariant.some((v) => v.variant === 'champion' && v.answered > 0);
      const shadowPairs = shadowed ? await shadowAgreement(connection, answered, binary, versions.params) : { paired: 0, agreed: 0 };
      return { byVariant, errorRows, edges, histograms, shadowPairs };
    });

    const { byVariant, errorRows, edges, histograms, shadowPairs } = guarded.value;
    const variants = {} as Record<Variant, ServedVariantEvidence>;
    for (const variant of VARIANTS) {
      const p = byVariant.find((v) => v.variant === variant);
      const e = errorRows.find((v) => v.variant === variant);
      // The version of the latest row, prediction or error, unless the caller fixed it.
      const latest = p && (!e || p.lastTs >= e.lastTs) ? p.version : (e?.version ?? null);
      variants[variant] = {
        version: versions.given[variant] ?? latest,
        requests: (p?.answered ?? 0) + (e?.errors ?? 0),
        errors: e?.errors ?? 0,
        latencyMs: p && p.timed > 0 ? { p50: p.p50, p99: p.p99, mean: p.mean, p98: p.p98, p995: p.p995 } : null,
        labelled: p?.labelled ?? 0,
        correct: p?.correct ?? 0,
        absErrorSum: p?.absErrorSum ?? 0,
        squaredErrorSum: p?.squaredErrorSum ?? 0,
        scoreHistogram: histograms.get(variant) ?? new Array<number>(Math.max(0, edges.length - 1)).fill(0),
      };
    }
    return {
      from: from.toISOString(),
      to: to.toISOString(),
      asOf: asOf.toISOString(),
      scoreEdges: edges,
      variants,
      shadowPairs,
      filesRead: guarded.sets.reduce((n, s) => n + s.files.length, 0),
      quarantined: guarded.quarantined,
    };
  });
}

interface VariantAggregate {
  variant: string;
  answered: number;
  version: string;
  lastTs: number;
  /** Answered predictions that carry a latency (imported rows may not). */
  timed: number;
  p50: number;
  p99: number;
  p98: number;
  p995: number;
  mean: number;
  labelled: number;
  correct: number;
  absErrorSum: number;
  squaredErrorSum: number;
  minScore: number;
  maxScore: number;
}

/**
 * One pass over the answered predictions LEFT JOINed to one label per request id (the revision
 * rule's pick among the labels that arrived by asOf, as maturedLabels decides it). Latency
 * quantiles are exact: DuckDB's quantile_cont, the linear interpolation numpy's default uses.
 */
async function predictionAggregates(
  connection: DuckDBConnection,
  answered: string,
  labels: FileSet,
  asOf: Date,
  rule: ReturnType<typeof labelRevisionRule>,
  binary: boolean,
  params: Record<string, DuckDBValue>,
): Promise<VariantAggregate[]> {
  const decided =
    labels.files.length === 0
      ? `(SELECT NULL::VARCHAR AS request_id, NULL::DOUBLE AS label LIMIT 0)`
      : `(SELECT request_id, ${decidingLabelSql(rule)} AS label
          FROM ${sql.parquet(labels.files.map((f) => f.path))}
          WHERE label_ts <= ${sql.ts(asOf)} AND label IS NOT NULL AND request_id IN (SELECT request_id FROM p)
          GROUP BY request_id)`;
  const diff = '(p.prediction - l.label)';
  const rows = await read(
    connection,
    `WITH p AS ${answered}, l AS ${decided}
     SELECT p.variant, count(*), arg_max(p.model_version, p.ts), epoch_ms(max(p.ts))::DOUBLE,
       count(p.latency_ms), quantile_cont(p.latency_ms, 0.5), quantile_cont(p.latency_ms, 0.99), avg(p.latency_ms),
       count(l.label),
       quantile_cont(p.latency_ms, 0.98), quantile_cont(p.latency_ms, 0.995),
       ${binary ? 'count(*) FILTER (WHERE p.prediction = l.label)' : '0'},
       ${binary ? '0' : `coalesce(sum(abs(${diff})), 0)`},
       ${binary ? '0' : `coalesce(sum(${diff} * ${diff}), 0)`},
       min(p.score), max(p.score)
     FROM p LEFT JOIN l ON p.request_id = l.request_id
     GROUP BY p.variant`,
    params,
  );
  return rows.map((r) => ({
    variant: String(r[0]),
    answered: Number(r[1]),
    version: String(r[2]),
    lastTs: Number(r[3]),
    timed: Number(r[4]),
    p50: Number(r[5]),
    p99: Number(r[6]),
    mean: Number(r[7]),
    labelled: Number(r[8]),
    p98: Number(r[9]),
    p995: Number(r[10]),
    correct: Number(r[11]),
    absErrorSum: Number(r[12]),
    squaredErrorSum: Number(r[13]),
    minScore: Number(r[14]),
    maxScore: Number(r[15]),
  }));
}

async function errorAggregates(connection: DuckDBConnection, errors: FileSet, when: string, params: Record<string, DuckDBValue>) {
  const rows = await read(
    connection,
    `SELECT variant, count(*), arg_max(model_version, ts), epoch_ms(max(ts))::DOUBLE
     FROM ${sql.parquet(errors.files.map((f) => f.path))} WHERE ${when} GROUP BY variant`,
    params,
  );
  return rows.map((r) => ({ variant: String(r[0]), errors: Number(r[1]), version: String(r[2]), lastTs: Number(r[3]) }));
}

/** Counts per variant and bin: bin k is floor((score - lo) / (hi - lo) × bins), clamped to the end bins. */
async function scoreHistograms(connection: DuckDBConnection, answered: string, lo: number, hi: number, bins: number, params: Record<string, DuckDBValue>): Promise<Map<string, number[]>> {
  const bin = bins === 1 ? '0' : `least(greatest(floor((score - $lo) / ($hi - $lo) * ${bins}), 0), ${bins - 1})::INTEGER`;
  const rows = await read(
    connection,
    `SELECT variant, ${bin} AS bin, count(*) FROM ${answered} GROUP BY ALL`,
    bins === 1 ? params : { ...params, lo, hi },
  );
  const out = new Map<string, number[]>();
  for (const [variant, k, n] of rows) {
    const key = String(variant);
    if (!out.has(key)) out.set(key, new Array<number>(bins).fill(0));
    out.get(key)![Number(k)] = Number(n);
  }
  return out;
}

/** Shadow rows paired with the champion row of their request: the same answer, or (regression) within 1e-9 relative. */
async function shadowAgreement(connection: DuckDBConnection, answered: string, binary: boolean, params: Record<string, DuckDBValue>): Promise<{ paired: number; agreed: number }> {
  const agree = binary ? 's.prediction = c.prediction' : 'abs(s.prediction - c.prediction) <= 1e-9 * greatest(1, abs(c.prediction))';
  const [row] = await read(
    connection,
    `WITH p AS ${answered}
     SELECT count(*), count(*) FILTER (WHERE ${agree})
     FROM p s JOIN p c ON s.request_id = c.request_id
     WHERE s.variant = 'shadow' AND c.variant = 'champion'`,
    params,
  );
  return { paired: Number(row[0]), agreed: Number(row[1]) };
}

async function read(connection: DuckDBConnection, text: string, params: Record<string, DuckDBValue>): Promise<unknown[][]> {
  const reader = Object.keys(params).length > 0 ? await connection.runAndReadAll(text, params) : await connection.runAndReadAll(text);
  return reader.getRowsJS();
}

/**
 * The versions filter as SQL over bound parameters (a version is data: it never becomes SQL
 * text). A variant left out of `versions` keeps every version.
 */
function versionFilter(versions: ServedEvidenceQuery['versions']): { where: string; params: Record<string, DuckDBValue>; given: Partial<Record<Variant, string>> } {
  const given: Partial<Record<Variant, string>> = {};
  if (versions === undefined) return { where: '', params: {}, given };
  if (versions === null || typeof versions !== 'object' || Array.isArray(versions)) throw new DataInputError(`servedEvidence: versions must be an object of variant → version, got ${JSON.stringify(versions)}`);
  let where = '';
  const params: Record<string, DuckDBValue> = {};
  for (const [variant, version] of Object.entries(versions)) {
    if (!VARIANTS.includes(variant as Variant)) throw new DataInputError(`servedEvidence: versions names unknown variant "${variant}" (expected ${VARIANTS.join(', ')})`);
    if (version === undefined) continue;
    // Versions are compared as text: "10" is not "10.0"; a number from a JavaScript caller is its decimal text.
    if (typeof version !== 'string' && !(typeof version === 'number' && Number.isFinite(version))) {
      throw new DataInputError(`servedEvidence: versions.${variant} must be a string, got ${JSON.stringify(version)}`);
    }
    const text = String(version);
    given[variant as Variant] = text;
    params[`version_${variant}`] = text;
    // The variant is one of VARIANTS (checked above): a constant, not data.
    where += ` AND (variant <> ${sql.str(variant)} OR model_version = $version_${variant})`;
  }
  return { where, params, given };
}

function binEdges(lo: number, hi: number, bins: number): number[] {
  const edges = Array.from({ length: bins + 1 }, (_, k) => lo + ((hi - lo) * k) / bins);
  edges[bins] = hi;
  return edges;
}

function scoreBins(value: number | undefined): number {
  if (value === undefined) return DEFAULT_SCORE_BINS;
  if (!Number.isInteger(value) || value < 1 || value > MAX_SCORE_BINS) throw new DataInputError(`servedEvidence: scoreBins must be an integer from 1 to ${MAX_SCORE_BINS}, got ${JSON.stringify(value)}`);
  return value;
}

function instant(value: TimeInput, what: string): Date {
  const ms = instantMs(value);
  if (!Number.isFinite(ms)) throw new DataInputError(`servedEvidence: ${what} must be a time (Date, ISO-8601 string or epoch ms), got ${JSON.stringify(value)}`);
  return new Date(ms);
}

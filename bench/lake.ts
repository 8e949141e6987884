/**
 * Data lake benchmark: one model with 20 numerical + 5 categorical features, N prediction rows
 * (default 10,000,000) over 30 daily partitions plus one label per prediction (arriving 0-48 h
 * later), generated with DuckDB SQL straight to Parquet. Then, through the real backend:
 *   - the monitor's drift check: read the last 7 days (champion) + compareToProfile
 *   - matured labels over the same 7 days + accuracy / ROC AUC
 *   - servedEvidence (a canary's per-variant counts, latency, labels, histograms) over 4.5 days
 *   - a 90-day dataset build (train/validation/holdout Parquet + manifest)
 *   - the writer: cost of one 1,000-row appendPredictions batch
 *   - with --compare: the drift check's histograms computed in SQL instead of reading columns
 * Peak RSS is sampled every 20 ms (DuckDB runs in-process, so it is included).
 *
 *   npx tsx bench/lake.ts [--rows N] [--reps R] [--compare] [--keep] [--threads T]
 *
 * Data goes to a temp dir, deleted at the end unless --keep. Times are medians of R repetitions
 * (default 3); the first repetition is also shown (cold: schema checks, dictionaries).
 */
import { mkdtempSync, promises as fs, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { model, type ModelSpec } from '../src/config/schema.js';
import { LakeDataBackend } from '../src/backends/data/lake/index.js';
import { createLogger, setLogger } from '../src/runtime/logger.js';
import { accuracy, buildProfile, compareToProfile, rocAuc, type DriftProfile } from '../src/drift/index.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const ROWS = opt('--rows', 10_000_000);
const REPS = opt('--reps', 3);
const THREADS = opt('--threads', 0) || undefined;
const DAYS = 30;
const NUM = 20;
const CAT = 5;
const CARDINALITY = [3, 8, 20, 50, 200];
const DAY = 86_400_000;
const START = Date.UTC(2024, 0, 1);
const END = START + DAYS * DAY;

setLogger(createLogger({ level: 'warn' }));

// ------------------------------------------------------------------ memory and timing
let peakRss = 0;
const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
sampler.unref();
const mb = (bytes: number) => `${Math.round(bytes / 2 ** 20)} MB`;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`);

/** Wall time, and CPU time of the whole process (DuckDB's threads included): the machine is shared, CPU is steadier. */
async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; cpuMs: number; value: T }> {
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  const value = await fn();
  const cpu = process.cpuUsage(c0);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  return { ms: performance.now() - t0, cpuMs: (cpu.user + cpu.system) / 1000, value };
}

const results: { step: string; first: number; median: number; cpu: number; note: string }[] = [];
async function bench<T>(step: string, fn: () => Promise<T>, note: (v: T) => string, reps = REPS): Promise<T> {
  const times: number[] = [];
  const cpus: number[] = [];
  let last!: T;
  for (let r = 0; r < reps; r++) {
    const { ms, cpuMs, value } = await timed(fn);
    times.push(ms);
    cpus.push(cpuMs);
    last = value;
  }
  results.push({ step, first: times[0], median: median(times), cpu: median(cpus), note: note(last) });
  console.log(`  ${step}: median ${fmt(median(times))} (first ${fmt(times[0])}, CPU ${fmt(median(cpus))}) ${note(last)}`);
  return last;
}

// ------------------------------------------------------------------ the model
const numNames = Array.from({ length: NUM }, (_, k) => `f${String(k).padStart(2, '0')}`);
const catNames = Array.from({ length: CAT }, (_, k) => `c${k}`);
const spec: ModelSpec = model.parse({
  name: 'bench',
  task: 'binary_classification',
  features: [...numNames.map((name) => ({ name, type: 'numerical' })), ...catNames.map((name) => ({ name, type: 'categorical' }))],
  label: { name: 'converted', delay: '1d' },
  data: { lookback: '90d', monitorWindow: '7d' },
});

// ------------------------------------------------------------------ generation (DuckDB SQL)
/**
 * Uniform [0,1) from a hash of (row, stream): much cheaper than random() and reproducible.
 * In the last 7 days f00 shifts by +0.5 sd and c0 leans to its first category: the drift to find.
 */
function generationSql(lakeDir: string): { predictions: string; labels: string } {
  const span = DAYS * DAY * 1000; // µs
  const u = (i: number) => `((hash(i, ${i}) % 1000000)::DOUBLE / 1e6)`;
  const drifted = `(i >= ${Math.floor((ROWS * (DAYS - 7)) / DAYS)})`;
  // One 64-bit hash per numerical value: three 20-bit uniforms summed (bell-shaped), and
  // 10 more bits for the 1% missing.
  const nums = numNames.map((name, k) => {
    const h = `hash(i, ${k})`;
    const field = (shift: number) => `((${h} >> ${shift}) & 1048575)::DOUBLE / 1048576`;
    const normal = `(${field(0)} + ${field(20)} + ${field(40)} - 1.5) * 2`;
    const shift = k === 0 ? ` + CASE WHEN ${drifted} THEN 0.5 ELSE 0 END` : '';
    return `CASE WHEN ((${h} >> 54) % 100) = 0 THEN NULL ELSE (${normal}${shift}) * ${k + 1} END AS ${name}`;
  });
  const cats = catNames.map((name, k) => {
    const bucket = k === 0 ? `CASE WHEN ${drifted} AND ${u(200)} < 0.3 THEN 0 ELSE hash(i, ${300 + k}) % ${CARDINALITY[k]} END` : `hash(i, ${300 + k}) % ${CARDINALITY[k]}`;
    return `CASE WHEN ${u(120 + k)} < 0.01 THEN NULL ELSE 'v' || (${bucket})::VARCHAR END AS ${name}`;
  });
  const base = `SELECT i, make_timestamp((${START * 1000} + (i::DOUBLE * ${span / ROWS}))::BIGINT) AS ts FROM range(${ROWS}) t(i)`;
  const predictions = `COPY (
    WITH b AS (${base}), f AS (
      SELECT i, ts, ${[...nums, ...cats].join(',\n')} FROM b
    ), s AS (SELECT *, 1 / (1 + exp(-(coalesce(f00, 0) / 2 + coalesce(f01, 0) / 4))) AS p FROM f)
    SELECT 'q' || i AS request_id, ts, 'v1' AS model_version,
      CASE WHEN hash(i, 900) % 10 = 0 THEN 'challenger' ELSE 'champion' END AS variant,
      'e' || (hash(i, 901) % 100000)::VARCHAR AS entity_id,
      ${[...numNames, ...catNames].join(', ')},
      (p > 0.5)::DOUBLE AS prediction, p AS score, 5 + ${u(902)} * 20 AS latency_ms,
      strftime(ts, '%Y-%m-%d') AS date
    FROM s) TO '${lakeDir}/predictions' (FORMAT parquet, PARTITION_BY (date))`;
  const labels = `COPY (
    WITH b AS (${base}), f AS (SELECT i, ts, ${nums.slice(0, 2).join(', ')} FROM b),
    s AS (SELECT *, 1 / (1 + exp(-(coalesce(f00, 0) / 2 + coalesce(f01, 0) / 4))) AS p FROM f),
    l AS (SELECT 'q' || i AS request_id, (p + (${u(903)} - 0.5) * 0.6 > 0.5)::DOUBLE AS label,
      ts + to_microseconds((${u(904)} * 48 * 3600e6)::BIGINT) AS label_ts FROM s)
    SELECT *, strftime(label_ts, '%Y-%m-%d') AS date FROM l
  ) TO '${lakeDir}/labels' (FORMAT parquet, PARTITION_BY (date))`;
  return { predictions, labels };
}

/** A private DuckDB for generation and the SQL alternative; it spills under dataDir, not into the cwd's .tmp. */
function benchDuck(dataDir: string) {
  return DuckDBInstance.create(':memory:', { temp_directory: path.join(dataDir, 'tmp', 'bench-duckdb'), ...(THREADS ? { threads: String(THREADS) } : {}) });
}

async function generate(dataDir: string): Promise<void> {
  const lakeDir = path.join(dataDir, 'lake', spec.name);
  await fs.mkdir(lakeDir, { recursive: true });
  const instance = await benchDuck(dataDir);
  const connection = await instance.connect();
  const { predictions, labels } = generationSql(lakeDir);
  const p = await timed(() => connection.run(predictions));
  const l = await timed(() => connection.run(labels));
  connection.closeSync();
  instance.closeSync();
  const size = async (dir: string) => {
    let total = 0;
    for (const entry of await fs.readdir(dir, { recursive: true })) total += (await fs.stat(path.join(dir, String(entry)))).size;
    return total;
  };
  console.log(
    `  generate: predictions ${fmt(p.ms)} (${mb(await size(path.join(lakeDir, 'predictions')))}), labels ${fmt(l.ms)} (${mb(await size(path.join(lakeDir, 'labels')))})`,
  );
  results.push({ step: `generate ${ROWS.toLocaleString('en')} predictions + labels`, first: p.ms + l.ms, median: p.ms + l.ms, cpu: p.cpuMs + l.cpuMs, note: '' });
}

// ------------------------------------------------------------------ SQL binning alternative (--compare)
/** The same drift inputs computed in SQL: PSI bin counts per numerical feature and category counts. */
async function sqlHistograms(dataDir: string, profile: DriftProfile, from: Date, to: Date): Promise<number> {
  const instance = await benchDuck(dataDir);
  const connection = await instance.connect();
  const files = `read_parquet('${path.join(dataDir, 'lake', spec.name, 'predictions')}/*/*.parquet', hive_partitioning = false)`;
  const where = `ts >= make_timestamp(${from.getTime() * 1000}) AND ts < make_timestamp(${to.getTime() * 1000}) AND variant = 'champion'`;
  let groups = 0;
  const parts: string[] = [];
  for (const f of profile.features) {
    if (f.type === 'numerical' && f.histogram) {
      const inner = f.histogram.edges.slice(1, -1) as number[];
      const bin = inner.map((e) => `(${f.name} >= ${e})::INT`).join(' + ') || '0';
      parts.push(`SELECT '${f.name}' AS feature, (CASE WHEN ${f.name} IS NULL OR isnan(${f.name}) THEN -1 ELSE ${bin} END)::VARCHAR AS bucket, count(*) AS n FROM w GROUP BY ALL`);
    } else if (f.type === 'categorical') {
      parts.push(`SELECT '${f.name}', ${f.name}, count(*) FROM w GROUP BY ALL`);
    }
  }
  await connection.run(`CREATE TEMP TABLE w AS SELECT ${[...numNames, ...catNames].join(', ')} FROM ${files} WHERE ${where}`);
  groups = (await connection.runAndReadAll(parts.join(' UNION ALL '))).currentRowCount;
  connection.closeSync();
  instance.closeSync();
  return groups;
}

// ------------------------------------------------------------------ main
async function main(): Promise<void> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'lake-bench-'));
  console.log(`lake benchmark: ${ROWS.toLocaleString('en')} predictions x ${NUM + CAT} features over ${DAYS} days, ${REPS} reps, data in ${dataDir}`);
  const backend = new LakeDataBackend({ dataDir, threads: THREADS });
  try {
    await generate(dataDir);
    const to = new Date(END);
    const from = new Date(END - 7 * DAY);

    // The reference profile is built once per trained model and stored; here from the first 7 days.
    const reference = await timed(() => backend.readWindow(spec, { from: new Date(START), to: new Date(START + 7 * DAY) }));
    const profileTime = await timed(async () => buildProfile(reference.value.columns, { features: spec.features }));
    console.log(`  reference profile (setup, not part of the check): read ${fmt(reference.ms)}, buildProfile ${fmt(profileTime.ms)}`);
    const profile = profileTime.value;
    reference.value.columns = {};

    const readMs: number[] = [];
    const compareMs: number[] = [];
    await bench(
      '7-day drift check (readWindow + compareToProfile)',
      async () => {
        const w = await timed(() => backend.readWindow(spec, { from, to }));
        const c = await timed(async () => compareToProfile(profile, w.value.columns));
        readMs.push(w.ms);
        compareMs.push(c.ms);
        return { rows: w.value.rowCount, drifted: c.value.driftedFeatureNames, files: w.value.filesRead };
      },
      (v) => `[${v.rows.toLocaleString('en')} rows from ${v.files} files; drifted: ${v.drifted.join(', ') || 'none'}]`,
    );
    console.log(`    of which readWindow median ${fmt(median(readMs))}, compareToProfile median ${fmt(median(compareMs))}`);
    results.push({ step: '  readWindow part', first: readMs[0], median: median(readMs), cpu: NaN, note: '' });
    results.push({ step: '  compareToProfile part', first: compareMs[0], median: median(compareMs), cpu: NaN, note: '' });

    if (args.includes('--compare')) {
      await bench('  alternative: histograms in SQL (no KS/Wasserstein sample)', () => sqlHistograms(dataDir, profile, from, to), (g) => `[${g} groups]`);
    }

    await bench(
      '7-day matured labels + accuracy/AUC',
      async () => {
        const m = await backend.maturedLabels(spec, { from, to, asOf: to, variant: 'champion' });
        return { count: m.count, acc: accuracy(m.labels, m.predictions), auc: rocAuc(m.labels, m.scores) };
      },
      (v) => `[${v.count.toLocaleString('en')} matured; accuracy ${v.acc.toFixed(4)}, AUC ${v.auc.toFixed(4)}]`,
    );

    // A canary step's evidence: 4.5 days (~1.5 M predictions at the default 10 M rows), labels as of its end.
    await bench('  servedEvidence over a 4.5-day canary step', () => backend.servedEvidence(spec, { from: END - 4.5 * DAY, to: END, asOf: END }), (e) => `[${(e.variants.champion.requests + e.variants.challenger.requests).toLocaleString('en')} predictions, ${e.variants.challenger.requests.toLocaleString('en')} challenger, ${(e.variants.champion.labelled + e.variants.challenger.labelled).toLocaleString('en')} labelled]`);

    const datasetsDir = path.join(dataDir, 'datasets', spec.name);
    await bench(
      '90-day dataset build',
      async () => {
        await fs.rm(datasetsDir, { recursive: true, force: true }); // force a real build each repetition
        return backend.buildDataset(spec, { asOf: to });
      },
      (d) => `[${d.datasetId}: train ${d.rowCounts.train.toLocaleString('en')}, validation ${d.rowCounts.validation.toLocaleString('en')}, holdout ${d.rowCounts.holdout.toLocaleString('en')}]`,
    );
    await bench('  dataset build again, same inputs (reused)', () => backend.buildDataset(spec, { asOf: to }), (d) => `[reused: ${d.reused}]`);

    const batches = Array.from({ length: 20 }, (_, b) =>
      Array.from({ length: 1000 }, (_, i) => ({
        request_id: `w${b}-${i}`,
        ts: new Date(END - DAY + b * 1000 + i),
        model_version: 'v1',
        variant: 'champion' as const,
        entity_id: null,
        features: Object.fromEntries([...numNames.map((n) => [n, i / 7]), ...catNames.map((n) => [n, `v${i % 3}`])]),
        prediction: 1,
        score: 0.7,
        latency_ms: 4,
      })),
    );
    let next = 0;
    await bench('appendPredictions, one 1,000-row batch', () => backend.appendPredictions(spec, batches[next++ % batches.length]), (r) => `[${r.files.length} file]`, 20);

    console.log(`\npeak RSS ${mb(peakRss)}`);
    console.log('\n| step | median wall | first wall | median CPU | notes |\n|---|---|---|---|---|');
    for (const r of results) console.log(`| ${r.step} | ${fmt(r.median)} | ${fmt(r.first)} | ${Number.isNaN(r.cpu) ? '' : fmt(r.cpu)} | ${r.note} |`);
    console.log(`| peak RSS | ${mb(peakRss)} | | | |`);
  } finally {
    await backend.close();
    if (!args.includes('--keep')) rmSync(dataDir, { recursive: true, force: true });
    else console.log(`kept ${dataDir}`);
  }
}

await main();

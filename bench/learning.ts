/**
 * `npm run bench:learning` (issue 19, item 4): prequential accuracy over time of the three learning
 * strategies of seed 002 on seeded drift streams (river's generators, bench/learning/streams.py),
 * and the compute each spent, beside river's own online logistic regression (bench/learning/peer.py).
 *
 *   npm run bench:learning [-- --only sea_recurring,sea_stable] [--lookback-days 3] [--learning-rate 0.05] [--regenerate]
 *
 * Every stream is served in order, ROWS_PER_MINUTE rows a simulated minute, each label arriving
 * right after its prediction (label delay 0). The champion is the built-in trainer's model of the
 * first 3 days. Then:
 *   batch    the champion, replaced only by the pipeline: hourly checks feed the matured errors to
 *            the monitor's own performance charts (championCharts, src/monitoring/check.ts) and
 *            evaluateTriggers (cooldown, back-off) decides; a run trains the built-in trainer
 *            (runBuiltinJob) on the trailing lookback window with the lake's 80/10/10 time split,
 *            the gate compares both models on that holdout (minImprovement), a winner serves from
 *            the next check.
 *   online   an OnlineLinearLearner from the champion, never retrained: every simulated minute the
 *            gateway serves the current weights, then the minute's labels update them (at most
 *            maxUpdatesPerMinute, evenSample).
 *   hybrid   blendPrediction (0.7 / 0.3) of the batch arm's champion and an online learner that
 *            restarts from each promoted champion (issue 19, item 3).
 *   river    LogisticRegression with a StandardScaler / OneHotEncoder pipeline, predict_one then
 *            learn_one, after one pass over the same training rows.
 * Figures come from one scorer (this file) on every arm's per-row right/wrong.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { isEncodedCategorical, type FeatureColumns } from '../src/backends/models/columns.js';
import type { LinearModel } from '../src/backends/models/format.js';
import { LinearScorer } from '../src/backends/models/linear-scorer.js';
import { runBuiltinJob } from '../src/backends/training/builtin-core.js';
import { readParquetColumns } from '../src/backends/training/parquet.js';
import { learning as learningSchema } from '../src/config/learning.js';
import { model as modelSchema, type ModelSpec } from '../src/config/schema.js';
import { evaluateTriggers } from '../src/drift/decisions/triggers.js';
import { multiChartResult, updateMultiChart, type MultiChartState } from '../src/drift/decisions/index.js';
import { blendPrediction } from '../src/learning/blend.js';
import { evenSample, OnlineLinearLearner } from '../src/learning/online-learner.js';
import { championCharts } from '../src/monitoring/check.js';
import { ensurePythonPeers, peersPython } from '../scripts/install-python-peers.js';

const HERE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'learning');
const OUT = path.join(HERE, '.out');
/** Accuracy windows: 1,000 rows (±1 point of binomial noise at 90 % accuracy). */
const WINDOW = 1000;
/** The pre-drift level: the arm's accuracy over the rows just before the drift. */
const PRE_DRIFT_ROWS = 5000;
/** Recovered: two consecutive windows within this of the pre-drift level (one could be noise). */
const RECOVERED_WITHIN = 0.02;
const START = Date.parse('2026-01-01T00:00:00Z');
const MINUTE = 60_000;

interface Meta {
  stream: string;
  description: string;
  features: Array<{ name: string; type: 'numerical' | 'categorical' }>;
  calendar: { rowsPerMinute: number; rowsPerDay: number };
  rows: number;
  trainRows: number;
  servedRows: number;
  drifts: Array<{ kind: string; start: number; end?: number; description: string }>;
}

type Arm = 'batch' | 'online' | 'hybrid' | 'river';
const ARMS: Arm[] = ['batch', 'online', 'hybrid', 'river'];

interface ArmRun {
  /** 1 where the arm's served prediction was right, per served row. */
  correct: Uint8Array;
  cpuMs: number;
  /** Examples that went through a gradient: epochs × rows per retrain, or one per online step. */
  gradientRows: number;
  retrains: number;
  refused: number;
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const only = argValue('--only')?.split(',');
const lookbackDays = Number(argValue('--lookback-days') ?? 3);
/** To see the tracking-versus-noise trade-off; the figures in the README use the config's default. */
const learningRateOverride = argValue('--learning-rate');
const learningSettings = () => learningSchema.parse(learningRateOverride ? { learningRate: Number(learningRateOverride) } : {});

const cpuMs = (since: NodeJS.CpuUsage) => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
};

/** Rows [from, to) of every column (numerical: a view; categorical: codes view, same dictionary). */
function sliceColumns(columns: FeatureColumns, from: number, to: number): FeatureColumns {
  const out: FeatureColumns = {};
  for (const [name, column] of Object.entries(columns)) {
    if (isEncodedCategorical(column)) out[name] = { codes: column.codes.subarray(from, to), dictionary: column.dictionary };
    else if (column instanceof Float64Array) out[name] = column.subarray(from, to);
    else out[name] = column.slice(from, to);
  }
  return out;
}

function specOf(meta: Meta): ModelSpec {
  return modelSchema.parse({
    name: `bench-${meta.stream.replaceAll('_', '-')}`,
    task: 'binary_classification',
    features: meta.features,
    // Labels arrive within the minute of their prediction (the schema wants a delay above zero).
    label: { name: 'label', delay: '1m' },
    monitor: { every: '1h' },
    trainer: { backend: 'builtin' },
    data: { lookback: `${lookbackDays}d` },
    // Drift is not replayed here (see the README): the performance trigger is the one that fires on concept drift.
    triggers: { drift: { enabled: false } },
  });
}

/** The built-in trainer on rows [from, to) with the lake's time split (train, validation, holdout). */
class Trainer {
  private runs = 0;
  constructor(
    private readonly spec: ModelSpec,
    private readonly rowsFile: string,
    private readonly scratch: string,
    private readonly duck: DuckDBConnection,
  ) {}

  async train(from: number, to: number): Promise<{ model: LinearModel; validationAccuracy: number; holdout: string; cpuMs: number; gradientRows: number }> {
    const total = to - from;
    const holdoutRows = Math.round(total * this.spec.data.holdoutFraction);
    const validationRows = Math.round(total * this.spec.data.validationFraction);
    const cuts = { train: [from, to - holdoutRows - validationRows], validation: [to - holdoutRows - validationRows, to - holdoutRows], holdout: [to - holdoutRows, to] };
    const dir = path.join(this.scratch, `run-${++this.runs}`);
    execFileSync('mkdir', ['-p', dir]);
    for (const [split, [a, b]] of Object.entries(cuts)) {
      await this.duck.run(`COPY (SELECT * EXCLUDE (row) FROM read_parquet('${this.rowsFile}') WHERE row >= ${a} AND row < ${b} ORDER BY row) TO '${path.join(dir, `${split}.parquet`)}' (FORMAT parquet)`);
    }
    const trainer = this.spec.trainer as Extract<ModelSpec['trainer'], { backend: 'builtin' }>;
    const started = process.cpuUsage();
    const outcome = await runBuiltinJob({
      task: 'binary_classification',
      algorithm: trainer.algorithm,
      features: this.spec.features,
      labelName: 'label',
      params: trainer.params,
      datasetDir: dir,
      outputDir: path.join(dir, 'model'),
      runId: `bench-${this.runs}`,
    });
    const spent = cpuMs(started);
    const model = JSON.parse(readFileSync(outcome.artifactPath, 'utf8')) as LinearModel;
    return { model, validationAccuracy: outcome.metrics.accuracy as number, holdout: path.join(dir, 'holdout.parquet'), cpuMs: spent, gradientRows: trainer.params.epochs * (cuts.train[1] - cuts.train[0]) };
  }
}

function accuracyOn(model: LinearModel, data: { columns: FeatureColumns; label?: Float64Array; rowCount: number }): number {
  const { predictions } = new LinearScorer(model, '(bench)', '').scoreColumns(data.columns, data.rowCount);
  let right = 0;
  for (let i = 0; i < data.rowCount; i++) if (predictions[i] === data.label![i]) right++;
  return right / data.rowCount;
}

async function runStream(meta: Meta): Promise<{ arms: Record<Arm, ArmRun>; retrainLog: string[]; championCpuMs: number }> {
  const dir = path.join(OUT, meta.stream);
  const rowsFile = path.join(dir, 'rows.parquet');
  const spec = specOf(meta);
  const learning = learningSettings();
  const step = { learningRate: learning.learningRate, l2: learning.l2 };
  const data = await readParquetColumns(rowsFile, spec.features, 'label');
  const labels = data.label!;
  const scratch = mkdtempSync(path.join(tmpdir(), `bench-learning-${meta.stream}-`));
  const instance = await DuckDBInstance.create(':memory:');
  const duck = await instance.connect();
  try {
    const trainer = new Trainer(spec, rowsFile, scratch, duck);
    const first = await trainer.train(0, meta.trainRows);
    const perMinute = meta.calendar.rowsPerMinute;
    const lookbackRows = lookbackDays * meta.calendar.rowsPerDay;
    const served = meta.servedRows;
    const correct = { batch: new Uint8Array(served), online: new Uint8Array(served), hybrid: new Uint8Array(served) };

    // The batch arm's state, as the monitor and the pipeline keep it.
    let champion = first.model;
    let championVersion = 1;
    let charts: MultiChartState = championCharts(spec.triggers.performance, first.validationAccuracy).state;
    let pending: { model: LinearModel; validationAccuracy: number } | undefined;
    let lastRetrainAt: string | undefined;
    const recentRuns: Array<{ closedAt: string; outcome: string }> = [];
    const batchRun: ArmRun = { correct: correct.batch, cpuMs: 0, gradientRows: 0, retrains: 0, refused: 0 };
    const retrainLog: string[] = [];
    let hourErrors: number[] = [];

    const online = new OnlineLinearLearner(first.model, step);
    let hybridOnline = new OnlineLinearLearner(first.model, step);
    // When the hybrid's learner restarted, and from which model: its learning is re-run alone for the CPU figure.
    const hybridRestarts = new Map<number, LinearModel>();
    const scorerOf = (model: LinearModel) => new LinearScorer(model, '(bench)', '');
    let batchScorer = scorerOf(champion);
    const minutes = Math.ceil(served / perMinute);
    const w = learning.weights;

    for (let m = 0; m < minutes; m++) {
      const a = meta.trainRows + m * perMinute;
      const b = Math.min(a + perMinute, meta.rows);
      const n = b - a;
      const columns = sliceColumns(data.columns, a, b);
      // Served: each arm's model as of the start of the minute.
      const batchOut = batchScorer.scoreColumns(columns, n);
      const onlineOut = scorerOf(online.toModel()).scoreColumns(columns, n);
      const hybridOnlineOut = scorerOf(hybridOnline.toModel()).scoreColumns(columns, n);
      for (let i = 0; i < n; i++) {
        const y = labels[a + i];
        const row = a + i - meta.trainRows;
        correct.batch[row] = batchOut.predictions[i] === y ? 1 : 0;
        correct.online[row] = onlineOut.predictions[i] === y ? 1 : 0;
        const blended = blendPrediction(
          { prediction: batchOut.predictions[i], score: batchOut.scores[i] },
          { prediction: hybridOnlineOut.predictions[i], score: hybridOnlineOut.scores[i] },
          w,
          'binary_classification',
          champion.threshold ?? 0.5,
        );
        correct.hybrid[row] = blended.prediction === y ? 1 : 0;
        hourErrors.push(correct.batch[row] ? 0 : 1);
      }
      // The minute's labels arrive (delay 0); the rate bound thins them if there are too many.
      const pick = evenSample(n, learning.maxUpdatesPerMinute);
      const minuteLabels = labels.subarray(a, b);
      online.learn(columns, minuteLabels, n, pick);
      hybridOnline.learn(columns, minuteLabels, n, pick);

      if ((m + 1) % 60 !== 0) continue;
      // The hourly check, at the end of this minute.
      const now = START + (meta.trainRows / perMinute + m + 1) * MINUTE;
      if (pending) {
        // The run started at the previous check ends now: its model serves, a new detector starts.
        champion = pending.model;
        championVersion++;
        batchScorer = scorerOf(champion);
        charts = championCharts(spec.triggers.performance, pending.validationAccuracy).state;
        hybridOnline = new OnlineLinearLearner(champion, step);
        hybridRestarts.set(m + 1, champion);
        pending = undefined;
      }
      charts = updateMultiChart(charts, hourErrors).state;
      hourErrors = [];
      const verdict = multiChartResult(charts);
      const decision = evaluateTriggers(
        spec.triggers,
        {
          model: spec.name,
          checkedAt: new Date(now).toISOString(),
          window: { from: new Date(now - 3_600_000).toISOString(), to: new Date(now).toISOString(), rows: 60 * perMinute },
          champion: { version: championVersion, trainedAt: new Date(START).toISOString() },
          drift: { verdict: 'insufficient_data', evaluatedFeatures: 0, drifted: [], driftShare: 0 },
          sequential: { fired: verdict.fired, statistic: verdict.statistic, threshold: verdict.threshold, baselineError: charts.charts[0].config.baseline, tolerance: spec.triggers.performance.tolerance, samples: verdict.samples, newSamples: 60 * perMinute, lower: verdict.estimate.lower, upper: verdict.estimate.upper },
          newLabels: 0,
          lastRetrainAt,
          recentRuns,
        },
        { now },
      );
      if (decision.fired.length === 0 || decision.heldByCooldown || decision.heldByBackoff) continue;
      // The pipeline: the trailing lookback window of labelled rows up to now, the trainer, the gate.
      const to = b;
      const from = Math.max(0, to - lookbackRows);
      const run = await trainer.train(from, to);
      const holdout = await readParquetColumns(run.holdout, spec.features, 'label');
      const challengerAccuracy = accuracyOn(run.model, holdout);
      const championAccuracy = accuracyOn(champion, holdout);
      const promoted = challengerAccuracy >= championAccuracy + spec.gates.minImprovement;
      batchRun.retrains++;
      batchRun.cpuMs += run.cpuMs;
      batchRun.gradientRows += run.gradientRows;
      if (!promoted) batchRun.refused++;
      // The run takes until the next check (training, gates; no approval or canary): the batch arm's best case.
      const closedAt = new Date(now + 3_600_000).toISOString();
      lastRetrainAt = closedAt;
      recentRuns.unshift({ closedAt, outcome: promoted ? 'promoted' : 'rejected' });
      if (promoted) pending = { model: run.model, validationAccuracy: run.validationAccuracy };
      retrainLog.push(`served row ${to - meta.trainRows} (day ${((to - meta.trainRows) / meta.calendar.rowsPerDay).toFixed(1)}): trained on rows ${from - meta.trainRows}..${to - meta.trainRows}, holdout accuracy ${challengerAccuracy.toFixed(3)} vs champion ${championAccuracy.toFixed(3)}: ${promoted ? 'promoted' : 'refused'}`);
    }

    // Compute of the online learners, re-run alone over the same minutes (the serving above is not theirs).
    const learningAlone = (restarts: Map<number, LinearModel>) => {
      let learner = new OnlineLinearLearner(first.model, step);
      let steps = 0;
      const started = process.cpuUsage();
      for (let m = 0; m < minutes; m++) {
        const restart = restarts.get(m);
        if (restart) {
          steps += learner.updates;
          learner = new OnlineLinearLearner(restart, step);
        }
        const a = meta.trainRows + m * perMinute;
        const b = Math.min(a + perMinute, meta.rows);
        learner.learn(sliceColumns(data.columns, a, b), labels.subarray(a, b), b - a, evenSample(b - a, learning.maxUpdatesPerMinute));
      }
      return { cpuMs: cpuMs(started), steps: steps + learner.updates };
    };
    const onlineAlone = learningAlone(new Map());
    const hybridAlone = learningAlone(hybridRestarts);
    const onlineRun: ArmRun = { correct: correct.online, cpuMs: onlineAlone.cpuMs, gradientRows: onlineAlone.steps, retrains: 0, refused: 0 };
    const hybridRun: ArmRun = {
      correct: correct.hybrid,
      cpuMs: batchRun.cpuMs + hybridAlone.cpuMs,
      gradientRows: batchRun.gradientRows + hybridAlone.steps,
      retrains: batchRun.retrains,
      refused: batchRun.refused,
    };
    const peer = JSON.parse(readFileSync(path.join(dir, 'peer.json'), 'utf8')) as { correct: string; cpuSecondsServed: number; learnedRows: number };
    const riverRun: ArmRun = { correct: Uint8Array.from(peer.correct, (c) => (c === '1' ? 1 : 0)), cpuMs: peer.cpuSecondsServed * 1000, gradientRows: peer.learnedRows - meta.trainRows, retrains: 0, refused: 0 };
    return { arms: { batch: batchRun, online: onlineRun, hybrid: hybridRun, river: riverRun }, retrainLog, championCpuMs: first.cpuMs };
  } finally {
    duck.closeSync();
    instance.closeSync();
    rmSync(scratch, { recursive: true, force: true });
  }
}

// ----------------------------------------------------------------------------- scoring

const mean = (xs: ArrayLike<number>, from = 0, to = xs.length) => {
  let s = 0;
  for (let i = from; i < to; i++) s += xs[i];
  return to > from ? s / (to - from) : NaN;
};

/** Phase boundaries in served rows: the start (and, gradual, the end) of every drift. */
function boundaries(meta: Meta): number[] {
  const cuts = meta.drifts.flatMap((d) => [d.start, ...(d.end !== undefined ? [d.end] : [])]).map((r) => r - meta.trainRows);
  return [0, ...cuts, meta.servedRows];
}

interface DriftScore {
  worst: number;
  /** Rows from the drift's start until two consecutive windows are back within 2 points; null: not within the phase. */
  recovery: number | null;
  /** Rows the recovery was looked for in. */
  horizon: number;
}

function driftScores(meta: Meta, correct: Uint8Array): DriftScore[] {
  return meta.drifts.map((d, k) => {
    const start = d.start - meta.trainRows;
    const next = k + 1 < meta.drifts.length ? meta.drifts[k + 1].start - meta.trainRows : meta.servedRows;
    const pre = mean(correct, Math.max(0, start - PRE_DRIFT_ROWS), start);
    const windows: number[] = [];
    for (let a = start; a + WINDOW <= next; a += WINDOW) windows.push(mean(correct, a, a + WINDOW));
    let recovery: number | null = null;
    for (let i = 0; i + 1 < windows.length; i++) {
      if (windows[i] >= pre - RECOVERED_WITHIN && windows[i + 1] >= pre - RECOVERED_WITHIN) {
        recovery = (i + 1) * WINDOW;
        break;
      }
    }
    return { worst: Math.min(...windows), recovery, horizon: next - start };
  });
}

/** Mean and 95 % interval of the per-window difference a − b (paired: the same rows). */
function pairedDifference(a: Uint8Array, b: Uint8Array): { mean: number; half: number } {
  const diffs: number[] = [];
  for (let s = 0; s + WINDOW <= a.length; s += WINDOW) diffs.push(mean(a, s, s + WINDOW) - mean(b, s, s + WINDOW));
  const m = mean(diffs);
  const sd = Math.sqrt(diffs.reduce((acc, x) => acc + (x - m) ** 2, 0) / (diffs.length - 1));
  return { mean: m, half: (1.98 * sd) / Math.sqrt(diffs.length) };
}

const pct = (x: number) => (100 * x).toFixed(1);
const thousands = (x: number) => Math.round(x).toLocaleString('en-US');

async function main(): Promise<void> {
  const wallStart = performance.now();
  const peers = ensurePythonPeers();
  if (!peers.ok) throw new Error(peers.message);
  const python = peersPython();
  if (!existsSync(path.join(OUT, 'streams.json')) || process.argv.includes('--regenerate')) {
    console.log('# generating the streams (bench/learning/streams.py)');
    execFileSync(python, [path.join(HERE, 'streams.py'), OUT], { stdio: 'inherit' });
  }
  const streams = (JSON.parse(readFileSync(path.join(OUT, 'streams.json'), 'utf8')) as { streams: Array<{ stream: string }> }).streams.map((s) => s.stream).filter((s) => !only || only.includes(s));
  if (process.argv.includes('--regenerate') || streams.some((s) => !existsSync(path.join(OUT, s, 'peer.json')))) {
    console.log('# running the peer (bench/learning/peer.py)');
    execFileSync(python, [path.join(HERE, 'peer.py'), OUT, ...(only ? ['--only', only.join(',')] : [])], { stdio: 'inherit' });
  }

  const table: string[] = [];
  const differences: string[] = [];
  const notes: string[] = [];
  for (const stream of streams) {
    const meta = JSON.parse(readFileSync(path.join(OUT, stream, 'meta.json'), 'utf8')) as Meta;
    const started = performance.now();
    const { arms, retrainLog, championCpuMs } = await runStream(meta);
    const cuts = boundaries(meta);
    const windowsCsv = ['window_start,' + ARMS.join(',')];
    for (let s = 0; s + WINDOW <= meta.servedRows; s += WINDOW) windowsCsv.push(`${s},${ARMS.map((arm) => mean(arms[arm].correct, s, s + WINDOW).toFixed(4)).join(',')}`);
    writeFileSync(path.join(OUT, stream, 'windows.csv'), windowsCsv.join('\n') + '\n');
    for (const arm of ARMS) {
      const r = arms[arm];
      const phases = cuts.slice(1).map((end, k) => pct(mean(r.correct, cuts[k], end))).join(' · ');
      const scores = driftScores(meta, r.correct);
      const worst = scores.length ? scores.map((s) => pct(s.worst)).join(' · ') : '—';
      const recovery = scores.length ? scores.map((s) => (s.recovery === null ? `> ${thousands(s.horizon)}` : thousands(s.recovery))).join(' · ') : '—';
      const retrains = arm === 'batch' || arm === 'hybrid' ? `${r.retrains} (${r.refused} refused)` : '—';
      table.push(`| ${stream} | ${arm} | ${pct(mean(r.correct))} | ${phases} | ${worst} | ${recovery} | ${thousands(r.cpuMs)} | ${thousands(r.gradientRows)} | ${retrains} |`);
    }
    for (const arm of ['online', 'hybrid', 'river'] as const) {
      const d = pairedDifference(arms[arm].correct, arms.batch.correct);
      differences.push(`| ${stream} | ${arm} − batch | ${d.mean >= 0 ? '+' : ''}${pct(d.mean)} ± ${pct(d.half)} |`);
    }
    notes.push(`${stream}: champion trained in ${thousands(championCpuMs)} ms CPU; ${retrainLog.length ? retrainLog.join('; ') : 'no retrain'} (${((performance.now() - started) / 1000).toFixed(1)} s)`);
    console.log(`# ${notes.at(-1)}`);
  }

  const learning = learningSettings();
  console.log(`\n## bench:learning (${new Date().toISOString().slice(0, 10)}; lookback ${lookbackDays} d; learningRate ${learning.learningRate}, maxUpdatesPerMinute ${learning.maxUpdatesPerMinute}, weights ${learning.weights.batch}/${learning.weights.online})\n`);
  console.log(`Prequential accuracy (%) over the served rows; phases split at each drift's start (and a gradual drift's end); worst ${WINDOW.toLocaleString('en-US')}-row window after each drift; rows until two consecutive windows are back within ${RECOVERED_WITHIN * 100} points of the arm's accuracy over the ${PRE_DRIFT_ROWS.toLocaleString('en-US')} rows before the drift; CPU ms of learning over the served rows (retrains, online steps; river: its loop); rows through a gradient.\n`);
  console.log('| stream | arm | accuracy | per phase | worst window after drift | recovery (rows) | CPU ms | gradient rows | retrains |');
  console.log('|---|---|--:|---|---|---|--:|--:|---|');
  for (const r of table) console.log(r);
  console.log(`\nDifference from batch, per ${WINDOW.toLocaleString('en-US')}-row window, paired (mean ± 95 % interval, points):\n`);
  console.log('| stream | arms | difference |');
  console.log('|---|---|--:|');
  for (const r of differences) console.log(r);
  console.log(`\n${((performance.now() - wallStart) / 1000).toFixed(0)} s in all.`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exitCode = 1;
});

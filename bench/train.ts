/**
 * Benchmark: the built-in trainer (logistic regression, worker thread) against scikit-learn's
 * LogisticRegression on the same 1M-row dataset (20 numerical + 5 categorical features), same
 * preprocessing idea and same L2 strength. Each side runs in its own fresh process so peak RSS is
 * its own; runs alternate sides; medians are reported with holdout accuracy/AUC for fairness.
 *
 *   npx tsx bench/train.ts [--runs 3] [--rows 1000000] [--fresh]
 *
 * The dataset is generated once with DuckDB into bench/.out/ (git-ignored) and reused.
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureSklearnDeps } from '../examples/trainers/sklearn/install.js';
import { model as modelSchema } from '../src/config/schema.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const NUMERICAL = 20;
const CARDINALITIES = [5, 10, 20, 50, 3];
const L2 = 1e-4;
const FEATURES = [
  ...Array.from({ length: NUMERICAL }, (_, j) => ({ name: `x${j}`, type: 'numerical' as const })),
  ...CARDINALITIES.map((_, k) => ({ name: `c${k}`, type: 'categorical' as const })),
];
const spec = modelSchema.parse({
  name: 'bench',
  task: 'binary_classification',
  features: FEATURES,
  label: { name: 'label' },
  trainer: { backend: 'builtin', params: { l2: L2 }, timeout: '1h' },
});

function arg(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

/** Deterministic synthetic data: hash-based uniforms, nulls in 5 numerical and all categorical columns. */
async function generate(dir: string, rows: number): Promise<void> {
  const u = (k: number) => `((hash(i, ${k}) % 1000003)::DOUBLE + 0.5) / 1000003`;
  const normal = (k: number) => `(sqrt(-2 * ln(${u(k)})) * cos(2 * pi() * ${u(k + 1000)}))`;
  const nums = Array.from({ length: NUMERICAL }, (_, j) => `CASE WHEN ${u(300 + j)} < ${j < 5 ? 0.02 : 0} THEN NULL ELSE ${normal(j)} * ${1 + j * 3} + ${j * 10} END AS x${j}`);
  const cats = CARDINALITIES.map((c, k) => `CASE WHEN ${u(500 + k)} < 0.01 THEN NULL ELSE 'v' || (hash(i, ${100 + k}) % ${c}) END AS c${k}`);
  const beta = Array.from({ length: NUMERICAL }, (_, j) => (j % 3 === 0 ? 0 : ((j * 37) % 11) / 10 - 0.5));
  const logit = [
    ...beta.map((b, j) => `${b} * coalesce((x${j} - ${j * 10}) / ${1 + j * 3}, 0)`),
    ...CARDINALITIES.map((_, k) => `coalesce(((hash(c${k}) % 100)::DOUBLE / 50 - 1) * 0.8, 0)`),
  ].join(' + ');
  await mkdir(dir, { recursive: true });
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  await c.run(`CREATE TABLE base AS SELECT i, ${[...nums, ...cats].join(', ')} FROM range(${rows}) t(i)`);
  await c.run(`CREATE TABLE d AS SELECT 'r' || i AS request_id, TIMESTAMP '2024-01-01' + to_seconds(i::BIGINT) AS ts, * EXCLUDE (i),
    (CASE WHEN ${u(999)} < 1 / (1 + exp(-(${logit}))) THEN 1 ELSE 0 END)::DOUBLE AS label, i FROM base`);
  const splits = { train: [0, 0.8], validation: [0.8, 0.9], holdout: [0.9, 1] } as const;
  for (const [name, [lo, hi]] of Object.entries(splits)) {
    await c.run(`COPY (SELECT * EXCLUDE (i) FROM d WHERE i >= ${lo * rows} AND i < ${hi * rows} ORDER BY i) TO '${path.join(dir, `${name}.parquet`)}' (FORMAT parquet)`);
  }
  const rowCounts = Object.fromEntries(Object.entries(splits).map(([k, [lo, hi]]) => [k, Math.round((hi - lo) * rows)]));
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify({ datasetId: `bench-${rows}`, model: 'bench', rowCounts, features: FEATURES, labelColumn: 'label' }, null, 2));
  c.closeSync();
  instance.closeSync();
}

interface SideResult {
  wallS: number;
  peakRssMb: number;
  holdout: { accuracy: number; roc_auc: number };
  extra?: string;
}

function runProcess(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${command} exited with ${code}`))));
  });
}

/** Child mode: one built-in training run in this fresh process, then holdout evaluation. */
async function childBuiltin(datasetDir: string, outputDir: string): Promise<void> {
  const { BuiltinTrainingBackend, evaluate } = await import('../src/backends/training/index.js');
  const result = await new BuiltinTrainingBackend().train({ spec, datasetDir, outputDir, runId: 'bench' }, { signal: new AbortController().signal, onProgress: () => undefined });
  const peakRssMb = process.resourceUsage().maxRSS / 1024; // before evaluation, which is not part of training
  const holdout = await evaluate(result.artifactUri, path.join(datasetDir, 'holdout.parquet'), spec);
  const out: SideResult = {
    wallS: result.wallMs / 1000,
    peakRssMb,
    holdout: { accuracy: holdout.metrics.accuracy ?? Number.NaN, roc_auc: holdout.metrics.roc_auc ?? Number.NaN },
  };
  process.stdout.write(JSON.stringify(out));
}

async function runBuiltin(datasetDir: string, outputDir: string): Promise<SideResult> {
  const self = fileURLToPath(import.meta.url);
  return JSON.parse(await runProcess(process.execPath, [...process.execArgv, self, '--child-builtin', datasetDir, outputDir]));
}

async function runPeer(datasetDir: string, python: string, pythonPath: string): Promise<SideResult> {
  const out = JSON.parse(await runProcess(python, [path.join(HERE, 'train_peer.py'), datasetDir, JSON.stringify(FEATURES), 'label', String(L2)], { ...process.env, PYTHONPATH: pythonPath }));
  return { wallS: out.wall_s, peakRssMb: out.peak_rss_mb, holdout: out.holdout, extra: `lbfgs ${out.n_iter} iterations, fit ${out.fit_s.toFixed(2)} s` };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

async function main(): Promise<void> {
  const childAt = process.argv.indexOf('--child-builtin');
  if (childAt >= 0) return childBuiltin(process.argv[childAt + 1], process.argv[childAt + 2]);

  const rows = arg('rows', 1_000_000);
  const runs = arg('runs', 3);
  const datasetDir = path.join(HERE, '.out', `train-dataset-${rows}`);
  const marker = path.join(datasetDir, '.complete-v1');
  if (process.argv.includes('--fresh') || !existsSync(marker)) {
    await rm(datasetDir, { recursive: true, force: true });
    const started = performance.now();
    await generate(datasetDir, rows);
    await writeFile(marker, 'ok\n');
    console.log(`generated ${rows} rows × ${FEATURES.length} features in ${((performance.now() - started) / 1000).toFixed(1)} s → ${datasetDir}`);
  }
  const deps = await ensureSklearnDeps({ log: (line) => console.log(line) });
  if (!deps.ok) throw new Error(`scikit-learn peer unavailable: ${deps.reason}`);
  const versions = await runProcess(deps.python, ['-c', 'import sys, sklearn, numpy; print(sys.version.split()[0], sklearn.__version__, numpy.__version__)'], { ...process.env, PYTHONPATH: deps.pythonPath });
  const [py, sk, np] = versions.trim().split(' ');
  console.log(`node ${process.version}, python ${py}, scikit-learn ${sk}, numpy ${np}; ${os.cpus().length} cores; ${runs} runs each, alternating`);

  const ours: SideResult[] = [];
  const peer: SideResult[] = [];
  const outputDir = path.join(os.tmpdir(), `retrain-bench-${process.pid}`);
  for (let r = 0; r < runs; r++) {
    const order = r % 2 === 0 ? ['ours', 'peer'] : ['peer', 'ours'];
    for (const side of order) {
      if (side === 'ours') ours.push(await runBuiltin(datasetDir, outputDir));
      else peer.push(await runPeer(datasetDir, deps.python, deps.pythonPath));
      const last = side === 'ours' ? ours.at(-1)! : peer.at(-1)!;
      console.log(`  run ${r + 1} ${side === 'ours' ? 'built-in' : 'sklearn '}: ${last.wallS.toFixed(2)} s, peak ${Math.round(last.peakRssMb)} MB, holdout AUC ${last.holdout.roc_auc.toFixed(4)}${last.extra ? ` (${last.extra})` : ''}`);
    }
  }
  await rm(outputDir, { recursive: true, force: true });

  const row = (name: string, xs: SideResult[]) => ({
    name,
    wall: median(xs.map((x) => x.wallS)),
    rss: median(xs.map((x) => x.peakRssMb)),
    acc: median(xs.map((x) => x.holdout.accuracy)),
    auc: median(xs.map((x) => x.holdout.roc_auc)),
  });
  const a = row('built-in (worker thread, SGD)', ours);
  const b = row('scikit-learn LogisticRegression', peer);
  console.log(`\nmedians over ${runs} runs, ${rows} rows (${Math.round(rows * 0.8)} train)`);
  console.log('trainer                           wall s   peak RSS MB   holdout acc   holdout AUC');
  for (const x of [a, b]) {
    console.log(`${x.name.padEnd(32)} ${x.wall.toFixed(2).padStart(7)}   ${Math.round(x.rss).toString().padStart(11)}   ${x.acc.toFixed(4).padStart(11)}   ${x.auc.toFixed(4).padStart(11)}`);
  }
  const ratio = a.wall / b.wall;
  console.log(`\nwall-time ratio built-in / sklearn: ${ratio.toFixed(2)}× (goal ≤ 2×: ${ratio <= 2 ? 'met' : 'NOT met'}); memory ratio ${(a.rss / b.rss).toFixed(2)}×`);
  await writeFile(path.join(HERE, '.out', 'train-result.json'), JSON.stringify({ rows, runs, ours, peer, medians: { builtin: a, sklearn: b, ratio } }, null, 2));
}

await main();

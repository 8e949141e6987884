/**
 * `npm run bench:decisions`: the product's retraining decisions, replayed by `retrain backtest` on
 * standard drift streams (river's generators, made by the committed, seeded bench/decisions/streams.py),
 * beside river's ADWIN and DDM on the champion's matured error stream and Evidently's default
 * data-drift preset on the same windows (bench/decisions/peers.py). Every policy is scored by the
 * same code (bench/decisions/scoring.py): needed drifts detected, delay in hours, false alarms per
 * 100 checks, pipelines a month.
 *
 *   npm run bench:decisions [-- --only sea_abrupt_d40,stable] [--set triggers.drift.action=retrain] [--product-only]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { backtest, type BacktestResult } from '../src/monitoring/backtest.js';
import { createLakeBackend } from '../src/backends/data/lake/backend.js';
import { LINEAR_FORMAT, type LinearModel } from '../src/backends/models/format.js';
import { SqliteRegistry } from '../src/backends/registry/sqlite.js';
import { buildModelReference } from '../src/backends/training/reference.js';
import { parseConfig } from '../src/config/load.js';
import type { ModelSpec } from '../src/config/schema.js';
import { ensurePythonPeers, peersPython } from '../scripts/install-python-peers.js';

const HERE = path.join(path.dirname(new URL(import.meta.url).pathname), 'decisions');
const OUT = path.join(HERE, '.out');

interface Meta {
  stream: string;
  description: string;
  expect: string;
  features: Array<{ name: string; type: 'numerical' | 'categorical'; relevant?: boolean }>;
  label: { name: string; delay: string };
  checks: { from: string; to: string; every: string; count: number };
  calendar: { servedFrom: string };
  champion: { validationAccuracy: number };
  costly: boolean;
}

interface Champion {
  featureOrder: string[];
  numerical: Record<string, number>;
  oneHot: Record<string, Record<string, number>>;
  intercept: number;
  threshold: number;
}

interface Scored {
  detected: number;
  needed: number;
  medianDelayHours: number | null;
  falseAlarmsPer100Checks: number | null;
  pipelinesPerMonth: number | null;
}

function argValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}
const only = argValue('--only')?.split(',');
const overrides = process.argv.flatMap((a, i) => (a === '--set' ? [process.argv[i + 1]] : []));

/** The stream's champion (scikit-learn's, folded to raw coefficients) as the product's linear model file. */
function linearModelOf(meta: Meta, champion: Champion): LinearModel {
  const features: LinearModel['features'] = [];
  const weights: number[] = [];
  for (const name of champion.featureOrder) {
    const oneHot = champion.oneHot[name];
    if (oneHot) {
      const vocabulary = Object.keys(oneHot);
      features.push({ name, type: 'categorical', vocabulary });
      weights.push(...vocabulary.map((v) => oneHot[v]), 0);
    } else {
      features.push({ name, type: 'numerical', mean: 0, std: 1, impute: 0 });
      weights.push(champion.numerical[name]);
    }
  }
  return { format: LINEAR_FORMAT, task: 'binary_classification', label: meta.label.name, features, weights, bias: champion.intercept, threshold: champion.threshold };
}

function specOf(meta: Meta): ModelSpec {
  const features = meta.features.map((f) => `      - { name: ${f.name}, type: ${f.type} }`).join('\n');
  return parseConfig(`models:\n  - name: bench-${meta.stream.replace(/_/g, '-')}\n    task: binary_classification\n    features:\n${features}\n    label: { name: ${meta.label.name}, delay: ${meta.label.delay} }\n    monitor: { every: 1h }\n`, 'bench.yaml').models[0];
}

/** One stream through the product: its lake and registry in a scratch folder, then the backtest. */
async function productOn(dir: string, meta: Meta): Promise<{ result: BacktestResult; seconds: number }> {
  const scratch = mkdtempSync(path.join(tmpdir(), `bench-decisions-${meta.stream}-`));
  const spec = specOf(meta);
  const data = createLakeBackend({ dataDir: scratch });
  const registry = new SqliteRegistry({ path: path.join(scratch, 'registry.db') });
  try {
    for (const kind of ['training', 'predictions', 'labels'] as const) await data.importFile(spec, kind, path.join(dir, `${kind}.parquet`));
    const servedFrom = new Date(meta.calendar.servedFrom);
    const dataset = await data.buildDataset(spec, { asOf: servedFrom, source: 'training' });
    const artifact = path.join(scratch, 'champion', 'model.json');
    mkdirSync(path.dirname(artifact), { recursive: true });
    writeFileSync(artifact, JSON.stringify(linearModelOf(meta, JSON.parse(readFileSync(path.join(dir, 'champion.json'), 'utf8')))));
    const version = await registry.registerVersion({
      model: spec.name,
      artifactUri: artifact,
      metrics: { accuracy: meta.champion.validationAccuracy },
      // The profile and the features' importance to this model, from its training and validation splits.
      referenceProfile: await buildModelReference(spec, { artifactPath: artifact, trainParquet: path.join(dataset.datasetDir, 'train.parquet'), validationParquet: path.join(dataset.datasetDir, 'validation.parquet') }),
      trainer: 'external',
      datasetId: dataset.datasetId,
    });
    registry.promote(spec.name, version.version, { actor: 'bench', reason: 'the stream champion' });
    const started = performance.now();
    const result = await backtest({ data, registry }, spec, { from: new Date(meta.checks.from), to: new Date(meta.checks.to), every: meta.checks.every, set: overrides });
    return { result, seconds: (performance.now() - started) / 1000 };
  } finally {
    await data.close();
    registry.close();
    rmSync(scratch, { recursive: true, force: true });
  }
}

/** Alarm times on the hourly schedule, or {checkTime, alarm} records of the checks a policy ran. */
function score(dir: string, name: string, alarms: unknown[]): Scored {
  const file = path.join(dir, `${name}-alarms.json`);
  writeFileSync(file, JSON.stringify(alarms));
  return JSON.parse(execFileSync('python3', [path.join(HERE, 'scoring.py'), '--meta', path.join(dir, 'meta.json'), '--alarms', file], { encoding: 'utf8' })) as Scored;
}

const cell = (s: Scored | undefined, expectFire: boolean) => {
  if (!s) return 'n/a';
  const fa = s.falseAlarmsPer100Checks === null ? '—' : s.falseAlarmsPer100Checks.toFixed(1);
  const pm = s.pipelinesPerMonth === null ? '—' : s.pipelinesPerMonth.toFixed(1);
  return expectFire ? `${s.detected}/${s.needed} · ${s.medianDelayHours === null ? '—' : `${Math.round(s.medianDelayHours)} h`} · ${fa}` : `${fa} · ${pm}/mo`;
};

async function main(): Promise<void> {
  ensurePythonPeers();
  const python = peersPython();
  if (!existsSync(path.join(OUT, 'streams.json')) || process.argv.includes('--regenerate')) {
    console.log('# generating the streams (bench/decisions/streams.py)');
    execFileSync(python, [path.join(HERE, 'streams.py'), OUT], { stdio: 'inherit' });
  }
  const streams = (JSON.parse(readFileSync(path.join(OUT, 'streams.json'), 'utf8')) as { streams: Array<{ stream: string }> }).streams.map((s) => s.stream).filter((s) => !only || only.includes(s));
  if (!process.argv.includes('--product-only') && streams.some((s) => !existsSync(path.join(OUT, s, 'peers', 'adwin.json')))) {
    console.log('# running the peers (bench/decisions/peers.py)');
    execFileSync(python, [path.join(HERE, 'peers.py'), OUT, ...(only ? ['--only', only.join(',')] : [])], { stdio: 'inherit' });
  }

  const rows: string[] = [];
  const pooled: Record<string, { delays: number[]; detected: number; needed: number; falseAlarms: number[]; pipelines: number[] }> = {};
  const pool = (policy: string, s: Scored | undefined, expectFire: boolean) => {
    if (!s) return;
    const p = (pooled[policy] ??= { delays: [], detected: 0, needed: 0, falseAlarms: [], pipelines: [] });
    p.detected += s.detected;
    p.needed += s.needed;
    if (s.medianDelayHours !== null) p.delays.push(s.medianDelayHours);
    if (s.falseAlarmsPer100Checks !== null) p.falseAlarms.push(s.falseAlarmsPer100Checks);
    if (!expectFire && s.pipelinesPerMonth !== null) p.pipelines.push(s.pipelinesPerMonth);
  };
  for (const stream of streams) {
    const dir = path.join(OUT, stream);
    const meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as Meta;
    const { result, seconds } = await productOn(dir, meta);
    writeFileSync(path.join(dir, 'product-decisions.json'), JSON.stringify(result.decisions));
    const product = score(dir, 'product', result.decisions.map((d) => ({ checkTime: d.at, alarm: d.action === 'would_start' })));
    const peers = Object.fromEntries(
      ['adwin', 'ddm', 'evidently'].map((peer) => {
        const file = path.join(dir, 'peers', `${peer}.json`);
        if (!existsSync(file)) return [peer, undefined];
        const decisions = JSON.parse(readFileSync(file, 'utf8')) as Array<{ checkTime: string; alarm: boolean }> | { checks: Array<{ checkTime: string; alarm: boolean }> };
        const list = Array.isArray(decisions) ? decisions : decisions.checks;
        return [peer, score(dir, peer, list.map((d) => ({ checkTime: d.checkTime, alarm: d.alarm })))];
      }),
    ) as Record<string, Scored | undefined>;
    const fire = meta.costly;
    pool('product', product, fire);
    for (const [peer, s] of Object.entries(peers)) pool(peer, s, fire);
    const fired = Object.entries(result.summary).map(([k, s]) => `${k} ${s.started}`).join(', ') || 'none';
    // Drift the checks report (and the violations store keeps), whether or not it started anything:
    // on a quiet stream every such check is noise a person would have to read.
    const reporting = result.decisions.filter((d) => d.evidence.drifted.length > 0).length;
    const driftShare = result.decisions.length ? `${((100 * reporting) / result.decisions.length).toFixed(1)}%` : '—';
    rows.push(`| ${stream} | ${fire ? 'detect' : 'stay quiet'} | ${cell(product, fire)} | ${cell(peers.adwin, fire)} | ${cell(peers.ddm, fire)} | ${cell(peers.evidently, fire)} | ${fired} | ${driftShare} | ${seconds.toFixed(0)} s |`);
    console.log(rows.at(-1));
  }

  const median = (xs: number[]) => (xs.length ? [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)] : null);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
  console.log(`\n## bench:decisions (${new Date().toISOString().slice(0, 10)}${overrides.length ? `, --set ${overrides.join(' ')}` : ', product defaults'})\n`);
  console.log('Streams that need a retrain: detected/needed · median delay · false alarms per 100 checks before the drift. Streams that do not: false alarms per 100 checks · pipelines a month.\n');
  console.log('| stream | should | product | river ADWIN | river DDM | Evidently (daily) | product pipelines by trigger | product checks reporting drift | backtest time |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  console.log('\n| policy | costly drifts detected | median delay (h) | mean false alarms / 100 checks | pipelines a month on quiet streams (max) |');
  console.log('|---|---|---|---|---|');
  for (const [policy, p] of Object.entries(pooled)) {
    const d = median(p.delays);
    const fa = mean(p.falseAlarms);
    console.log(`| ${policy} | ${p.detected}/${p.needed} | ${d === null ? '—' : d.toFixed(0)} | ${fa === null ? '—' : fa.toFixed(2)} | ${p.pipelines.length ? Math.max(...p.pipelines).toFixed(1) : '—'} |`);
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack ?? err.message : err);
  process.exit(1);
});

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { createLakeBackend } from '../../src/backends/data/lake/backend.js';
import { SqliteRegistry } from '../../src/backends/registry/sqlite.js';
import { parseConfig } from '../../src/config/load.js';
import { buildProfile } from '../../src/drift/index.js';
import { mulberry32 } from '../../src/drift/random.js';
import { runCli } from '../helpers/cli.js';

/**
 * `retrain backtest` on a real lake and registry: a champion that predicts `x > 0`, served for 8
 * days; the world keeps that rule for 4 days, then the label follows `x > 1` (a concept change:
 * the inputs do not move, the accuracy falls from ~95% to ~80%). Labels arrive 2 h after each
 * prediction. The replayed monitor must stay quiet before the change and fire after it.
 */
const HOUR = 3_600_000;
const START = Date.parse('2026-03-01T00:00:00Z');
const CHANGE = START + 4 * 24 * HOUR;
const YAML = `models:
  - name: concept
    task: binary_classification
    features: [{ name: x, type: numerical }, { name: noise, type: numerical }]
    label: { name: y, delay: 2h }
    data: { monitorWindow: 6h }
`;

describe('retrain backtest', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'retrain-backtest-'));
  const configFile = path.join(dataDir, 'retrain.yaml');
  const env = { RETRAIN_DATA_DIR: dataDir };
  const args = (...extra: string[]) => ['--config', configFile, 'backtest', 'concept', '--from', '2026-03-01T06:00:00Z', '--to', '2026-03-08T23:00:00Z', '--every', '1h', ...extra];

  before(async () => {
    writeFileSync(configFile, YAML);
    const spec = parseConfig(YAML).models[0];
    const random = mulberry32(42);
    const gaussian = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    const training = Array.from({ length: 4_000 }, () => ({ x: gaussian(), noise: gaussian() }));
    // The champion: logistic on x alone, validated at 95% on the old world (label noise 5%).
    const artifact = path.join(dataDir, 'model.json');
    writeFileSync(artifact, JSON.stringify({ format: 'retrain-linear/v1', task: 'binary_classification', label: 'y', features: [{ name: 'x', type: 'numerical', mean: 0, std: 1, impute: 0 }, { name: 'noise', type: 'numerical', mean: 0, std: 1, impute: 0 }], weights: [4, 0], bias: 0, threshold: 0.5 }));
    const registry = new SqliteRegistry({ path: path.join(dataDir, 'registry.db') });
    const profile = buildProfile({ x: Float64Array.from(training, (r) => r.x), noise: Float64Array.from(training, (r) => r.noise) }, { features: spec.features });
    const v = await registry.registerVersion({ model: 'concept', artifactUri: artifact, metrics: { accuracy: 0.95 }, referenceProfile: profile, trainer: 'external' });
    registry.promote('concept', v.version, { actor: 'test', reason: 'champion' });
    registry.close();

    const lake = createLakeBackend({ dataDir });
    const predictions = [];
    const labels = [];
    for (let i = 0; i < 8 * 24 * 60; i++) {
      const ts = START + i * 60_000; // one request a minute
      const x = gaussian();
      const noise = gaussian();
      const score = 1 / (1 + Math.exp(-4 * x));
      const truth = (ts < CHANGE ? x > 0 : x > 1) ? 1 : 0;
      const y = random() < 0.05 ? 1 - truth : truth;
      predictions.push({ request_id: `r${i}`, ts: new Date(ts), model_version: '1', variant: 'champion' as const, features: { x, noise }, prediction: score >= 0.5 ? 1 : 0, score });
      labels.push({ request_id: `r${i}`, label: y, label_ts: new Date(ts + 2 * HOUR) });
    }
    await lake.appendPredictions(spec, predictions);
    await lake.appendLabels(spec, labels);
    await lake.close();
  });

  it('stays quiet before the concept change and fires on the matured error stream after it; the report is written', async () => {
    const result = await runCli([...args(), '--json'], env);
    assert.equal(result.code, 0, result.stderr);
    const out = JSON.parse(result.stdout) as { decisions: Array<{ at: string; action: string; fired: Array<{ kind: string; reason: string }>; considered: Array<{ kind: string }> }>; pipelines: number; summary: Record<string, { started: number }>; reportPath: string };
    assert.equal(out.decisions.length, 186, '7 days and 18 hours of hourly checks');
    const started = out.decisions.filter((d) => d.action === 'would_start');
    assert.ok(started.length >= 1, 'the change is detected');
    assert.ok(started.every((d) => Date.parse(d.at) > CHANGE), `nothing before the change: ${started.map((d) => d.at).join(', ')}`);
    const delayHours = (Date.parse(started[0].at) - CHANGE) / HOUR;
    // Labels take 2 h; the error rate goes from ~5% to ~17%: a few hundred matured errors suffice.
    assert.ok(delayHours > 2 && delayHours <= 12, `detected ${delayHours} h after the change`);
    assert.deepEqual(Object.keys(out.summary), ['performance']);
    assert.match(started[0].fired[0].reason, /^error rate .* vs the champion's validated 5\.0% \+ 2\.0% tolerance: sequential evidence .* ≥/);
    assert.ok(out.decisions.every((d) => d.considered.some((c) => c.kind === 'performance')), 'every decision says how performance was weighed');
    // After the first start the cooldown (24 h) holds the same evidence back.
    assert.ok(out.decisions.some((d) => d.action === 'cooldown'));
    assert.ok(existsSync(out.reportPath));
    assert.match(readFileSync(out.reportPath, 'utf8'), /Backtest of concept[\s\S]*performance/);
  });

  it('--set tries other settings without editing the file', async () => {
    const result = await runCli([...args('--set', 'triggers.performance.enabled=false', '--set', 'triggers.cooldown=2h')], env);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /186 checks from .* every 1h; 0 pipeline\(s\) would have started/);
    assert.equal(readFileSync(configFile, 'utf8'), YAML, 'the file is untouched');
  });

  it('bad input: one clear message, exit 2', async () => {
    const badSet = await runCli(args('--set', 'triggers.performance.tolerance=lots'), env);
    assert.equal(badSet.code, 2);
    assert.match(badSet.stderr, /triggers\.performance\.tolerance/);
    const badTime = await runCli(['--config', configFile, 'backtest', 'concept', '--from', 'yesterday-ish', '--to', '2026-03-02'], env);
    assert.equal(badTime.code, 2);
    assert.match(badTime.stderr, /--from "yesterday-ish": expected a time/);
    const unknown = await runCli(['--config', configFile, 'backtest', 'nope', '--from', '2026-03-01', '--to', '2026-03-02'], env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /nope/);
  });
});

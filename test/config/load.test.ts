import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig, parseConfig } from '../../src/config/load.js';
import { problemsOf } from '../helpers/config.js';

const MINIMAL = `
models:
  - name: churn
    task: binary_classification
    features: [{ name: tenure, type: numerical }, { name: plan, type: categorical }]
    label: { name: churned }
`;

describe('config: defaults as the README and docs/config-reference.md give them', () => {
  it('fills every policy from a minimal model', () => {
    const [m] = parseConfig(MINIMAL).models;
    assert.equal(m.triggers.drift.psi, 0.15);
    assert.equal(m.triggers.drift.jensenShannon, 0.15);
    assert.equal(m.triggers.drift.ksPValue, 0.01);
    assert.equal(m.triggers.drift.minSamples, 1000);
    // Where a seed number was measured to misfire, the better rule is the default and the number an option.
    assert.equal(m.triggers.performance.baseline, 'champion');
    assert.equal(m.triggers.performance.tolerance, 0.02);
    assert.equal(m.triggers.performance.threshold, undefined);
    assert.equal(m.triggers.drift.action, 'impact');
    assert.equal(m.triggers.drift.thresholds, 'calibrated');
    assert.deepEqual([m.triggers.volume.enabled, m.triggers.volume.newLabels], [false, 5000]);
    assert.deepEqual([m.triggers.maxAge.enabled, m.triggers.labelShift.enabled, m.triggers.backoff.initial], [false, false, '1d']);
    assert.equal(m.gates.minImprovement, 0.01);
    assert.equal(m.gates.leakageCeiling, 0.99);
    assert.equal(m.approval.costAbove, 500);
    assert.equal(m.approval.sla, '4h');
    assert.deepEqual(m.rollout.steps, [
      { weight: 5, duration: '24h' },
      { weight: 25, duration: '48h' },
      { weight: 100 },
    ]);
    assert.deepEqual(
      m.rollout.analysis.metrics.map((x) => [x.kind, x.dryRun ?? false]),
      [['error_rate', false], ['latency', false], ['accuracy_drop', false], ['shadow_agreement', false], ['estimated_accuracy_drop', true], ['score_distance', true]],
    );
    assert.equal(m.rollout.analysis.metrics.find((x) => x.kind === 'accuracy_drop')?.maxDrop, 0.05);
    assert.deepEqual([m.rollout.analysis.interval, m.rollout.analysis.minSamples, m.rollout.analysis.confidence, m.rollout.analysis.onInconclusive], ['15m', 200, 0.95, 'rollback']);
    assert.equal(m.trainer.backend, 'builtin');
    assert.equal(m.monitor.every, '1h');
  });

  it('the demo time profile compresses the story into minutes; production keeps the file as written', () => {
    const demo = parseConfig(`timeProfile: demo\n${MINIMAL}`).models[0];
    assert.deepEqual(demo.rollout.steps, [{ weight: 5, duration: '1m' }, { weight: 25, duration: '2m' }, { weight: 100 }]);
    assert.equal(demo.monitor.every, '1m');
    assert.equal(demo.rollout.analysis.interval, '15s');
    assert.equal(demo.approval.sla, '10m');
    assert.equal(demo.data.lookback, '2d');
    assert.equal(parseConfig(MINIMAL).models[0].rollout.steps[1].duration, '48h');
  });

  it('accepts the shipped retrain.yaml', () => {
    const config = loadConfig(path.resolve('retrain.yaml'));
    assert.deepEqual(config.models.map((m) => [m.name, m.learning.mode]), [['fraud-detector', 'batch'], ['fraud-detector-hybrid', 'hybrid']]);
  });
});

describe('config: bad input gets one clear line per problem', () => {
  it('names the file, the line, the field path and what was expected', () => {
    const text = MINIMAL + `    rollout:\n      steps:\n        - { weight: 5, duration: 1h }\n        - { weight: 250 }\n`;
    assert.deepEqual(problemsOf(text), ['models.yaml:10: models[0].rollout.steps[1].weight: expected a number from 1 to 100']);
  });

  it('a wrong type is named as such, not as a missing field; approver names are normalised', () => {
    const text = MINIMAL + `    trainer: { backend: command, command: "python train.py" }\n    approval: { approvers: ["  ML-Lead ", "Alice"] }\n`;
    assert.deepEqual(problemsOf(text), ['models.yaml:7: models[0].trainer.command: expected the trainer command as a list of arguments, e.g. [python3, train.py] (no shell runs it)']);
    const ok = parseConfig(MINIMAL + `    approval: { approvers: ["  ML-Lead ", "Alice"] }\n`, 'models.yaml');
    assert.deepEqual(ok.models[0].approval.approvers, ['ml-lead', 'alice']);
    assert.match(problemsOf(MINIMAL + `    approval: { approvers: ["al\u200bice"] }\n`).join('\n'), /approval\.approvers\[0\]: a name may not contain control or invisible characters/);
  });

  it('reports unknown fields, wrong types and bad enums together', () => {
    const text = MINIMAL.replace('task: binary_classification', 'task: clustering\n    colour: blue').replace(
      'name: tenure, type: numerical',
      'name: tenure, type: 7',
    );
    const problems = problemsOf(text);
    assert.equal(problems.length, 3);
    assert.match(problems.join('\n'), /models\[0\]: unknown field "colour"/);
    assert.match(problems.join('\n'), /models\[0\]\.task: expected binary_classification, multiclass_classification or regression/);
    assert.match(problems.join('\n'), /models\[0\]\.features\[0\]\.type: expected numerical or categorical/);
  });

  it('points at YAML syntax errors with line and column', () => {
    const [problem] = problemsOf('models:\n  - name: a\n   task: x\n');
    assert.match(problem, /^models\.yaml:\d+:\d+: invalid YAML: /);
  });

  it('refuses durations, duplicate names, unknown slice features and a non-increasing rollout', () => {
    const text =
      MINIMAL +
      `    approval: { sla: soon }\n    gates: { slices: [{ feature: nope }] }\n    rollout: { steps: [{ weight: 50, duration: 1h }, { weight: 20, duration: 1h }, { weight: 100 }] }\n` +
      MINIMAL.replace('models:\n', '');
    const problems = problemsOf(text).join('\n');
    assert.match(problems, /models\[0\]\.approval\.sla: expected a duration such as 15m, 24h or 7d/);
    assert.match(problems, /models\[0\]\.gates\.slices\[0\]\.feature: expected one of the model's features, got "nope"/);
    assert.match(problems, /models\[0\]\.rollout\.steps\[1\]\.weight: expected a weight above the previous step/);
    assert.match(problems, /models\[1\]\.name: duplicate model "churn"/);
  });

  it('the rollout analysis: declared metrics with their conditions; old spellings map onto it; mixing both or a metric of the other task is refused', () => {
    const declared = parseConfig(
      MINIMAL + `    rollout:\n      analysis:\n        interval: 5m\n        labelWait: 4d\n        onInconclusive: ask\n        metrics: [{ kind: accuracy_drop, maxDrop: 0.01 }, { kind: latency, maxRatio: 1.5, name: slow }]\n`,
    ).models[0].rollout.analysis;
    assert.deepEqual([declared.interval, declared.labelWait, declared.onInconclusive, declared.minSamples], ['5m', '4d', 'ask', 200]);
    assert.deepEqual(declared.metrics, [
      { kind: 'accuracy_drop', maxDrop: 0.01 },
      { kind: 'latency', name: 'slow', quantile: 'p99', maxRatio: 1.5, minMarginMs: 5 },
    ]);
    // A file written before rollout.analysis: its limits become the metrics', the rest keep their defaults.
    const old = parseConfig(MINIMAL + `    rollout: { analysisInterval: 10m, minSamples: 50, failureLimit: 3, rollbackOn: { maxAccuracyDrop: 0.02, maxP99LatencyMs: 250 } }\n`).models[0].rollout;
    assert.deepEqual([old.analysis.interval, old.analysis.minSamples, old.analysis.failureLimit], ['10m', 50, 3]);
    assert.equal(old.analysis.metrics.find((m) => m.kind === 'accuracy_drop')?.maxDrop, 0.02);
    assert.equal(old.analysis.metrics.find((m) => m.kind === 'latency')?.maxMs, 250);
    assert.equal(old.analysis.metrics.find((m) => m.kind === 'error_rate')?.max, 0.02);
    assert.equal('analysisInterval' in old, false);

    assert.match(problemsOf(MINIMAL + `    rollout: { minSamples: 50, analysis: { interval: 5m } }\n`).join('\n'), /rollout\.minSamples: expected minSamples inside rollout\.analysis/);
    assert.match(problemsOf(MINIMAL + `    rollout: { analysis: { metrics: [{ kind: p95 }] } }\n`).join('\n'), /rollout\.analysis\.metrics\[0\]\.kind: expected a metric kind: error_rate, latency/);
    const wrongTask = problemsOf(MINIMAL + `    rollout: { analysis: { metrics: [{ kind: error_increase }] } }\n`).join('\n');
    assert.match(wrongTask, /rollout\.analysis\.metrics\[0\]\.kind: error_increase judges regression models; this model is binary_classification/);
    const regression = parseConfig(MINIMAL.replace('binary_classification', 'regression')).models[0].rollout.analysis.metrics.map((m) => m.kind);
    assert.deepEqual(regression, ['error_rate', 'latency', 'error_increase', 'shadow_agreement', 'score_distance']);
  });

  it('defaults follow the task: a regression model is judged by rmse, with no absolute floor, needing to be at least as good', () => {
    const [binary] = parseConfig(MINIMAL).models;
    assert.deepEqual([binary.gates.metric, binary.gates.floor, binary.gates.minImprovement, binary.triggers.performance.metric], ['accuracy', 0.9, 0.01, 'accuracy']);
    const [regression] = parseConfig(MINIMAL.replace('binary_classification', 'regression')).models;
    assert.deepEqual([regression.gates.metric, regression.gates.floor, regression.gates.minImprovement, regression.triggers.performance.metric], ['rmse', undefined, 0, 'rmse']);
    // What the file sets is kept.
    const [own] = parseConfig(MINIMAL.replace('binary_classification', 'regression') + `    gates: { metric: mae, floor: 12.5, minImprovement: 0.3 }
    triggers: { performance: { metric: mae } }
`).models;
    assert.deepEqual([own.gates.metric, own.gates.floor, own.gates.minImprovement, own.triggers.performance.metric], ['mae', 12.5, 0.3, 'mae']);
    // A metric the task cannot be judged on is refused, naming where.
    const wrong = problemsOf(MINIMAL.replace('binary_classification', 'regression') + `    gates: { metric: accuracy }
`).join('\n');
    assert.match(wrong, /models\[0\]\.gates\.metric: accuracy does not judge a regression model; expected one of mae, rmse/);
    assert.match(problemsOf(MINIMAL + `    triggers: { performance: { metric: rmse } }
`).join('\n'), /triggers\.performance\.metric: rmse does not judge a binary classification model/);
    // A malformed section is still named by the schema, not by the defaults.
    assert.match(problemsOf(MINIMAL + `    gates: 3
`).join('\n'), /models\[0\]\.gates: /);
  });

  it('says when the file is missing, and loading changes nothing on disk', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'retrain-config-'));
    assert.throws(() => loadConfig(path.join(dir, 'absent.yaml')), /absent\.yaml: file not found/);
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, 'models: []\n');
    assert.throws(() => loadConfig(bad), /models: expected at least one model/);
    assert.equal(readFileSync(bad, 'utf8'), 'models: []\n');
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { SqliteRegistry, type ViolationInput, type ViolationSummary } from '../../src/backends/registry/index.js';
import { runCli } from '../helpers/cli.js';

/**
 * `retrain violations <model>` as the real CLI, against a registry seeded with the violations of
 * checks on several UTC days: newest first, each feature's recurrence over the last 30 days.
 */
const DAY = 86_400_000;
const HOUR = 3_600_000;
const dir = mkdtempSync(path.join(tmpdir(), 'retrain-violations-cli-'));
const dataDir = path.join(dir, 'data');
const configFile = path.join(dir, 'retrain.yaml');
const env = { RETRAIN_DATA_DIR: dataDir };
const YAML = `models:
  - name: churn
    task: binary_classification
    features: [{ name: amount, type: numerical }, { name: plan, type: categorical }]
    label: { name: churned, delay: 1d }
  - name: fraud
    task: binary_classification
    features: [{ name: amount, type: numerical }]
    label: { name: is_fraud, delay: 1h }
`;

// Whole UTC days back from today's midnight, so the day counts do not depend on the hour the test runs.
const today = Math.floor(Date.now() / DAY) * DAY;
const daysAgo = (days: number, hour: number) => new Date(today - days * DAY + hour * HOUR);

const amount = (score: number): ViolationInput => ({
  feature: 'amount', statistic: 'psi', score, threshold: 0.15, importanceShare: 0.62, championVersion: 2,
  decision: 'retrain_warranted', decisionReason: 'amount (0.41 vs 0.15, importance 62%) drifted; estimated loss 0.05 exceeds the tolerance 0.02',
});
const plan = (score: number): ViolationInput => ({
  feature: 'plan', statistic: 'chi_square', score, threshold: 0.01, importanceShare: 0.02, championVersion: 2,
  decision: 'reported_only', decisionReason: 'importance below 5%: reported only',
});

describe('retrain violations', () => {
  const cli = (...args: string[]) => runCli(['--config', configFile, ...args], env);

  before(() => {
    writeFileSync(configFile, YAML);
    const registry = new SqliteRegistry({ path: path.join(dataDir, 'registry.db') });
    try {
      registry.recordViolations('churn', daysAgo(30, 23), [amount(0.9)]); // the day before the window
      registry.recordViolations('churn', daysAgo(29, 1), [amount(0.2)]); // the window's first day
      registry.recordViolations('churn', daysAgo(3, 6), [amount(0.3), plan(1e-7)]);
      registry.recordViolations('churn', daysAgo(3, 18), [amount(0.35)]);
      registry.recordViolations('churn', daysAgo(1, 6), [amount(0.41)]);
      registry.settleViolations('churn', daysAgo(1, 6), 'retrain_started', 'started retrain-churn: drift: amount drifted');
      registry.recordViolations('fraud', daysAgo(1, 6), [amount(0.5)]);
    } finally {
      registry.close();
    }
  });

  it('lists the window\'s violations newest first with each feature\'s recurrence over distinct UTC days', async () => {
    const r = await cli('--json', 'violations', 'churn');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as ViolationSummary;
    assert.equal(out.windowDays, 30);
    assert.equal(out.since, daysAgo(29, 0).toISOString(), 'the last 30 UTC days, today included');
    assert.deepEqual(out.violations.map((v) => [v.checkedAt, v.feature, v.decision]), [
      [daysAgo(1, 6).toISOString(), 'amount', 'retrain_started'],
      [daysAgo(3, 18).toISOString(), 'amount', 'retrain_warranted'],
      [daysAgo(3, 6).toISOString(), 'amount', 'retrain_warranted'],
      [daysAgo(3, 6).toISOString(), 'plan', 'reported_only'],
      [daysAgo(29, 1).toISOString(), 'amount', 'retrain_warranted'],
    ]);
    assert.deepEqual(out.recurrence.map((f) => [f.feature, f.days, f.checks, f.windowDays]), [['amount', 3, 4, 30], ['plan', 1, 1, 30]]);

    const human = await cli('violations', 'churn');
    assert.equal(human.code, 0, human.stderr);
    const lines = human.stdout.trim().split('\n');
    assert.match(lines[0], /^churn: 5 drift violations since /);
    assert.match(lines[1], /^ {2}amount {2}drifted on 3 of the last 30 days \(4 checks, psi; last /);
    assert.match(lines[2], /^ {2}plan {4}drifted on 1 of the last 30 days \(1 check, chi_square; last /);
    assert.equal(lines[4], `${daysAgo(1, 6).toISOString()}  amount  psi 0.41 > 0.15  importance 62%  v2  retrain started: started retrain-churn: drift: amount drifted`);
    assert.equal(lines[7], `${daysAgo(3, 6).toISOString()}  plan  chi_square 1e-7 < 0.01  importance 2%  v2  reported only: importance below 5%: reported only`);
  });

  it('--feature and --since narrow the window; the recurrence counts over it', async () => {
    const r = await cli('--json', 'violations', 'churn', '--feature', 'amount', '--since', '4d');
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout) as ViolationSummary;
    assert.deepEqual(out.violations.map((v) => v.score), [0.41, 0.35, 0.3]);
    assert.deepEqual(out.recurrence.map((f) => [f.feature, f.days, f.windowDays]), [['amount', 2, 4]]);

    const at = await cli('violations', 'churn', '--feature', 'plan', '--since', daysAgo(2, 0).toISOString());
    assert.equal(at.code, 0, at.stderr);
    assert.match(at.stdout, /^churn: no drift violations of plan recorded since /);
  });

  it('an unknown model gets the same message and exit code as the other commands that take a model; a bad --since is bad input', async () => {
    const unknown = await cli('violations', 'nope');
    const other = await cli('backtest', 'nope', '--from', '2026-03-01', '--to', '2026-03-02');
    assert.equal(unknown.code, 2);
    assert.equal(unknown.stderr, other.stderr);
    assert.match(unknown.stderr, /^retrain: config: unknown model "nope" \(known: churn, fraud\)\n$/);
    assert.equal(unknown.stdout, '');

    const badSince = await cli('violations', 'churn', '--since', 'last tuesday');
    assert.equal(badSince.code, 2);
    assert.match(badSince.stderr, /--since: "last tuesday": expected a duration such as 30d or 12h, or a time/);
  });
});

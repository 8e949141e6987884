import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, beforeEach, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { lastDays, MIGRATIONS, type Registry, RegistryError, SqliteRegistry, violationSummary, type ViolationInput } from '../../src/backends/registry/index.js';
import { tempDir } from '../training/fixtures.js';
import { REGISTRY_STORES, type RegistryStore } from './stores.js';

/** The registry's drift violations: recorded once per (model, check, feature, statistic), queried, counted by UTC day. */
function violationsSuite(store: RegistryStore) {
  let root: { dir: string; cleanup: () => Promise<void> };
  let registry: Registry;
  let clock = Date.parse('2026-03-10T12:00:00Z');
  const now = () => new Date((clock += 1000));

  const amount = (score: number, extra: Partial<ViolationInput> = {}): ViolationInput => ({
    feature: 'amount', statistic: 'psi', score, threshold: 0.15, importanceShare: 0.62, championVersion: 3,
    decision: 'retrain_warranted', decisionReason: 'amount (0.41 vs 0.15, importance 62%) drifted; estimated loss 0.05 exceeds the tolerance 0.02', ...extra,
  });
  const country = (score: number, extra: Partial<ViolationInput> = {}): ViolationInput => ({
    feature: 'country', statistic: 'chi_square', score, threshold: 0.01, importanceShare: 0.01, championVersion: 3,
    decision: 'reported_only', decisionReason: 'importance below 5%: reported only', ...extra,
  });

  before(async () => {
    root = await tempDir('violations');
  });
  beforeEach(async () => {
    registry?.close();
    ({ registry } = await store.open({ now, dir: root.dir }));
  });
  after(async () => {
    registry?.close();
    await root.cleanup();
  });

  test('records every field of a check\'s violations and reads them back, newest check first', () => {
    assert.deepEqual(registry.recordViolations('fraud', '2026-03-08T10:00:00Z', [amount(0.3)]), { recorded: 1 });
    assert.deepEqual(registry.recordViolations('fraud', new Date('2026-03-09T10:00:00Z'), [amount(0.41), country(1e-9)]), { recorded: 2 });
    registry.recordViolations('other-model', '2026-03-09T11:00:00Z', [amount(0.9)]);

    const rows = registry.violations({ model: 'fraud' });
    assert.deepEqual(rows.map((v) => [v.checkedAt, v.feature]), [
      ['2026-03-09T10:00:00.000Z', 'amount'],
      ['2026-03-09T10:00:00.000Z', 'country'],
      ['2026-03-08T10:00:00.000Z', 'amount'],
    ]);
    const { decidedAt, ...first } = rows[0];
    assert.deepEqual(first, { model: 'fraud', checkedAt: '2026-03-09T10:00:00.000Z', ...amount(0.41) });
    assert.ok(Date.parse(decidedAt) > Date.parse('2026-03-10T12:00:00Z'), 'decided when recorded');
    assert.equal(rows[1].score, 1e-9, 'p-values keep their precision');
    assert.deepEqual(registry.violations({ model: 'fraud', limit: 1 }).map((v) => v.feature), ['amount']);
  });

  test('recording the same check again (an activity retry) records nothing new and keeps the first values', () => {
    const checkedAt = '2026-03-09T10:00:00.000Z';
    registry.recordViolations('fraud', checkedAt, [amount(0.41)]);
    // The retry measured more rows that arrived meanwhile and found one more feature.
    assert.deepEqual(registry.recordViolations('fraud', checkedAt, [amount(0.43), country(0.001)]), { recorded: 1 });
    const rows = registry.violations({ model: 'fraud' });
    assert.deepEqual(rows.map((v) => [v.feature, v.score]), [['amount', 0.41], ['country', 0.001]]);
    // The same feature with another statistic is another violation.
    assert.deepEqual(registry.recordViolations('fraud', checkedAt, [amount(0.2, { statistic: 'wasserstein' })]), { recorded: 1 });
    assert.equal(registry.violations({ model: 'fraud', feature: 'amount' }).length, 2);
  });

  test('queries by feature and by time, bounds included', () => {
    for (const [day, score] of [['2026-03-01', 0.2], ['2026-03-05', 0.3], ['2026-03-09', 0.4]] as const) {
      registry.recordViolations('fraud', `${day}T06:00:00Z`, [amount(score), country(0.001)]);
    }
    const since = new Date('2026-03-05T06:00:00Z');
    assert.deepEqual(registry.violations({ model: 'fraud', since }).map((v) => `${v.checkedAt.slice(0, 10)} ${v.feature}`), [
      '2026-03-09 amount', '2026-03-09 country', '2026-03-05 amount', '2026-03-05 country',
    ]);
    assert.deepEqual(registry.violations({ model: 'fraud', feature: 'amount', until: new Date('2026-03-05T06:00:00Z') }).map((v) => v.score), [0.3, 0.2]);
    assert.deepEqual(registry.violations({ model: 'fraud', feature: 'tenure' }), []);
    assert.deepEqual(registry.violations({ model: 'nobody' }), []);
  });

  test('recurrence counts distinct UTC days with a violation, not checks', () => {
    // amount: two checks on March 2 (one day), one a minute before and one a minute after midnight
    // (two days), and one before the window; country: one check.
    const checks: Array<[string, ViolationInput[]]> = [
      ['2026-02-20T12:00:00Z', [amount(0.5)]],
      ['2026-03-02T08:00:00Z', [amount(0.2)]],
      ['2026-03-02T20:00:00Z', [amount(0.25), country(0.002)]],
      ['2026-03-06T23:59:00Z', [amount(0.3)]],
      ['2026-03-07T00:01:00Z', [amount(0.31, { statistic: 'ks', score: 1e-6, threshold: 0.01 })]],
    ];
    for (const [at, vs] of checks) registry.recordViolations('fraud', at, vs);

    const until = new Date('2026-03-10T12:00:00Z');
    const since = lastDays(until, 10);
    assert.equal(since.toISOString(), '2026-03-01T00:00:00.000Z', 'the last 10 days, today included');
    assert.deepEqual(registry.violationRecurrence({ model: 'fraud', since, until }), [
      { feature: 'amount', days: 3, checks: 4, firstAt: '2026-03-02T08:00:00.000Z', lastAt: '2026-03-07T00:01:00.000Z', statistics: ['ks', 'psi'] },
      { feature: 'country', days: 1, checks: 1, firstAt: '2026-03-02T20:00:00.000Z', lastAt: '2026-03-02T20:00:00.000Z', statistics: ['chi_square'] },
    ]);
    assert.deepEqual(registry.violationRecurrence({ model: 'fraud', since: new Date('2026-03-06T00:00:00Z'), feature: 'amount' }).map((r) => r.days), [2]);

    const summary = violationSummary(registry, 'fraud', { since, until });
    assert.equal(summary.windowDays, 10);
    assert.equal(summary.violations.length, 5);
    assert.deepEqual(summary.recurrence.map((r) => [r.feature, r.days, r.windowDays]), [['amount', 3, 10], ['country', 1, 10]]);
  });

  test('settling a check replaces only its own verdicts, once', () => {
    registry.recordViolations('fraud', '2026-03-08T10:00:00Z', [amount(0.3)]);
    registry.recordViolations('fraud', '2026-03-09T10:00:00Z', [amount(0.41), country(0.001)]);
    assert.deepEqual(registry.settleViolations('fraud', '2026-03-09T10:00:00Z', 'retrain_started', 'started retrain-fraud: drift: amount drifted'), { settled: 2 });
    // A retried start finds the pipeline it started running: what the first attempt recorded stays.
    assert.deepEqual(registry.settleViolations('fraud', new Date('2026-03-09T10:00:00Z'), 'held', 'a pipeline is already running (retrain-fraud)'), { settled: 0 });
    const rows = registry.violations({ model: 'fraud' });
    assert.deepEqual(rows.map((v) => [v.checkedAt.slice(0, 10), v.feature, v.decision, v.decisionReason]), [
      ['2026-03-09', 'amount', 'retrain_started', 'started retrain-fraud: drift: amount drifted'],
      ['2026-03-09', 'country', 'retrain_started', 'started retrain-fraud: drift: amount drifted'],
      ['2026-03-08', 'amount', 'retrain_warranted', amount(0).decisionReason],
    ]);
    assert.ok(rows[0].decidedAt > rows[2].decidedAt, 'decidedAt moves with the decision');
  });

  test('refuses what is not a violation, recording nothing of the check', () => {
    const invalid = (pattern: RegExp) => (err: unknown) => err instanceof RegistryError && err.code === 'invalid_input' && pattern.test(err.message);
    assert.throws(() => registry.recordViolations('fraud', '2026-03-09T10:00:00Z', [amount(0.4), amount(0.4, { feature: 'x', statistic: 'entropy' as never })]), invalid(/statistic must be one of psi, ks/));
    assert.throws(() => registry.recordViolations('fraud', '2026-03-09T10:00:00Z', [amount(Number.NaN)]), invalid(/score of amount must be a finite number/));
    assert.throws(() => registry.recordViolations('fraud', 'yesterday', [amount(0.4)]), invalid(/checkedAt must be a valid time/));
    assert.throws(() => registry.recordViolations('fraud', '2026-03-09T10:00:00Z', [amount(0.4, { decision: 'maybe' as never })]), invalid(/decision must be one of/));
    assert.throws(() => registry.settleViolations('fraud', '2026-03-09T10:00:00Z', 'reported_only' as never, 'x'), invalid(/retrain_started or held/));
    assert.deepEqual(registry.violations({ model: 'fraud' }), []);
  });
}

// Not MLflow: its registry hands violations to its inner SQLite/PostgreSQL store unchanged, and a
// second MLflow server for this file would cost 15-40 s to prove the same thing again.
for (const store of REGISTRY_STORES.filter((s) => s.name !== 'MLflow')) describe(`drift violations in the ${store.name} registry`, () => violationsSuite(store));

describe('drift violations in an older SQLite registry.db', () => {
  let root: { dir: string; cleanup: () => Promise<void> };
  let clock = Date.parse('2026-03-10T12:00:00Z');
  const now = () => new Date((clock += 1000));
  const amount = (score: number, extra: Partial<ViolationInput> = {}): ViolationInput => ({
    feature: 'amount', statistic: 'psi', score, threshold: 0.15, importanceShare: 0.62, championVersion: 3,
    decision: 'retrain_warranted', decisionReason: 'amount (0.41 vs 0.15, importance 62%) drifted; estimated loss 0.05 exceeds the tolerance 0.02', ...extra,
  });
  before(async () => {
    root = await tempDir('violations-sqlite');
  });
  after(async () => {
    await root.cleanup();
  });

  test('a registry.db from before data-quality violations keeps its violations and takes the new kinds', () => {
    const file = path.join(root.dir, 'v4.db');
    const db = new Database(file);
    db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    for (const m of MIGRATIONS.filter((m) => m.version <= 4)) {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(m.version, m.name, '2026-01-01T00:00:00Z');
    }
    const insert = (statistic: string, reason: string) =>
      db.prepare(`INSERT INTO drift_violations (model, checked_at, feature, statistic, score, threshold, decision, decision_reason, decided_at) VALUES ('fraud', '2026-03-08T10:00:00.000Z', 'amount', ?, 0.4, 0.2, 'reported_only', ?, '2026-03-08T10:00:00.000Z')`).run(statistic, reason);
    assert.throws(() => insert('missing_rate', 'x'), /CHECK constraint/, 'version 4 knew only drift statistics');
    insert('psi', 'kept');
    db.close();
    const upgraded = new SqliteRegistry({ path: file, now });
    try {
      assert.equal(upgraded.schemaVersion, 5);
      assert.deepEqual(upgraded.violations({ model: 'fraud' }).map((v) => [v.feature, v.statistic, v.decisionReason]), [['amount', 'psi', 'kept']]);
      assert.deepEqual(upgraded.recordViolations('fraud', '2026-03-09T10:00:00Z', [amount(0.2, { statistic: 'missing_rate', threshold: 0.07 })]), { recorded: 1 });
      assert.deepEqual(upgraded.violationRecurrence({ model: 'fraud', since: new Date('2026-03-01T00:00:00Z') }).map((r) => [r.feature, r.days, r.statistics]), [['amount', 2, ['missing_rate', 'psi']]]);
    } finally {
      upgraded.close();
    }
  });

  test('a registry.db from before violations gains the table and keeps its data', () => {
    const file = path.join(root.dir, 'v3.db');
    const db = new Database(file);
    db.exec('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    for (const m of MIGRATIONS.filter((m) => m.version <= 3)) {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations VALUES (?, ?, ?)').run(m.version, m.name, '2026-01-01T00:00:00Z');
    }
    db.prepare("INSERT INTO monitor_state VALUES ('fraud', 'performance-detector', '{\"fedThrough\":\"x\"}', '2026-01-01T00:00:00Z')").run();
    db.close();

    const upgraded = new SqliteRegistry({ path: file, now });
    try {
      assert.equal(upgraded.schemaVersion, 5);
      assert.deepEqual(upgraded.monitorState('fraud', 'performance-detector'), { fedThrough: 'x' });
      assert.deepEqual(upgraded.recordViolations('fraud', '2026-03-09T10:00:00Z', [amount(0.4)]), { recorded: 1 });
    } finally {
      upgraded.close();
    }
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CheckResult } from '../../src/activities/contracts.js';
import { evaluateTriggers } from '../../src/workflows/triggers.js';
import { testModel } from '../helpers/scripted-activities.js';

const NOW = Date.parse('2026-11-20T12:00:00Z');
const calm: CheckResult = {
  model: 'm',
  checkedAt: new Date(NOW).toISOString(),
  window: { from: '2026-11-19T12:00:00Z', to: '2026-11-20T12:00:00Z', rows: 20_000 },
  champion: { version: 3, trainedAt: '2026-11-10T00:00:00Z' },
  drift: { verdict: 'ok', evaluatedFeatures: 7, drifted: [], driftShare: 0 },
  performance: { metric: 'accuracy', value: 0.95, labels: 4_000 },
  labelShift: { jensenShannon: 0.02, samples: 4_000 },
  newLabelsSinceTraining: 1_200,
  lastRetrainAt: '2026-11-10T00:00:00Z',
};
const triggers = testModel().triggers;

describe('retraining triggers', () => {
  it('nothing fires on a calm model', () => {
    assert.deepEqual(evaluateTriggers(triggers, calm, { now: NOW }), { fired: [] });
  });

  it('performance fires below the threshold only with enough matured labels', () => {
    const low = { ...calm, performance: { metric: 'accuracy', value: 0.87, labels: 4_000 } };
    assert.deepEqual(evaluateTriggers(triggers, low, { now: NOW }).fired, [{ kind: 'performance', reason: 'accuracy 0.870 on 4000 matured labels is below 0.9' }]);
    assert.deepEqual(evaluateTriggers(triggers, { ...low, performance: { ...low.performance, labels: 999 } }, { now: NOW }).fired, []);
  });

  it('drift fires with the most drifted features named; insufficient data never fires', () => {
    const drifted: CheckResult = {
      ...calm,
      drift: { verdict: 'drift', evaluatedFeatures: 7, driftShare: 2 / 7, drifted: [{ feature: 'amount', metric: 'psi', score: 0.31, threshold: 0.15 }, { feature: 'country', metric: 'jensen_shannon', score: 0.2, threshold: 0.15 }] },
    };
    assert.deepEqual(evaluateTriggers(triggers, drifted, { now: NOW }).fired, [{ kind: 'drift', reason: '2 of 7 features drifted (psi 0.310 on amount, jensen_shannon 0.200 on country)' }]);
    assert.deepEqual(evaluateTriggers(triggers, { ...drifted, drift: { ...drifted.drift, verdict: 'insufficient_data' } }, { now: NOW }).fired, []);
    const needsTwo = testModel('triggers: { drift: { minDriftedFeatures: 3 } }').triggers;
    assert.deepEqual(evaluateTriggers(needsTwo, drifted, { now: NOW }).fired, []);
  });

  it('volume, age, label shift and the calendar fire on their own numbers', () => {
    const kinds = (c: CheckResult, scheduled = false) => evaluateTriggers(triggers, c, { now: NOW, scheduled }).fired.map((f) => f.kind);
    assert.deepEqual(kinds({ ...calm, newLabelsSinceTraining: 5_000 }), ['volume']);
    assert.deepEqual(kinds({ ...calm, champion: { version: 3, trainedAt: '2026-10-01T00:00:00Z' } }), ['max_age']);
    assert.deepEqual(kinds({ ...calm, labelShift: { jensenShannon: 0.3, samples: 4_000 } }), ['label_shift']);
    const calendar = testModel('triggers: { schedule: { cron: "0 3 * * 1" } }').triggers;
    assert.deepEqual(evaluateTriggers(calendar, calm, { now: NOW, scheduled: true }).fired.map((f) => f.kind), ['schedule']);
  });

  it('a model without a champion is bootstrapped, whatever the cooldown', () => {
    const decision = evaluateTriggers(triggers, { ...calm, champion: undefined, lastRetrainAt: new Date(NOW - 60_000).toISOString() }, { now: NOW });
    assert.deepEqual(decision, { fired: [{ kind: 'bootstrap', reason: 'no champion yet: train the first model' }] });
  });

  it('the cooldown holds fired triggers back after a recent retrain', () => {
    const decision = evaluateTriggers(triggers, { ...calm, newLabelsSinceTraining: 9_000, lastRetrainAt: new Date(NOW - 3 * 3_600_000).toISOString() }, { now: NOW });
    assert.equal(decision.fired[0].kind, 'volume');
    assert.equal(decision.heldByCooldown, 'last retrain finished 180 min ago, within the 24h cooldown');
  });
});

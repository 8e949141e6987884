import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';

const model = (extra = '') => `
  - name: m
    task: binary_classification
    features: [{ name: x, type: numerical }]
    label: { name: y, delay: 3d }
    serving: { entityKey: entity_id }
    monitor: { every: 1h }${extra}
`;

describe('timeProfile: demo', () => {
  it('compresses production durations to minutes', () => {
    const [spec] = parseConfig(`timeProfile: demo\nmodels:${model()}`).models;
    assert.equal(spec.label.delay, '20s');
    assert.equal(spec.monitor.every, '1m');
    assert.equal(spec.triggers.cooldown, '2m');
    assert.deepEqual([spec.triggers.backoff.initial, spec.triggers.backoff.max], ['2m', '16m']);
    assert.equal(spec.approval.sla, '10m');
    assert.deepEqual(spec.rollout.steps.map((s) => s.duration), ['1m', '2m', undefined]);
    assert.equal(spec.rollout.analysis.interval, '15s');
  });

  it('never lengthens what the file already has shorter', () => {
    const extra = `
    label: { name: y, delay: 2s }
    triggers: { cooldown: 30s }
    rollout: { steps: [{ weight: 25, duration: 20s }, { weight: 100 }], analysisInterval: 5s }`;
    const [spec] = parseConfig(`timeProfile: demo\nmodels:${model(extra).replace('    label: { name: y, delay: 3d }\n', '')}`).models;
    assert.equal(spec.label.delay, '2s');
    assert.equal(spec.triggers.cooldown, '30s');
    assert.deepEqual(spec.rollout.steps.map((s) => s.duration), ['20s', undefined]);
    assert.equal(spec.rollout.analysis.interval, '5s');
  });

  it('production leaves the file as written', () => {
    const [spec] = parseConfig(`models:${model()}`).models;
    assert.equal(spec.label.delay, '3d');
    assert.equal(spec.monitor.every, '1h');
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from '../../src/config/load.js';
import { preTrafficSettings } from '../../src/config/rollout.js';
import { problemsOf } from '../helpers/config.js';

const MINIMAL = `
models:
  - name: churn
    task: binary_classification
    features: [{ name: tenure, type: numerical }, { name: plan, type: categorical }]
    label: { name: churned }
`;

describe('config: rollout.preTraffic', () => {
  it('is on by default for a model served through the gateway: p99 budget 250 ms, 50 requests per category', () => {
    const [m] = parseConfig(MINIMAL).models;
    assert.deepEqual(m.rollout.preTraffic, { latencyBudgetMs: 250, maxRequests: 50 });
    assert.deepEqual(preTrafficSettings(m.rollout, m.serving.backend), { enabled: true, latencyBudgetMs: 250, maxRequests: 50 });
    // Specs recorded before the field existed get the defaults.
    assert.deepEqual(preTrafficSettings({}, undefined), { enabled: true, latencyBudgetMs: 250, maxRequests: 50 });
  });

  it('takes its settings from the YAML', () => {
    const [m] = parseConfig(`${MINIMAL}    rollout: { preTraffic: { enabled: false, latencyBudgetMs: 40, maxRequests: 5 } }\n`).models;
    assert.deepEqual(preTrafficSettings(m.rollout, m.serving.backend), { enabled: false, latencyBudgetMs: 40, maxRequests: 5 });
  });

  it('refuses bad values with one message each', () => {
    const bad = (field: string) => problemsOf(`${MINIMAL}    rollout: { preTraffic: { ${field} } }\n`);
    assert.deepEqual(bad('latencyBudgetMs: 0'), ['models.yaml:7: models[0].rollout.preTraffic.latencyBudgetMs: expected a latency budget in milliseconds, a number from 1 to 60000']);
    assert.deepEqual(bad('latencyBudgetMs: "fast"'), ['models.yaml:7: models[0].rollout.preTraffic.latencyBudgetMs: expected a latency budget in milliseconds, a number from 1 to 60000']);
    assert.deepEqual(bad('maxRequests: 0'), ['models.yaml:7: models[0].rollout.preTraffic.maxRequests: expected a number of synthetic requests per category of at least 1']);
    assert.deepEqual(bad('maxRequests: 5000'), ['models.yaml:7: models[0].rollout.preTraffic.maxRequests: expected a number of synthetic requests per category of at most 1000']);
    assert.deepEqual(bad('enabled: yes please'), ['models.yaml:7: models[0].rollout.preTraffic.enabled: expected true or false']);
    assert.equal(bad('budget: 3').length, 1);
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { buildActivities, openBackends, type Backends } from '../../src/activities/index.js';
import { parseConfig } from '../../src/config/load.js';
import { runtimeSettings } from '../../src/config/settings.js';
import { createLogger } from '../../src/runtime/logger.js';

/**
 * The budget across models (seed 002's monthly retraining budget for the whole component) beside
 * each model's own cap, on the real registry: the estimate reports the budget with the least room,
 * so a run fits only if it fits both.
 */
const yaml = (shared: string) => `
${shared}
models:
  - name: churn
    task: binary_classification
    features: [{ name: x, type: numerical }]
    label: { name: y }
    budget: { monthlyCap: 300, estimatedCostPerRun: 40 }
  - name: fraud
    task: binary_classification
    features: [{ name: x, type: numerical }]
    label: { name: y }
    budget: { monthlyCap: 500 }
`;

describe('the shared monthly budget', () => {
  const opened: Backends[] = [];
  const mock = new MockActivityEnvironment({ attempt: 1 });
  after(async () => {
    for (const b of opened) await b.close();
  });
  function open(shared: string, dataDir = mkdtempSync(path.join(tmpdir(), 'retrain-budget-'))) {
    const b = openBackends({ config: parseConfig(yaml(shared)), settings: { ...runtimeSettings(), dataDir }, logger: createLogger({ level: 'warn', pretty: false, destination: process.stderr }) });
    opened.push(b);
    return { b, dataDir, estimate: (model: string) => mock.run(buildActivities(b).estimateRunCost, { ref: { model } }) };
  }

  it('binds when the other models have spent most of it; the model\'s own cap binds when it has less room', async () => {
    const first = open('budget: { monthlyCap: 1000 }');
    // This month: fraud spent $750, churn $100: churn has $200 of its own left, but only $150 shared.
    first.b.registry.recordSpend('fraud', 750, { idempotencyKey: 'fraud-run-1' });
    first.b.registry.recordSpend('churn', 100, { idempotencyKey: 'churn-run-1' });
    assert.deepEqual(await first.estimate('churn'), { estimatedCostUsd: 40, monthSpendUsd: 850, monthlyCapUsd: 1000, capScope: 'all_models' });
    // fraud itself: $500 cap, $750 spent (its cap was lowered since): its own cap has the least room.
    assert.deepEqual(await first.estimate('fraud'), { estimatedCostUsd: 5, monthSpendUsd: 750, monthlyCapUsd: 500, capScope: 'model' });

    const roomier = open('budget: { monthlyCap: 5000 }', first.dataDir);
    assert.deepEqual(await roomier.estimate('churn'), { estimatedCostUsd: 40, monthSpendUsd: 100, monthlyCapUsd: 300, capScope: 'model' });
    const none = open('', first.dataDir);
    assert.equal(((await none.estimate('churn')) as { capScope?: string }).capScope, 'model', 'no shared budget unless configured');
  });

  it('a shared cap that is not a positive number is refused, naming the field', () => {
    assert.throws(() => parseConfig(yaml('budget: { monthlyCap: -5 }')), /budget\.monthlyCap/);
    assert.throws(() => parseConfig(yaml('budget: { montlyCap: 5 }')), /montlyCap/);
  });
});

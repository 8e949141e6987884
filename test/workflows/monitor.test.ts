import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import type { CheckResult, MonitorActivities } from '../../src/activities/contracts.js';
import type { MonitorResult } from '../../src/workflows/monitor.js';
import { knownTestSpec, testModel } from '../helpers/scripted-activities.js';
import { uniqueQueue, workflowBundle } from '../helpers/temporal.js';
import { useTimeSkipping } from './pipeline-harness.js';

/** Scripted monitor activities: the check returns what the test sets; starts are recorded. */
function monitorActivities(check: Partial<CheckResult> | ((asOf: string) => Partial<CheckResult>), alreadyRunning = false) {
  const starts: Array<{ kinds: string[]; reasons: string[] }> = [];
  const activities: MonitorActivities = {
    resolveSpec: async (ref) => knownTestSpec(ref.model),
    async checkModel({ ref, asOf }) {
      return {
        model: ref.model,
        checkedAt: asOf,
        window: { from: asOf, to: asOf, rows: 5_000 },
        champion: { version: 4, trainedAt: new Date(Date.parse(asOf) - 3 * 86_400_000).toISOString() },
        drift: { verdict: 'ok', evaluatedFeatures: 2, drifted: [], driftShare: 0 },
        newLabelsSinceTraining: 10,
        ...(typeof check === 'function' ? check(asOf) : check),
      };
    },
    async startRetrain(input) {
      starts.push({ kinds: input.kinds, reasons: input.reasons });
      return { started: !alreadyRunning, workflowId: `retrain-${input.ref.model}`, runId: 'run-x' };
    },
  };
  return { activities, starts };
}

describe('monitor workflow (time-skipping server)', () => {
  const env = useTimeSkipping();

  async function monitor(check: Partial<CheckResult> | ((asOf: string) => Partial<CheckResult>), options: { alreadyRunning?: boolean; overrides?: string } = {}): Promise<{ result: MonitorResult; starts: Array<{ kinds: string[]; reasons: string[] }> }> {
    const spec = testModel(options.overrides ?? '');
    const queue = uniqueQueue('monitor');
    const { activities, starts } = monitorActivities(check, options.alreadyRunning);
    const worker = await Worker.create({ connection: env().nativeConnection, taskQueue: queue, workflowBundle: await workflowBundle(), activities });
    const result = await worker.runUntil(env().client.workflow.execute('monitorModel', { taskQueue: queue, workflowId: `retrain-monitor-${spec.name}`, args: [{ model: spec.name }] }));
    return { result: result as MonitorResult, starts };
  }

  it('a calm check starts nothing and says so', async () => {
    const { result, starts } = await monitor({});
    assert.equal(result.action, 'none');
    assert.deepEqual(starts, []);
  });

  it('drift starts a pipeline with the reasons', async () => {
    const { result, starts } = await monitor({ drift: { verdict: 'drift', evaluatedFeatures: 2, driftShare: 0.5, drifted: [{ feature: 'transaction_amount', metric: 'psi', score: 0.4, threshold: 0.15 }] } });
    assert.equal(result.action, 'started');
    assert.deepEqual(starts, [{ kinds: ['drift'], reasons: ['1 of 2 features drifted (psi 0.400 on transaction_amount)'] }]);
  });

  it('a running pipeline is recorded as already running; nothing new starts', async () => {
    const { result } = await monitor({ newLabelsSinceTraining: 8_000 }, { alreadyRunning: true });
    assert.equal(result.action, 'already_running');
    assert.match(result.detail, /a pipeline is already running \(retrain-fraud-.*\); nothing started/);
  });

  it('the cooldown holds a fired trigger back', async () => {
    // Times are relative to the check's asOf: the time-skipping server's clock runs ahead of the wall clock.
    const { result, starts } = await monitor((asOf) => ({ newLabelsSinceTraining: 8_000, lastRetrainAt: new Date(Date.parse(asOf) - 3_600_000).toISOString() }), { overrides: 'triggers: { cooldown: 7d }' });
    assert.equal(result.action, 'cooldown');
    assert.deepEqual(starts, []);
    assert.deepEqual(result.fired.map((f) => f.kind), ['volume']);
  });
});

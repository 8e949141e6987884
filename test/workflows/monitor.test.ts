// @server time-skipping
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from '@temporalio/worker';
import type { CheckResult, MonitorActivities, Notification, PipelineActivities } from '../../src/activities/contracts.js';
import type { MonitorResult } from '../../src/workflows/monitor.js';
import { knownTestSpec, testModel } from '../helpers/scripted-activities.js';
import { uniqueQueue, workflowBundle } from '../helpers/temporal.js';
import { useTimeSkipping } from './pipeline-harness.js';

/** Scripted monitor activities: the check returns what the test sets; starts are recorded. */
function monitorActivities(check: Partial<CheckResult> | ((asOf: string) => Partial<CheckResult>), alreadyRunning = false) {
  const starts: Array<{ kinds: string[]; reasons: string[] }> = [];
  const notified: Notification[] = [];
  const activities: MonitorActivities & Pick<PipelineActivities, 'notify'> = {
    notify: async (n) => void notified.push(n),
    resolveSpec: async (ref) => knownTestSpec(ref.model),
    async checkModel({ ref, asOf }) {
      return {
        model: ref.model,
        checkedAt: asOf,
        window: { from: asOf, to: asOf, rows: 5_000 },
        champion: { version: 4, trainedAt: new Date(Date.parse(asOf) - 3 * 86_400_000).toISOString() },
        drift: { verdict: 'ok', evaluatedFeatures: 2, drifted: [], driftShare: 0 },
        newLabels: 10,
        ...(typeof check === 'function' ? check(asOf) : check),
      };
    },
    async startRetrain(input) {
      starts.push({ kinds: input.kinds, reasons: input.reasons });
      return { started: !alreadyRunning, workflowId: `retrain-${input.ref.model}`, runId: 'run-x' };
    },
    // deploy.registered is manual in these specs: the real path is in test/integration/deploy-version.test.ts.
    registeredCandidate: async () => null,
    startDeployment: async () => assert.fail('no deployment expected'),
  };
  return { activities, starts, notified };
}

const worse: CheckResult['sequential'] = { fired: true, statistic: 17, threshold: 16.1, baselineError: 0.1, tolerance: 0.02, samples: 9_000, newSamples: 2_000, errorRate: 0.17, lower: 0.155, upper: 0.186 };

describe('monitor workflow (time-skipping server)', () => {
  const env = useTimeSkipping();

  async function monitor(check: Partial<CheckResult> | ((asOf: string) => Partial<CheckResult>), options: { alreadyRunning?: boolean; overrides?: string } = {}): Promise<{ result: MonitorResult; starts: Array<{ kinds: string[]; reasons: string[] }>; notified: Notification[] }> {
    const spec = testModel(options.overrides ?? '');
    const queue = uniqueQueue('monitor');
    const { activities, starts, notified } = monitorActivities(check, options.alreadyRunning);
    const worker = await Worker.create({ connection: env().nativeConnection, taskQueue: queue, workflowBundle: await workflowBundle(), activities });
    const result = await worker.runUntil(env().client.workflow.execute('monitorModel', { taskQueue: queue, workflowId: `retrain-monitor-${spec.name}`, args: [{ model: spec.name }] }));
    return { result: result as MonitorResult, starts, notified };
  }

  it('a calm check starts nothing and says so', async () => {
    const { result, starts } = await monitor({});
    assert.equal(result.action, 'none');
    assert.deepEqual(starts, []);
  });

  it('drift starts a pipeline with the reasons', async () => {
    const impact = { material: true, policy: 'impact', reason: 'transaction_amount drifted; estimated loss 0.061 exceeds the tolerance 0.02', importantDriftedFeatures: ['transaction_amount'], estimatedLoss: 0.061 };
    const { result, starts } = await monitor({ drift: { verdict: 'drift', evaluatedFeatures: 2, driftShare: 0.5, drifted: [{ feature: 'transaction_amount', metric: 'psi', score: 0.4, threshold: 0.15 }], impact } });
    assert.equal(result.action, 'started');
    assert.deepEqual(starts, [{ kinds: ['drift'], reasons: ['transaction_amount drifted; estimated loss 0.061 exceeds the tolerance 0.02'] }]);
    assert.deepEqual(result.considered?.map((c) => [c.kind, c.fired]), [['performance', false], ['drift', true]]);
  });

  it('a running pipeline is recorded as already running; nothing new starts', async () => {
    const { result } = await monitor({ sequential: worse }, { alreadyRunning: true });
    assert.equal(result.action, 'already_running');
    assert.match(result.detail, /a pipeline is already running \(retrain-fraud-.*\); nothing started/);
  });

  it('the cooldown holds a fired trigger back', async () => {
    // Times are relative to the check's asOf: the time-skipping server's clock runs ahead of the wall clock.
    const { result, starts } = await monitor((asOf) => ({ sequential: worse, lastRetrainAt: new Date(Date.parse(asOf) - 3_600_000).toISOString() }), { overrides: 'triggers: { cooldown: 7d }' });
    assert.equal(result.action, 'cooldown');
    assert.deepEqual(starts, []);
    assert.deepEqual(result.fired.map((f) => f.kind), ['performance']);
  });

  it('a data-quality violation alerts when it appears, not while it lasts, and starts nothing by default', async () => {
    const violations = [{ feature: 'transaction_amount', check: 'missing_rate' as const, value: 0.2, reference: 0.01, threshold: 0.06, samples: 5_000 }];
    const appeared = await monitor({ dataQuality: { checked: 9, violations, started: ['transaction_amount/missing_rate'] } });
    assert.equal(appeared.result.action, 'none');
    assert.deepEqual(appeared.starts, []);
    assert.deepEqual(appeared.notified.map((n) => [n.kind, n.title]), [['data_quality', `${appeared.notified[0]?.model}: data-quality violation: transaction_amount: missing rate 20.0%`]]);
    assert.deepEqual(appeared.result.considered?.find((c) => c.kind === 'data_quality'), {
      kind: 'data_quality', fired: false, evidence: '1 data-quality violation (transaction_amount missing rate): alert only (triggers.dataQuality.action: alert)',
    });
    const lasting = await monitor({ dataQuality: { checked: 9, violations, started: [] } });
    assert.deepEqual(lasting.notified, []);
    const retrain = await monitor({ dataQuality: { checked: 9, violations, started: [] } }, { overrides: 'triggers: { dataQuality: { action: retrain } }' });
    assert.equal(retrain.result.action, 'started');
    assert.deepEqual(retrain.starts.map((s) => s.kinds), [['data_quality']]);
  });

  it('after runs that did not pay, the trigger backs off and a person is told once', async () => {
    const recent = (asOf: string, minutesAgo: number) => [
      { closedAt: new Date(Date.parse(asOf) - minutesAgo * 60_000).toISOString(), outcome: 'rejected' },
      { closedAt: new Date(Date.parse(asOf) - 3 * 86_400_000).toISOString(), outcome: 'rolled_back' },
    ];
    const overrides = 'triggers: { cooldown: 10m }\nmonitor: { every: 1h }';
    const first = await monitor((asOf) => ({ sequential: worse, recentRuns: recent(asOf, 30), lastRetrainAt: recent(asOf, 30)[0].closedAt }), { overrides });
    assert.equal(first.result.action, 'backoff');
    assert.match(first.result.detail, /the last 2 runs did not pay .* waits 48 h after the last one/);
    assert.deepEqual(first.starts, []);
    assert.deepEqual(first.notified.map((n) => n.kind), ['retraining_not_paying']);
    // Later checks during the same hold say so, and notify nobody again.
    const later = await monitor((asOf) => ({ sequential: worse, recentRuns: recent(asOf, 300), lastRetrainAt: recent(asOf, 300)[0].closedAt }), { overrides });
    assert.equal(later.result.action, 'backoff');
    assert.deepEqual(later.notified, []);
  });
});

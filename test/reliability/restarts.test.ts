// @server dev
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { pipelineStatus, startPipeline } from '../../src/client.js';
import { seedChampion } from '../../src/demo/seed.js';
import { createGenerator, driftPlan } from '../../src/demo/simulator/index.js';
import type { PipelineResult } from '../../src/workflows/pipeline.js';
import { startCli } from '../helpers/cli.js';
import { fraudModelYaml, freePort, steadyTraffic, withEpochs } from '../helpers/fraud-model.js';
import { useStack, type Stack } from '../helpers/stack.js';
import { eventually } from '../helpers/temporal.js';

/**
 * Restarts under a running canary, with real processes: the Temporal dev server (same SQLite file,
 * same port) and the gateway (`retrain serve`, stopped with SIGTERM and started again). The run
 * keeps its schedule across the server restart; the gateway comes back with the same split and
 * versions, and the predictions it logged before going down are in the lake.
 */
const TOKEN = 'restarts-token';
const MODEL = 'restart-fraud';
const STEP_MS = 30_000;
const MARKER_AGE = 4242.4242; // account_age_days of the predictions sent just before the gateway stops

const yaml = (url: string) =>
  `models:${fraudModelYaml(
    MODEL,
    url,
    `
    trainer: { backend: builtin, params: { epochs: 6 } }
    gates: { metric: log_loss, floor: 1, minImprovement: 0 }
    approval: { when: never }
    rollout: { steps: [{ weight: 30, duration: ${STEP_MS / 1000}s }, { weight: 100 }], analysisInterval: 5s, minSamples: 20 }`,
  )}`;

describe('restarts mid-canary: the Temporal server and the gateway', () => {
  let gatewayUrl: string;
  let gateway: ReturnType<typeof startCli> | undefined;
  const traffic = new AbortController();
  const stack = useStack(async () => {
    gatewayUrl = `http://127.0.0.1:${await freePort()}`;
    return {
      name: 'restarts',
      // A dev server of its own (persistent, on a fixed port), which the test stops and starts again.
      temporal: 'own',
      adminToken: TOKEN,
      logLevel: 'error',
      config: yaml(gatewayUrl),
      // The gateway is a real `retrain serve`, up before the champion is deployed to it.
      async prepare(s) {
        await startGateway(s);
        s.onStop(stopGateway);
        await seedChampion(s.backends, withEpochs(s.config.models[0], 1), { historyDays: 4, rowsPerDay: 1_500 });
      },
    };
  });

  async function startGateway(s: Pick<Stack, 'configFile' | 'dataDir'> = stack): Promise<void> {
    gateway = startCli(['--config', s.configFile, 'serve', '--port', new URL(gatewayUrl).port], { RETRAIN_DATA_DIR: s.dataDir, RETRAIN_ADMIN_TOKEN: TOKEN });
    await eventually(async () => ((await fetch(`${gatewayUrl}/healthz`).catch(() => undefined))?.ok ? true : undefined), `the gateway to answer /healthz`, 60_000);
  }

  async function stopGateway(): Promise<void> {
    if (!gateway || gateway.child.exitCode !== null) return;
    gateway.child.kill('SIGTERM');
    assert.equal(await gateway.exited, 0, gateway.output());
  }

  before(() => {
    const simulation = steadyTraffic(gatewayUrl, stack.config.models[0], 8, traffic.signal);
    stack.onStop(async () => {
      traffic.abort();
      await simulation;
    });
  });

  async function deployment() {
    const response = await fetch(`${gatewayUrl}/v1/admin/models/${MODEL}/deployment`, { headers: { authorization: `Bearer ${TOKEN}` } });
    return (await response.json()) as { champion?: { version: number | string }; challenger?: { version: number | string; weight?: number } | null };
  }

  it('the canary keeps its schedule, split and logged predictions across both restarts', async () => {
    const spec = stack.config.models[0];
    const started = await startPipeline(stack.client, stack.settings, spec, { kinds: ['manual'], reasons: ['restart test'], requestedBy: 'test' });
    assert.ok(started.started);
    const handle = stack.client.workflow.getHandle(started.workflowId, started.runId);
    await eventually(async () => ((await pipelineStatus(stack.client, MODEL)).analyses.length > 0 ? true : undefined), 'the first canary analysis', 120_000);

    // 1. The Temporal server goes down and comes back on the same database.
    await stack.restartTemporal();
    await eventually(async () => ((await pipelineStatus(stack.client, MODEL).catch(() => undefined))?.stage === 'canary' ? true : undefined), 'the run to answer again', 60_000);

    // 2. Predictions marked so they can be found, then the gateway restarts.
    const before = await deployment();
    assert.equal(Number(before.challenger?.version), 2);
    const generator = createGenerator(spec, { seed: 77, drift: driftPlan('none', 0) });
    const marked = Array.from({ length: 60 }, (_, i) => ({ entity_id: `marked-${i}`, features: { ...generator.sample(0).features, account_age_days: MARKER_AGE } }));
    const sent = await fetch(`${gatewayUrl}/v1/models/${MODEL}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: marked }) });
    assert.equal(sent.status, 200);
    const markedAt = Date.now();
    await stopGateway();
    await startGateway();
    assert.deepEqual(await deployment(), before, 'the split and both versions survive the restart');
    const window = await stack.backends.data.readWindow(spec, { from: new Date(markedAt - 60_000), to: new Date(Date.now() + 1_000), variant: 'all' });
    const ages = Array.from(window.columns.account_age_days as ArrayLike<number>);
    assert.equal(ages.filter((a) => a === MARKER_AGE).length, 60, 'every prediction logged before the restart is in the lake');

    const result = (await handle.result()) as PipelineResult;
    assert.equal(result.outcome, 'promoted', `${result.reason}\n${JSON.stringify(result.status.analyses)}`);
    // On time: the 30% step ended when its timer said, not a restart later.
    const history = (await handle.fetchHistory()).events ?? [];
    const ramps = history.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'setTraffic').map((e) => Number(e.eventTime!.seconds) * 1_000 + Math.round((e.eventTime!.nanos ?? 0) / 1e6));
    assert.equal(ramps.length, 2, 'one traffic change per step');
    const stepMs = ramps[1] - ramps[0];
    assert.ok(stepMs >= STEP_MS - 6_000 && stepMs <= STEP_MS + 20_000, `the 30% step lasted ${stepMs} ms (planned ${STEP_MS})`);
    const final = await deployment();
    assert.equal(Number(final.champion?.version), 2);
    assert.equal(final.challenger ?? null, null);
  });
});

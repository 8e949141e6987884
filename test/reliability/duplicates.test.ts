// @server dev
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { buildActivities, openBackends, type Backends } from '../../src/activities/index.js';
import { parseConfig } from '../../src/config/load.js';
import { runtimeSettings } from '../../src/config/settings.js';
import { createLogger } from '../../src/runtime/logger.js';
import { writeHistory } from '../../src/demo/simulator/index.js';
import { createWorkers, runWorkers } from '../../src/worker.js';
import { runCli } from '../helpers/cli.js';
import { devServerEnv, eventually, uniqueQueue, workflowBundle } from '../helpers/temporal.js';

/**
 * Two monitor checks that fire at the same moment and a person's `retrain trigger` on top, all as
 * real `retrain` processes racing each other: exactly one pipeline runs; the others are told so.
 */
const MODEL = 'dup-fraud';
const yaml = `models:
  - name: ${MODEL}
    task: binary_classification
    features:
      - { name: transaction_amount, type: numerical }
      - { name: account_age_days, type: numerical }
      - { name: user_country, type: categorical }
    label: { name: is_fraud, delay: 1h }
    serving: { url: "http://127.0.0.1:1", entityKey: entity_id }
    trainer: { backend: builtin, params: { epochs: 2 } }
    gates: { metric: log_loss, floor: 1 }
    approval: { when: always, approvers: [ops] }
`;

describe('duplicate triggers', () => {
  let env: TestWorkflowEnvironment & { stopServer?: () => Promise<void> };
  let backends: Backends;
  let workers: Worker[];
  let running: Promise<void>;
  let cliEnv: NodeJS.ProcessEnv;
  let configFile: string;

  before(async () => {
    env = await devServerEnv();
    const dataDir = mkdtempSync(path.join(tmpdir(), 'retrain-dups-'));
    configFile = path.join(dataDir, 'retrain.yaml');
    writeFileSync(configFile, yaml);
    const config = parseConfig(yaml);
    const taskQueues = { control: uniqueQueue('dups-control'), training: uniqueQueue('dups-training') };
    const logger = createLogger({ level: 'error', pretty: false, destination: process.stderr });
    backends = openBackends({ config, settings: { ...runtimeSettings(), dataDir, taskQueues }, logger, client: env.client });
    // History but no champion: every check fires the bootstrap trigger.
    await writeHistory(backends.data, config.models[0], { days: 3, rowsPerDay: 300 });
    workers = await createWorkers({ connection: env.nativeConnection, namespace: 'default', settings: { taskQueues }, activities: buildActivities(backends), workflowBundle: await workflowBundle() });
    running = runWorkers(workers);
    cliEnv = { TEMPORAL_ADDRESS: env.address, RETRAIN_DATA_DIR: dataDir, RETRAIN_CONTROL_QUEUE: taskQueues.control, RETRAIN_TRAINING_QUEUE: taskQueues.training };
  });

  after(async () => {
    await env.client.workflow.getHandle(`retrain-${MODEL}`).terminate('test over').catch(() => undefined);
    for (const w of workers ?? []) w.shutdown();
    await running;
    await backends?.close();
    await env?.teardown();
    await env?.stopServer?.();
  });

  it('two monitor checks and a manual trigger at once start exactly one pipeline', async () => {
    const [checkA, checkB, manual] = await Promise.all([
      runCli(['--config', configFile, '--json', 'check', MODEL], cliEnv),
      runCli(['--config', configFile, '--json', 'check', MODEL], cliEnv),
      runCli(['--config', configFile, '--json', 'trigger', MODEL, '--reason', 'me too'], cliEnv),
    ]);
    for (const r of [checkA, checkB, manual]) assert.equal(r.code, 0, r.stderr);
    const checks = [checkA, checkB].map((r) => JSON.parse(r.stdout) as { action: string; fired: Array<{ kind: string }>; pipeline?: { runId: string } });
    const trigger = JSON.parse(manual.stdout) as { started: boolean; runId?: string; alreadyRunning?: string };
    for (const c of checks) assert.ok(c.fired.some((f) => f.kind === 'bootstrap'), JSON.stringify(c));

    const startedBy = [...checks.map((c) => c.action === 'started'), trigger.started].filter(Boolean).length;
    assert.equal(startedBy, 1, `one of the three started it: ${JSON.stringify({ checks, trigger })}`);
    const runIds = new Set([...checks.map((c) => c.pipeline?.runId), trigger.runId ?? trigger.alreadyRunning]);
    assert.equal(runIds.size, 1, `all three name the same run: ${[...runIds].join(', ')}`);

    const runs = await eventually(async () => {
      const found: string[] = [];
      for await (const r of env.client.workflow.list({ query: `WorkflowId = 'retrain-${MODEL}'` })) found.push(r.runId);
      return found.length > 0 ? found : undefined;
    }, 'the pipeline in visibility');
    assert.deepEqual(runs, [...runIds]);
  });

  it('a trigger while the run waits for approval is answered "already running" and changes nothing', async () => {
    const handle = env.client.workflow.getHandle(`retrain-${MODEL}`);
    let seen = '';
    await eventually(async () => {
      const d = await handle.describe();
      seen = `${d.status.name} ${String(d.searchAttributes.RetrainStage)} ${JSON.stringify(d.raw.pendingActivities?.map((a) => [a.activityType?.name, a.attempt, a.lastFailure?.message]))}`;
      return d.searchAttributes.RetrainStage?.[0] === 'awaiting_approval' ? true : undefined;
    }, 'awaiting approval', 120_000).catch((err: Error) => assert.fail(`${err.message}; last seen: ${seen}`));
    const { runId } = await handle.describe();
    const again = await runCli(['--config', configFile, 'trigger', MODEL], cliEnv);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, new RegExp(`already running: retrain-${MODEL} \\(run ${runId}\\); nothing started`));
    assert.equal((await handle.describe()).runId, runId);
    assert.equal(backends.registry.listVersions(MODEL).length, 1, 'one model trained');
  });
});

// @server dev concurrent
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { writeHistory } from '../../src/demo/simulator/index.js';
import { runCli } from '../helpers/cli.js';
import { fraudModelYaml } from '../helpers/fraud-model.js';
import { useStack } from '../helpers/stack.js';
import { eventually } from '../helpers/temporal.js';

/**
 * Two monitor checks that fire at the same moment and a person's `retrain trigger` on top, all as
 * real `retrain` processes racing each other: exactly one pipeline runs; the others are told so.
 */
const MODEL = 'dup-fraud';
const yaml = `models:${fraudModelYaml(
  MODEL,
  'http://127.0.0.1:1',
  `
    trainer: { backend: builtin, params: { epochs: 2 } }
    gates: { metric: log_loss, floor: 1 }
    approval: { when: always, approvers: [ops] }`,
  { labelDelay: '1h', features: ['transaction_amount', 'account_age_days', 'user_country'] },
)}`;

describe('duplicate triggers', () => {
  const stack = useStack({
    name: 'dups',
    config: yaml,
    logLevel: 'error',
    // History but no champion: every check fires the bootstrap trigger.
    prepare: ({ backends, config }) => writeHistory(backends.data, config.models[0], { days: 3, rowsPerDay: 300 }),
  });
  let cliEnv: NodeJS.ProcessEnv;
  let configFile: string;

  before(() => {
    ({ cliEnv, configFile } = stack);
    stack.onStop(() => stack.client.workflow.getHandle(`retrain-${MODEL}`).terminate('test over').catch(() => undefined));
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
      for await (const r of stack.client.workflow.list({ query: `WorkflowId = 'retrain-${MODEL}'` })) found.push(r.runId);
      return found.length > 0 ? found : undefined;
    }, 'the pipeline in visibility');
    assert.deepEqual(runs, [...runIds]);
  });

  it('a trigger while the run waits for approval is answered "already running" and changes nothing', async () => {
    const handle = stack.client.workflow.getHandle(`retrain-${MODEL}`);
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
    assert.equal(stack.backends.registry.listVersions(MODEL).length, 1, 'one model trained');
  });
});

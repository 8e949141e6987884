// @server dev
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { startPipeline } from '../../src/client.js';
import { trainer } from '../../src/config/schema.js';
import { seedChampion } from '../../src/demo/seed.js';
import { fraudModelYaml } from '../helpers/fraud-model.js';
import { useStack } from '../helpers/stack.js';

/**
 * A trainer that hangs, is killed by a signal, or exits with an error, run by the real command
 * backend as a real child process under the real worker: the attempt is noticed, retried as the
 * policy says, then the run fails with a message that names the cause, and the champion keeps serving.
 */
const TOKEN = 'trainer-faults-token';
const TRAINER = path.resolve('test/fixtures/trainers/node-trainer.mjs');
const model = (name: string, url: string, mode: string, heartbeatTimeout = '4s') =>
  fraudModelYaml(
    name,
    url,
    `
    approval: { when: never }
    trainer:
      backend: command
      command: ["${process.execPath}", "${TRAINER}"]
      params: { mode: ${mode} }
      heartbeatTimeout: ${heartbeatTimeout}
      retry: { maximumAttempts: 2, initialInterval: 1s }`,
    { labelDelay: '1h', features: ['transaction_amount', 'account_age_days', 'user_country'] },
  );
// The hung trainer's silence limit is short to keep the test quick; the others allow for a slow start on a busy machine.
const MODES = { 'fault-hang': ['sleep', '2s'], 'fault-crash': ['crash', '4s'], 'fault-exit': ['fail', '4s'] } as const;

describe('trainer faults under the real worker', () => {
  const stack = useStack({
    name: 'faults',
    adminToken: TOKEN,
    logLevel: 'error',
    gateway: true,
    config: (url) => `models:${Object.entries(MODES).map(([name, [mode, silence]]) => model(name, url, mode, silence)).join('')}`,
    // Champion v1 from the built-in trainer; the faulty command trainer only ever trains challengers.
    async prepare({ backends, config }) {
      const builtin = trainer.parse({ backend: 'builtin', params: { epochs: 2 } });
      for (const spec of config.models) await seedChampion(backends, { ...spec, trainer: builtin }, { historyDays: 3, rowsPerDay: 300 });
    },
  });

  /** Runs the model's pipeline to its failure; returns the failure text and how many training attempts started. */
  async function failedRun(name: string): Promise<{ message: string; attempts: number }> {
    const started = await startPipeline(stack.client, { taskQueues: stack.taskQueues }, stack.specs[name], { kinds: ['manual'], reasons: ['fault test'], requestedBy: 'test' });
    assert.ok(started.started);
    const handle = stack.client.workflow.getHandle(started.workflowId, started.runId);
    const err = await handle.result().then(
      () => assert.fail('the run should fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof WorkflowFailedError, String(err));
    let message = '';
    for (let cause: Error | undefined = err; cause; cause = (cause as { cause?: Error }).cause) message += `${cause.message}\n`;
    const history = await handle.fetchHistory();
    const attempts = (history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 1);
    const scheduled = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'trainChallenger').length;
    assert.equal(scheduled, 1, 'one training activity; retries are attempts of it');
    return { message, attempts: Math.max(...attempts) };
  }

  async function championStillServes(name: string): Promise<void> {
    assert.deepEqual(stack.backends.registry.aliases(name), { champion: 1, challenger: null, previous: null });
    assert.equal(stack.backends.registry.listVersions(name).length, 1, 'no challenger was registered');
    const response = await fetch(`${stack.gatewayUrl}/v1/admin/models/${name}/deployment`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const deployed = (await response.json()) as { champion?: { version: number | string }; challenger?: unknown };
    assert.equal(Number(deployed.champion?.version), 1);
    assert.equal(deployed.challenger ?? null, null);
  }

  it('a hung trainer is terminated after heartbeatTimeout, retried, then the run fails saying so', async () => {
    const { message, attempts } = await failedRun('fault-hang');
    assert.equal(attempts, 2);
    assert.match(message, /printed nothing for 2s \(trainer\.heartbeatTimeout\)/);
    await championStillServes('fault-hang');
  });

  it('a trainer killed by a signal is retried, then the run fails with its last words', async () => {
    const { message, attempts } = await failedRun('fault-crash');
    assert.equal(attempts, 2);
    assert.match(message, /was killed by SIGKILL: Killed \(out of memory\)/);
    await championStillServes('fault-crash');
  });

  it('a trainer that exits with an error is not retried; the failure carries its stderr tail', async () => {
    const { message, attempts } = await failedRun('fault-exit');
    assert.equal(attempts, 1);
    assert.match(message, /exited with code 3: ValueError: the data is bad/);
    assert.match(message, /--- trainer output \(tail\) ---/);
    await championStillServes('fault-exit');
  });
});

// @server dev concurrent
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { WorkflowFailedError } from '@temporalio/client';
import { decide, pipelineStatus } from '../../src/client.js';
import { specRevision } from '../../src/config/revision.js';
import type { ModelSpec } from '../../src/config/schema.js';
import { writeHistory } from '../../src/demo/simulator/history.js';
import type { PipelineResult } from '../../src/workflows/pipeline.js';
import { fraudModelYaml } from '../helpers/fraud-model.js';
import { useStack } from '../helpers/stack.js';
import { eventually } from '../helpers/temporal.js';

/**
 * The attack of issue 15 (vulnerability 1), replayed: a plain Temporal client, with no key and no
 * codec, starts `retrainPipeline` with a crafted spec whose trainer is a shell command and whose
 * approval policy is "never". The worker must run its own configured trainer and policy, and refuse
 * model names and revisions it does not have.
 */
describe('workflow inputs are untrusted (dev server, real activities)', () => {
  const name = `guarded-${Date.now().toString(36)}`;
  const stack = useStack({
    name: 'untrusted',
    config: `models:${fraudModelYaml(name, 'http://127.0.0.1:1', `
    trainer: { backend: builtin, params: { epochs: 2, seed: 1 } }
    approval: { when: always, approvers: [ml-lead] }`)}`,
    prepare: ({ backends, config }) => writeHistory(backends.data, config.models[0], { days: 4, rowsPerDay: 300, seed: 2, end: new Date() }),
  });
  let spec: ModelSpec;
  let queues: { control: string; training: string };

  before(() => {
    spec = stack.config.models[0];
    queues = stack.taskQueues;
  });

  const start = (args: unknown, workflowId: string) => stack.client.workflow.start('retrainPipeline', { taskQueue: queues.control, workflowId, args: [args] });

  it('a crafted trainer command and approval policy in the input are ignored: the configured ones run', async () => {
    const marker = path.join(stack.dataDir, 'pwned');
    const crafted = {
      ...spec,
      trainer: { backend: 'command', command: ['/bin/sh', '-c', `id > ${marker}`], params: {}, env: {}, timeout: '1m' },
      approval: { ...spec.approval, when: 'never' },
    };
    const handle = await start({ model: name, spec: crafted, trigger: { kinds: ['manual'], reasons: ['crafted'], requestedBy: 'mallory' }, trainingTaskQueue: queues.training }, `retrain-${name}`);
    // The worker's policy asks a person; the crafted "never" would have gone straight on.
    await eventually(async () => ((await pipelineStatus(stack.client, name)).stage === 'awaiting_approval' ? true : undefined), 'the run waiting for approval');
    assert.equal(existsSync(marker), false, 'the crafted command never ran');
    const trained = stack.backends.registry.listVersions(name);
    assert.equal(trained.length, 1);
    assert.equal(trained[0].trainer, 'builtin', 'the configured trainer trained the challenger');
    await decide(stack.client, name, 'reject', { by: 'ml-lead', comment: 'test over' });
    assert.equal(((await handle.result()) as PipelineResult).outcome, 'rejected');

    const resolved = (await handle.fetchHistory()).events?.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'resolveSpec');
    assert.ok(resolved, 'the spec came from the worker, and the history shows it');
  });

  it('a model name the worker does not declare fails the run before it reaches a path', async () => {
    const handle = await start({ model: '../../../tmp/evil', trigger: { kinds: ['manual'], reasons: ['x'], requestedBy: 'mallory' }, trainingTaskQueue: queues.training }, `retrain-evil-${Date.now()}`);
    await assert.rejects(handle.result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      assert.match(String(((err.cause as Error)?.cause as Error | undefined)?.message ?? err.cause?.message), /unknown model "\.\.\/\.\.\/\.\.\/tmp\/evil": this worker's config declares guarded-/);
      return true;
    });
  });

  it('a revision the worker never had fails clearly; the worker’s own revision runs', async () => {
    const handle = await start({ model: name, configRevision: 'ffffffffffffffff', trigger: { kinds: ['manual'], reasons: ['x'], requestedBy: 'ci' }, trainingTaskQueue: queues.training }, `retrain-${name}`);
    await assert.rejects(handle.result(), (err: unknown) => {
      assert.ok(err instanceof WorkflowFailedError);
      assert.match(String(((err.cause as Error)?.cause as Error | undefined)?.message ?? err.cause?.message), new RegExp(`config revision ffffffffffffffff is unknown to this worker \\(it has revision ${specRevision(spec)}\\)`));
      return true;
    });
    assert.equal(stack.backends.registry.configRevision(name, specRevision(spec)) !== undefined, true, 'the worker kept its own revision');
  });
});

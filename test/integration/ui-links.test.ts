// @server dev
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startPipeline } from '../../src/client.js';
import { decisiveChecksQuery, pipelinesQuery } from '../../src/cli/ui-links.js';
import { loadConfig } from '../../src/config/load.js';
import type { RetrainConfig } from '../../src/config/schema.js';
import { desiredSchedules, reconcileSchedules } from '../../src/schedules/reconcile.js';
import { eventually, uniqueQueue, useDevServer } from '../helpers/temporal.js';

/**
 * The web UI links `npm run dev`, the narrator and the README give (issue 16, item 2): their query
 * lists a model's pipelines, and none of the monitor checks that would bury them. Both are started
 * as the product starts them (the pipeline by startPipeline, the check by the model's schedule),
 * on a task queue no worker polls, so visibility sees exactly what they carry from their start.
 */
describe('the UI link to a model\'s pipelines', () => {
  const env = useDevServer();

  it('lists the model\'s pipelines and none of its monitor checks, nor another model\'s pipelines', async () => {
    const client = env().client;
    const queue = uniqueQueue('ui-links');
    const settings = { taskQueues: { control: queue, training: queue } };
    const [shipped] = loadConfig('retrain.yaml').models;
    const name = `ui-links-${process.pid}`;
    const spec = { ...shipped, name };
    const other = { ...shipped, name: `${name}-other` };

    const started = await startPipeline(client, settings, spec, { kinds: ['manual'], reasons: ['ui link test'], requestedBy: 'test' });
    const otherStarted = await startPipeline(client, settings, other, { kinds: ['manual'], reasons: ['ui link test'], requestedBy: 'test' });
    assert.ok(started.started && otherStarted.started);
    const [desired] = desiredSchedules({ models: [spec] } as unknown as RetrainConfig, settings);
    await reconcileSchedules(client, [desired], { prune: false });
    const schedule = client.schedule.getHandle(desired.scheduleId);
    try {
      await schedule.trigger();
      await schedule.trigger(); // checks pile up: one workflow each
      const list = async (query: string) => {
        const out: Array<{ workflowId: string; type: string }> = [];
        for await (const w of client.workflow.list({ query })) out.push({ workflowId: w.workflowId, type: w.type });
        return out;
      };
      // Visibility is eventually consistent: wait until the checks are seen at all.
      const checks = await eventually(async () => {
        const found = await list(`RetrainModel = "${name}"`);
        return found.filter((w) => w.type === 'monitorModel').length >= 1 ? found : undefined;
      }, 'the monitor checks in visibility');
      assert.ok(checks.length >= 2, JSON.stringify(checks)); // the unfiltered model view mixes both kinds

      assert.deepEqual(await list(pipelinesQuery({ model: name })), [{ workflowId: started.workflowId, type: 'retrainPipeline' }]);
      assert.deepEqual(await list(pipelinesQuery({ model: name, stage: 'budget_check' })), [{ workflowId: started.workflowId, type: 'retrainPipeline' }]);
      const all = await list(pipelinesQuery());
      assert.ok(all.every((w) => w.type === 'retrainPipeline' || w.type === 'deployVersion'));
      assert.ok(all.some((w) => w.workflowId === otherStarted.workflowId));
      // No check has decided anything (none ran): the decisive-checks query is a valid query, empty here.
      assert.deepEqual(await list(decisiveChecksQuery(name)), []);
    } finally {
      await schedule.delete();
      for await (const w of client.workflow.list({ query: `RetrainModel = "${name}" OR RetrainModel = "${other.name}"` })) {
        if (w.status.name === 'RUNNING') await client.workflow.getHandle(w.workflowId, w.runId).terminate('test done');
      }
    }
  });
});

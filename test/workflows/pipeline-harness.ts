import { after, before } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { startPipeline, type StartOutcome } from '../../src/client.js';
import type { ModelSpec } from '../../src/config/schema.js';
import type { PipelineResult } from '../../src/workflows/pipeline.js';
import { timeSkippingEnv, uniqueQueue, workflowBundle } from '../helpers/temporal.js';
import { scriptedActivities, type Recorder, type Script } from '../helpers/scripted-activities.js';

/** One time-skipping environment per test file, and a fresh worker + queue per test. */
export function useTimeSkipping(): () => TestWorkflowEnvironment {
  let env: TestWorkflowEnvironment;
  before(async () => {
    env = await timeSkippingEnv();
  });
  after(async () => {
    await env?.teardown();
  });
  return () => env;
}

export interface PipelineRun {
  recorder: Recorder;
  start: StartOutcome;
  settings: { taskQueues: { control: string; training: string } };
  workflowId: string;
}

/** Starts a pipeline for `spec` on a new worker with scripted activities and runs `body` while the worker runs. */
export async function withPipeline<T>(
  env: TestWorkflowEnvironment,
  spec: ModelSpec,
  script: Script,
  body: (run: PipelineRun) => Promise<T>,
): Promise<T> {
  const queue = uniqueQueue('pipeline');
  const settings = { taskQueues: { control: queue, training: queue } };
  const { activities, recorder } = scriptedActivities(script);
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: queue,
    workflowBundle: await workflowBundle(),
    activities,
  });
  return worker.runUntil(async () => {
    const start = await startPipeline(env.client, settings, spec, { kinds: ['drift'], reasons: ['PSI 0.31 on transaction_amount'], requestedBy: 'monitor' });
    return body({ recorder, start, settings, workflowId: start.workflowId });
  });
}

export function result(env: TestWorkflowEnvironment, workflowId: string): Promise<PipelineResult> {
  return env.client.workflow.getHandle(workflowId).result();
}

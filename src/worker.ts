import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, NativeConnection, Worker, type WorkflowBundle } from '@temporalio/worker';
import type { DataConverter } from '@temporalio/common';
import type { Logger } from './runtime/logger.js';
import type { MonitorActivities, PipelineActivities } from './activities/contracts.js';
import type { RuntimeSettings } from './config/settings.js';
import { dataConverterFromEnv } from './security/payload-codec.js';

/**
 * The worker process polls two task queues: `retrain-control` (workflows and light activities)
 * and `retrain-training` (the heavy trainers), so training capacity scales on its own machines.
 */

export const WORKFLOWS_PATH = path.join(path.dirname(fileURLToPath(import.meta.url)), 'workflows', 'index.ts');

export interface WorkerSetup {
  connection: NativeConnection;
  namespace: string;
  settings: Pick<RuntimeSettings, 'taskQueues'>;
  activities: Partial<PipelineActivities & MonitorActivities>;
  /** A prebuilt workflow bundle (tests build it once per run); otherwise the sources are bundled. */
  workflowBundle?: WorkflowBundle;
  /** Which queues this process serves (default both). */
  queues?: Array<'control' | 'training'>;
  maxConcurrentTrainings?: number;
  /** Control-queue activities (checks, datasets, evaluations) at once on this worker (default 16). */
  maxConcurrentControlActivities?: number;
  logger?: Logger;
  /** Payload codecs; default from RETRAIN_PAYLOAD_KEY (none: payloads in plain JSON). Must match the clients'. */
  dataConverter?: DataConverter;
}

/** Bundles the workflow code once; webpack's report goes to debug, it is noise at info. */
export async function bundleWorkflows(logger?: Logger): Promise<WorkflowBundle> {
  const quiet = logger?.child({ component: 'bundler' });
  return bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: quiet
      ? {
          log: (_level, message, meta) => quiet.debug(meta ?? {}, message),
          trace: (m, meta) => quiet.trace(meta ?? {}, m),
          debug: (m, meta) => quiet.debug(meta ?? {}, m),
          info: (m, meta) => quiet.debug(meta ?? {}, m),
          warn: (m, meta) => quiet.warn(meta ?? {}, m),
          error: (m, meta) => quiet.error(meta ?? {}, m),
        }
      : undefined,
  });
}

/**
 * A bundle built ahead (`retrain bundle <file>`) named by RETRAIN_WORKFLOW_BUNDLE: a worker then
 * starts in a second instead of bundling the sources, which matters when workers restart often.
 */
function prebuiltBundle(env: NodeJS.ProcessEnv = process.env): WorkflowBundle | undefined {
  const file = env.RETRAIN_WORKFLOW_BUNDLE;
  if (!file) return undefined;
  try {
    return { code: readFileSync(file, 'utf8') };
  } catch (err) {
    throw new Error(`RETRAIN_WORKFLOW_BUNDLE=${file}: cannot read the workflow bundle (${(err as Error).message}); build it with \`retrain bundle ${file}\` or unset the variable`);
  }
}

export async function createWorkers(setup: WorkerSetup): Promise<Worker[]> {
  const { trainChallenger, ...controlActivities } = setup.activities;
  const queues = setup.queues ?? ['control', 'training'];
  // Only the control queue runs workflows: a training-only worker (`--queues training`) bundles nothing.
  const workflowBundle = queues.includes('control') ? (setup.workflowBundle ?? prebuiltBundle() ?? (await bundleWorkflows(setup.logger))) : undefined;
  const workers: Worker[] = [];
  const dataConverter = setup.dataConverter ?? dataConverterFromEnv();
  if (queues.includes('control')) {
    workers.push(
      await Worker.create({
        connection: setup.connection,
        namespace: setup.namespace,
        taskQueue: setup.settings.taskQueues.control,
        activities: controlActivities,
        // Checks and dataset builds are CPU and I/O heavy; 100 at once (the SDK default) starved the
        // event loop that also runs workflow tasks (bench:monitors). Beyond this they wait in the queue.
        maxConcurrentActivityTaskExecutions: setup.maxConcurrentControlActivities ?? 16,
        workflowBundle,
        dataConverter,
      }),
    );
  }
  if (queues.includes('training') && !trainChallenger) {
    setup.logger?.warn({ taskQueue: setup.settings.taskQueues.training }, 'No training backend is wired yet; not polling the training queue');
  } else if (queues.includes('training')) {
    workers.push(
      await Worker.create({
        connection: setup.connection,
        namespace: setup.namespace,
        taskQueue: setup.settings.taskQueues.training,
        activities: { trainChallenger },
        maxConcurrentActivityTaskExecutions: setup.maxConcurrentTrainings ?? 1,
        dataConverter,
      }),
    );
  }
  return workers;
}

/** Runs the workers until `shutdown()` on each (or a fatal error), then resolves. */
export async function runWorkers(workers: Worker[]): Promise<void> {
  await Promise.all(workers.map((w) => w.run()));
}

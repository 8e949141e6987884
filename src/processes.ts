import type { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { loadConfig } from './config/load.js';
import { runtimeSettings, type RuntimeSettings } from './config/settings.js';
import type { RetrainConfig } from './config/schema.js';
import { buildActivities, openBackends, type Backends } from './activities/index.js';
import { connectClient, connectWorker, temporalTarget, type TemporalTarget } from './runtime/connection.js';
import { createLogger, setLogger, type Logger } from './runtime/logger.js';
import { installTemporalRuntime } from './runtime/temporal-runtime.js';
import { createWorkers, runWorkers } from './worker.js';

/** What a long-running process (worker, dev) sets up first: settings, config, logger, Runtime. */
export interface ProcessContext {
  settings: RuntimeSettings;
  config: RetrainConfig;
  logger: Logger;
}

export function processContext(options: { configFile?: string; name: string }): ProcessContext {
  const settings = runtimeSettings();
  const config = loadConfig(options.configFile);
  const logger = createLogger({ level: settings.logLevel, name: options.name });
  setLogger(logger);
  installTemporalRuntime({ logger, metricsPort: settings.metricsPort });
  return { settings, config, logger };
}

/** Connects and runs both task queues' workers; resolves when they have shut down. */
export async function startWorkerProcess(
  ctx: ProcessContext,
  target: TemporalTarget = temporalTarget(),
  queues: Array<'control' | 'training'> = ['control', 'training'],
): Promise<{ workers: Worker[]; done: Promise<void>; backends: Backends; client: Client }> {
  const connection = await connectWorker(target);
  const client = await connectClient(target);
  const backends = openBackends({ ...ctx, client });
  const workers = await createWorkers({
    connection,
    namespace: target.namespace,
    settings: ctx.settings,
    activities: buildActivities(backends),
    logger: ctx.logger,
    queues,
  });
  ctx.logger.info(
    { address: target.address, namespace: target.namespace, taskQueues: ctx.settings.taskQueues, metrics: ctx.settings.metricsPort ? `http://localhost:${ctx.settings.metricsPort}/metrics` : 'off' },
    'Worker polling',
  );
  const done = runWorkers(workers).finally(async () => {
    await backends.close();
    await client.connection.close();
    await connection.close();
  });
  return { workers, done, backends, client };
}

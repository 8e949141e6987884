import { durationMs } from '../../config/duration.js';
import { artifactUri } from '../models/load.js';
import type { BuiltinJob, BuiltinOutcome } from './builtin-core.js';
import { siblingModule, spawnModuleWorker } from '../../runtime/worker-thread.js';
import { costOf, type TrainContext, type TrainingBackend, TrainingError, type TrainProgress, type TrainRequest, type TrainResult } from './types.js';

type WorkerMessage =
  | { type: 'progress'; progress: TrainProgress }
  | { type: 'done'; outcome: BuiltinOutcome }
  | { type: 'error'; name: string; message: string; stack?: string };

/** Errors that describe the data or spec, not a crash. */
const BAD_INPUT_ERRORS = new Set(['TrainingInputError', 'DatasetError']);

/**
 * The built-in trainer (logistic / linear regression) behind the TrainingBackend interface. Each
 * run gets its own worker thread: the caller's event loop stays free for heartbeats, and abort or
 * timeout simply terminates the thread, which stops the synchronous SGD loop immediately.
 */
export class BuiltinTrainingBackend implements TrainingBackend {
  readonly name = 'builtin';

  async train(request: TrainRequest, ctx: TrainContext): Promise<TrainResult> {
    const trainer = request.spec.trainer;
    if (trainer.backend !== 'builtin') throw new TrainingError('bad_input', `model ${request.spec.name}: trainer.backend is ${trainer.backend}, not builtin`);
    const job = toJob(request);
    const timeoutMs = durationMs(trainer.timeout);
    if (ctx.signal.aborted) throw new TrainingError('aborted', `training ${request.runId} was cancelled before it started`);

    const started = performance.now();
    const log: string[] = [];
    const outcome = await new Promise<BuiltinOutcome>((resolve, reject) => {
      const worker = spawnModuleWorker(siblingModule(import.meta.url, 'worker'), { workerData: job });
      let settled = false;
      const finish = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ctx.signal.removeEventListener('abort', onAbort);
        fn();
      };
      const stop = (error: TrainingError) => finish(() => void worker.terminate().finally(() => reject(error)));
      const onAbort = () => stop(new TrainingError('aborted', `training ${request.runId} was cancelled; the worker thread was stopped`, { logTail: log.slice(-40) }));
      const timer = setTimeout(
        () => stop(new TrainingError('timeout', `training ${request.runId} exceeded its timeout of ${trainer.timeout}; the worker thread was stopped`, { logTail: log.slice(-40) })),
        timeoutMs,
      );
      ctx.signal.addEventListener('abort', onAbort, { once: true });

      worker.on('message', (message: WorkerMessage) => {
        if (message.type === 'progress') {
          log.push(`${message.progress.message}${message.progress.metrics ? ` ${JSON.stringify(message.progress.metrics)}` : ''}`);
          if (!settled) safeProgress(ctx, message.progress);
        } else if (message.type === 'done') {
          finish(() => resolve(message.outcome));
          void worker.terminate();
        } else {
          const kind = BAD_INPUT_ERRORS.has(message.name) ? 'bad_input' : 'failed';
          stop(new TrainingError(kind, `built-in training of ${request.spec.name} failed: ${message.message}`, { logTail: [...log.slice(-39), message.stack ?? message.message] }));
        }
      });
      worker.on('error', (err) => stop(new TrainingError('failed', `built-in trainer crashed: ${err.message}`, { logTail: [...log.slice(-39), err.stack ?? err.message], cause: err })));
      worker.on('exit', (code) => {
        if (!settled) stop(new TrainingError('failed', `built-in trainer thread exited with code ${code} before finishing`, { logTail: log.slice(-40) }));
      });
    });

    const wallMs = performance.now() - started;
    return {
      artifactUri: artifactUri(outcome.artifactPath),
      format: 'retrain-linear/v1',
      metrics: outcome.metrics,
      costUsd: costOf(wallMs, trainer.costPerHour),
      wallMs,
      logTail: [...outcome.log, ...log].slice(-40),
    };
  }
}

function toJob(request: TrainRequest): BuiltinJob {
  const { spec } = request;
  if (spec.trainer.backend !== 'builtin') throw new Error('unreachable');
  return {
    task: spec.task,
    ...(spec.task === 'multiclass_classification' ? { classes: spec.classes } : {}),
    algorithm: spec.trainer.algorithm,
    features: spec.features,
    labelName: spec.label.name,
    params: spec.trainer.params,
    datasetDir: request.datasetDir,
    outputDir: request.outputDir,
    runId: request.runId,
  };
}

/** A throwing progress callback must not take the run down with it. */
function safeProgress(ctx: TrainContext, progress: TrainProgress): void {
  try {
    ctx.onProgress(progress);
  } catch {
    /* the caller's problem, not the trainer's */
  }
}

import { parentPort, workerData } from 'node:worker_threads';
import { type BuiltinJob, runBuiltinJob } from './builtin-core.js';

/**
 * Worker-thread entry of the built-in trainer. All CPU-heavy work (Parquet decoding, SGD,
 * validation scoring) happens here so the activity worker's event loop keeps heartbeating.
 * Messages to the parent: progress, done, error (see WorkerMessage in builtin.ts).
 */
const port = parentPort;
if (!port) throw new Error('worker.ts must run in a worker thread');

const job = workerData as BuiltinJob;
try {
  const outcome = await runBuiltinJob(job, (progress) => port.postMessage({ type: 'progress', progress }));
  port.postMessage({ type: 'done', outcome });
} catch (err) {
  const error = err as Error;
  port.postMessage({ type: 'error', name: error.name, message: error.message, stack: error.stack });
}

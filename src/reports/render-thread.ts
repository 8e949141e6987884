import type { Worker } from 'node:worker_threads';
import { siblingModule, spawnModuleWorker } from '../runtime/worker-thread.js';
import type { CheckReportInput } from './check-report.js';
import type { PipelineReportInput } from './pipeline-report.js';

/**
 * Renders reports on one background thread shared by the process. Report rendering costs about
 * 80% of a monitor check's CPU; on the main thread, 200 checks at once stalled the event loop long
 * enough for workflow tasks to time out (`npm run bench:monitors`). The thread is unref'd, so it
 * never keeps a process alive, and it is started on first use.
 */
export type RenderRequest = { id: number; kind: 'check'; input: CheckReportInput } | { id: number; kind: 'pipeline'; input: PipelineReportInput };
export type RenderResponse = { id: number; html: string } | { id: number; error: string };

let thread: Worker | undefined;
let nextId = 0;
const pending = new Map<number, { resolve: (html: string) => void; reject: (err: Error) => void }>();

function renderer(): Worker {
  if (thread) return thread;
  const worker = spawnModuleWorker(siblingModule(import.meta.url, 'render-worker'));
  worker.unref();
  worker.on('message', (response: RenderResponse) => {
    const waiter = pending.get(response.id);
    pending.delete(response.id);
    if ('html' in response) waiter?.resolve(response.html);
    else waiter?.reject(new Error(`report rendering failed: ${response.error}`));
  });
  // A dead thread fails what it held; the next render starts a new one.
  const fail = (err: Error) => {
    if (thread === worker) thread = undefined;
    for (const [, waiter] of pending) waiter.reject(err);
    pending.clear();
  };
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the report renderer exited with code ${code}`)));
  thread = worker;
  return worker;
}

function render(request: Omit<RenderRequest, 'id'>): Promise<string> {
  const id = nextId++;
  return new Promise<string>((resolve, reject) => {
    // While a render is in flight the thread keeps the process alive, so the result is delivered.
    const worker = renderer();
    worker.ref();
    const release = () => (pending.size === 0 ? worker.unref() : undefined);
    pending.set(id, { resolve: (html) => (resolve(html), release()), reject: (err) => (reject(err), release()) });
    worker.postMessage({ id, ...request });
  });
}

export const renderCheckReportOffThread = (input: CheckReportInput) => render({ kind: 'check', input });
export const renderPipelineReportOffThread = (input: PipelineReportInput) => render({ kind: 'pipeline', input });

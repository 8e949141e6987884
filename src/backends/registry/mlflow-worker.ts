import { runAsWorker } from 'synckit';
import { MlflowClient } from './mlflow-client.js';
import { MLFLOW_OPS, type MlflowContext } from './mlflow-ops.js';
import type { MlflowReply, MlflowRequest } from './mlflow-bridge.js';

/**
 * The worker thread behind MlflowBridge: runs each MLflow operation (several REST calls, fetch) to
 * completion while the calling thread waits (synckit: Atomics.wait on a SharedArrayBuffer).
 */
const contexts = new Map<number, MlflowContext>();
let nextHandle = 0;

type Op = (ctx: MlflowContext, ...args: never[]) => Promise<unknown>;

async function handle(req: MlflowRequest): Promise<unknown> {
  switch (req.cmd) {
    case 'open': {
      const client = new MlflowClient(req.trackingUri);
      await client.health();
      contexts.set(++nextHandle, { client, cacheDir: req.cacheDir });
      return nextHandle;
    }
    case 'close':
      contexts.delete(req.handle);
      return null;
    case 'call': {
      const ctx = contexts.get(req.handle);
      if (!ctx) throw new Error('this MLflow registry is closed');
      const op = (MLFLOW_OPS as Record<string, Op>)[req.op];
      if (!op) throw new Error(`unknown MLflow operation ${req.op}`);
      return op(ctx, ...(req.args as never[]));
    }
  }
}

runAsWorker(async (req: MlflowRequest): Promise<MlflowReply> => {
  try {
    return { ok: true, value: await handle(req) };
  } catch (err) {
    const e = err as Error & { code?: string };
    return { ok: false, error: { name: e.name, message: e.message, code: typeof e.code === 'string' ? e.code : undefined } };
  }
});

import pg from 'pg';
import { runAsWorker } from 'synckit';
import { DEPLOYMENT_OPS, migrateDeploymentStore } from '../../serving/deployment-store-postgres-ops.js';
import { migrateRegistry, REGISTRY_OPS } from '../registry/postgres-ops.js';
import type { BridgeReply, BridgeRequest, StoreKind } from './protocol.js';

/**
 * The worker thread behind PostgresBridge: owns the node-postgres connections (one per open store)
 * and runs each request to completion, a whole transaction where the operation needs one, while the
 * calling thread waits (synckit: Atomics.wait on a SharedArrayBuffer).
 */
export type Op = (client: pg.ClientBase, ...args: never[]) => Promise<unknown>;

const OPS: Record<StoreKind, Record<string, Op>> = { registry: REGISTRY_OPS, deployment: DEPLOYMENT_OPS };
const MIGRATE: Record<StoreKind, (client: pg.ClientBase) => Promise<void>> = { registry: migrateRegistry, deployment: migrateDeploymentStore };

interface Handle {
  kind: StoreKind;
  url: string;
  client?: pg.Client;
  broken: boolean;
}

const handles = new Map<number, Handle>();
let nextHandle = 0;

async function connect(h: Handle): Promise<pg.Client> {
  if (h.client && !h.broken) return h.client;
  if (h.client) h.client.end().catch(() => undefined);
  const client = new pg.Client({ connectionString: h.url, connectionTimeoutMillis: 10_000, application_name: `retrain-${h.kind}` });
  h.broken = false;
  // A dropped connection fails the call in flight; the next call connects again.
  client.on('error', () => {
    h.broken = true;
  });
  await client.connect();
  h.client = client;
  return client;
}

async function handle(req: BridgeRequest): Promise<unknown> {
  switch (req.cmd) {
    case 'open': {
      const h: Handle = { kind: req.kind, url: req.url, broken: false };
      const client = await connect(h);
      try {
        await MIGRATE[req.kind](client);
      } catch (err) {
        await client.end().catch(() => undefined);
        throw err;
      }
      handles.set(++nextHandle, h);
      return nextHandle;
    }
    case 'close': {
      const h = handles.get(req.handle);
      handles.delete(req.handle);
      await h?.client?.end().catch(() => undefined);
      return null;
    }
    case 'call': {
      const h = handles.get(req.handle);
      if (!h) throw new Error('this PostgreSQL store is closed');
      const op = OPS[h.kind][req.op];
      if (!op) throw new Error(`unknown ${h.kind} operation ${req.op}`);
      const client = await connect(h);
      return op(client, ...(req.args as never[]));
    }
  }
}

runAsWorker(async (req: BridgeRequest): Promise<BridgeReply> => {
  try {
    return { ok: true, value: await handle(req) };
  } catch (err) {
    const e = err as Error & { code?: string };
    // Errors cross the thread as plain data; the bridge rebuilds RegistryError with its code.
    return { ok: false, error: { name: e.name, message: e.message, code: typeof e.code === 'string' ? e.code : undefined } };
  }
});

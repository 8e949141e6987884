import { fileURLToPath } from 'node:url';
import { createSyncFn } from 'synckit';
import { RegistryError, type RegistryErrorCode } from '../registry/types.js';
import type { BridgeReply, BridgeRequest, StoreKind } from './protocol.js';

/**
 * A synchronous door to PostgreSQL. node-postgres is asynchronous; the registry and the deployment
 * store are synchronous interfaces (they were written for better-sqlite3). The bridge runs the `pg`
 * client in a worker thread and blocks the calling thread until the worker answers (synckit:
 * Atomics.wait on a SharedArrayBuffer). One worker per process serves every open store; each store
 * has its own connection there. Each operation is ONE request: an operation that must be atomic
 * runs its whole transaction inside the worker, so a transaction never spans two waits.
 *
 * Cost: the calling thread is blocked for one round trip to the server per call (measured by
 * bench/registry-bridge.ts); nothing else runs on that thread meanwhile.
 */
const worker = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './worker-boot.mjs' : './worker.js', import.meta.url));
/** A call never waits longer than this (a hung server fails the call instead of freezing the process). */
const TIMEOUT_MS = Number(process.env.RETRAIN_POSTGRES_TIMEOUT_MS ?? 60_000);

let send: ((req: BridgeRequest) => BridgeReply) | undefined;

function request(req: BridgeRequest): unknown {
  send ??= createSyncFn(worker, { execArgv: [], timeout: TIMEOUT_MS }) as (req: BridgeRequest) => BridgeReply;
  const reply = send(req);
  if (reply.ok) return reply.value;
  const { name, message, code } = reply.error;
  if (name === 'RegistryError') throw new RegistryError(code as RegistryErrorCode, message);
  const err = new Error(message) as Error & { code?: string };
  if (code) err.code = code;
  throw err;
}

export class PostgresBridge {
  private handle: number | undefined;

  /** Connects and brings the schema of `kind` up to date (refusing a newer one). */
  constructor(
    readonly kind: StoreKind,
    readonly url: string,
  ) {
    this.handle = request({ cmd: 'open', kind, url }) as number;
  }

  call<T>(op: string, ...args: unknown[]): T {
    if (this.handle === undefined) throw new Error(`the PostgreSQL ${this.kind} store is closed`);
    return request({ cmd: 'call', handle: this.handle, op, args }) as T;
  }

  get open(): boolean {
    return this.handle !== undefined;
  }

  close(): void {
    if (this.handle === undefined) return;
    const handle = this.handle;
    this.handle = undefined;
    request({ cmd: 'close', handle });
  }
}

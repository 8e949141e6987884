import { fileURLToPath } from 'node:url';
import { createSyncFn } from 'synckit';
import { MlflowUnreachableError } from './mlflow-client.js';
import type { MLFLOW_OPS } from './mlflow-ops.js';
import { RegistryError, type RegistryErrorCode } from './types.js';

/**
 * A synchronous door to MLflow's REST API, for the synchronous `Registry` interface (as
 * PostgresBridge is to PostgreSQL): fetch runs in a worker thread and the calling thread blocks
 * until the operation is done. Each method of MlflowRegistry makes one or two such calls; a call is
 * one operation of mlflow-ops.ts (a few REST requests), never a conversation across waits.
 */
export type MlflowRequest =
  | { cmd: 'open'; trackingUri: string; cacheDir: string }
  | { cmd: 'call'; handle: number; op: string; args: unknown[] }
  | { cmd: 'close'; handle: number };

export type MlflowReply = { ok: true; value: unknown } | { ok: false; error: { name: string; message: string; code?: string } };

const worker = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './mlflow-worker-boot.mjs' : './mlflow-worker.js', import.meta.url));
/** A call never waits longer than this (a hung server fails the call instead of freezing the process). */
const TIMEOUT_MS = Number(process.env.RETRAIN_MLFLOW_TIMEOUT_MS ?? 120_000);

let send: ((req: MlflowRequest) => MlflowReply) | undefined;

function request(req: MlflowRequest): unknown {
  send ??= createSyncFn(worker, { execArgv: [], timeout: TIMEOUT_MS }) as (req: MlflowRequest) => MlflowReply;
  const reply = send(req);
  if (reply.ok) return reply.value;
  const { name, message, code } = reply.error;
  if (name === 'RegistryError') throw new RegistryError(code as RegistryErrorCode, message);
  if (name === 'MlflowUnreachableError') throw new MlflowUnreachableError(message);
  throw new Error(message);
}

type Ops = typeof MLFLOW_OPS;
type Args<K extends keyof Ops> = Ops[K] extends (ctx: never, ...args: infer A) => unknown ? A : never;
type Result<K extends keyof Ops> = Awaited<ReturnType<Ops[K]>>;

export class MlflowBridge {
  private handle: number | undefined;

  /** Checks the server answers (GET /health) before anything else. */
  constructor(
    readonly trackingUri: string,
    cacheDir: string,
  ) {
    this.handle = request({ cmd: 'open', trackingUri, cacheDir }) as number;
  }

  call<K extends keyof Ops>(op: K, ...args: Args<K>): Result<K> {
    if (this.handle === undefined) throw new Error(`the MLflow registry at ${this.trackingUri} is closed`);
    return request({ cmd: 'call', handle: this.handle, op, args }) as Result<K>;
  }

  close(): void {
    if (this.handle === undefined) return;
    const handle = this.handle;
    this.handle = undefined;
    request({ cmd: 'close', handle });
  }
}

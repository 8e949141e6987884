import path from 'node:path';
import { PostgresBridge } from '../backends/postgres/bridge.js';
import type { DEPLOYMENT_OPS } from './deployment-store-postgres-ops.js';
import type { DeploymentEvent, DeploymentRecord, DeploymentStore, ReplicaServing, ReplicaStatus } from './deployment-store.js';

type Ops = typeof DEPLOYMENT_OPS;
type Args<K extends keyof Ops> = Ops[K] extends (c: never, ...args: infer A) => unknown ? A : never;
type Result<K extends keyof Ops> = Awaited<ReturnType<Ops[K]>>;

/**
 * The gateway's deployment state in PostgreSQL, shared by every gateway replica (tables
 * `deployment`, `deployment_event`, `deployment_replica`; they may live in the registry's database).
 *
 * Synchronous like the SQLite store, through the same worker-thread bridge as PostgresRegistry: each
 * method is one bridged call, and `save` is one transaction (the model's rows replaced and the event
 * appended under the model's advisory lock).
 *
 * How replicas follow each other: a replica polls `revision()` (the newest event id, one indexed
 * query) every RETRAIN_DEPLOYMENT_POLL_MS (1 s) and reloads only when it moved (Deployments.sync).
 * A poll rather than LISTEN/NOTIFY: a notification sent while a replica's connection is down is lost,
 * so NOTIFY needs the poll as a fallback anyway; a poll works through connection loss, failover and
 * transaction-pooling proxies (PgBouncer drops LISTEN), needs no second connection per replica, and
 * its bound (one interval) is far below the rollout's minutes-long steps. Each replica then records
 * what it serves (`reportServing`, also its heartbeat), and `replicas(model)` tells the control plane
 * which live replicas do not serve the current deployment yet.
 */
export class PostgresDeploymentStore implements DeploymentStore {
  readonly shared = true;
  readonly pollMs: number;
  readonly artifactsDir: string;
  private readonly bridge: PostgresBridge;

  constructor(options: { url: string; dataDir: string; pollMs?: number }) {
    this.bridge = new PostgresBridge('deployment', options.url);
    this.pollMs = options.pollMs ?? 1_000;
    this.artifactsDir = path.join(options.dataDir, 'artifacts');
  }

  private call<K extends keyof Ops>(op: K, ...args: Args<K>): Result<K> {
    return this.bridge.call<Result<K>>(op, ...args);
  }

  loadAll(): Map<string, DeploymentRecord> {
    return new Map(this.call('loadAll'));
  }

  save(model: string, record: DeploymentRecord, action: string, detail: unknown): void {
    const at = record.updatedAt ?? new Date().toISOString();
    this.call('save', model, record, action, JSON.stringify(detail ?? null), at);
  }

  events(model: string, limit = 50): DeploymentEvent[] {
    return this.call('events', model, limit);
  }

  revision(): number {
    return this.call('revision');
  }

  reportServing(state: ReplicaServing): void {
    this.call('reportServing', state);
  }

  replicas(model: string, liveWithinMs = 30_000): ReplicaStatus[] {
    return this.call('replicas', model, liveWithinMs);
  }

  close(): void {
    this.bridge.close();
  }
}

/** The live replicas that do not serve the model's current deployment yet (empty: every replica has picked it up). */
export function laggingReplicas(store: DeploymentStore, model: string, liveWithinMs?: number): ReplicaStatus[] {
  return store.replicas(model, liveWithinMs).filter((r) => !r.current);
}

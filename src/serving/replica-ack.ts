import type { DeploymentStore } from './deployment-store.js';
import { laggingReplicas } from './deployment-store-postgres.js';

/** Whether every live gateway replica serves a model's current deployment, as a change's answer reports it. */
export interface ReplicaAcknowledgement {
  acknowledged: boolean;
  /** Replicas with a heartbeat within the liveness window. */
  live: number;
  /** The live replicas still serving an older deployment when the wait ended. */
  lagging: string[];
}

/**
 * After a change through one replica of a shared store: waits (bounded) until every live replica
 * reports serving the model's new deployment. A replica that died stops its heartbeat and leaves
 * the live set within the window, so a dead replica delays acknowledgement, it cannot block it for
 * ever; a live one that cannot load the change is named. Undefined for an unshared store (one gateway).
 */
export async function awaitReplicas(store: DeploymentStore, model: string, options: { timeoutMs?: number; everyMs?: number } = {}): Promise<ReplicaAcknowledgement | undefined> {
  if (!store.shared) return undefined;
  const timeoutMs = options.timeoutMs ?? Math.max(2_000, 4 * store.pollMs);
  const end = Date.now() + timeoutMs;
  for (;;) {
    const live = store.replicas(model);
    const lagging = live.filter((r) => !r.current).map((r) => r.replica);
    if (lagging.length === 0 || Date.now() >= end) return { acknowledged: lagging.length === 0, live: live.length, lagging };
    await new Promise((resolve) => setTimeout(resolve, options.everyMs ?? 100));
  }
}

export { laggingReplicas };

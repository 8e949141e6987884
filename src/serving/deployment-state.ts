import type { LoadedModel } from '../backends/models/index.js';
import type { DeploymentRecord, RoleRecord } from './deployment-store.js';
import type { CoalescingScorer } from './scoring.js';

/**
 * What a gateway serves of one model, as loaded roles, and the pure functions between that and the
 * stored record (deployment-store.ts) or the admin view. Deployments (deployments.ts) owns the changes.
 */
export interface LoadedRole extends RoleRecord {
  model: LoadedModel;
  /** Scores through `model`, coalescing the requests of one event-loop turn. */
  scorer: CoalescingScorer;
  /** The version as a JSON string, spliced into responses. */
  versionJson: string;
}

export interface Deployment {
  champion?: LoadedRole;
  challenger?: LoadedRole & { weight: number; shadow: boolean };
  /** Kept as a record only; loaded again (with its pinned hash) when rolled back to. */
  previous?: RoleRecord;
  /** learning: online | hybrid: the champion's online copy, as the learner last pushed it. */
  online?: LoadedRole;
  /** What answers the champion's traffic when it is not the batch champion alone (learned-champion.ts). */
  learned?: LoadedRole;
  updatedAt?: string;
}

export function strip(r: RoleRecord): RoleRecord {
  return { version: r.version, artifactUri: r.artifactUri, sha256: r.sha256 };
}

export function record(d: Deployment): DeploymentRecord {
  return {
    champion: d.champion && strip(d.champion),
    challenger: d.challenger && { ...strip(d.challenger), weight: d.challenger.weight, shadow: d.challenger.shadow },
    previous: d.previous && strip(d.previous),
    online: d.online && strip(d.online),
    updatedAt: d.updatedAt,
  };
}

/** A stored record as `record()` writes it (for comparing a stored deployment with the live one). */
export function normal(r: DeploymentRecord): DeploymentRecord {
  return {
    champion: r.champion && strip(r.champion),
    challenger: r.challenger && { ...strip(r.challenger), weight: r.challenger.weight, shadow: r.challenger.shadow },
    previous: r.previous && strip(r.previous),
    online: r.online && strip(r.online),
    updatedAt: r.updatedAt,
  };
}

export function isServing(d: Deployment, m: LoadedModel): boolean {
  return d.champion?.model === m || d.challenger?.model === m || d.online?.model === m;
}

/** The deployment as GET .../deployment shows it. */
export function describeDeployment(model: string, d: Deployment | undefined, restoreErrors?: string[]) {
  const role = (r: LoadedRole) => ({ version: r.version, artifactUri: r.artifactUri, sha256: r.sha256, format: r.model.format });
  const challengerWeight = d?.challenger ? (d.challenger.shadow ? 0 : d.challenger.weight) : 0;
  return {
    model,
    champion: d?.champion ? { ...role(d.champion), weight: 100 - challengerWeight } : null,
    challenger: d?.challenger ? { ...role(d.challenger), weight: d.challenger.weight, shadow: d.challenger.shadow } : null,
    previous: d?.previous ?? null,
    online: d?.online ? { ...role(d.online), serving: d.learned !== undefined } : null,
    updatedAt: d?.updatedAt ?? null,
    ...(restoreErrors?.length ? { restoreErrors } : {}),
  };
}


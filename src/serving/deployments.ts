import { realpathSync } from 'node:fs';
import path from 'node:path';
import { artifactPath, loadModel, ModelLoadError, type LoadedModel } from '../backends/models/index.js';
import type { ModelSpec } from '../config/schema.js';
import type { Logger } from '../runtime/logger.js';
import type { DeploymentRecord, DeploymentStore, RoleRecord } from './deployment-store.js';
import { conflict, HttpError } from './errors.js';
import { CoalescingScorer } from './scoring.js';

/**
 * The live deployment of every model: loaded artifacts by role and the challenger's weight.
 *
 * Copy-on-write: a change builds a new `Deployment` and swaps it in with one assignment, so a
 * request holds one consistent snapshot. Changes to one model are serialised. A new artifact is
 * loaded (and validated against the spec and the expected hash) before anything changes, so an
 * artifact that fails to load is refused with 422 and the running deployment keeps serving.
 * Replaced artifacts are closed after a grace period, once requests that hold them are done.
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
  updatedAt?: string;
}

export interface ArtifactRef {
  version: string;
  artifactUri: string;
  /** Expected sha256 of the artifact (e.g. the registry's content hash). */
  sha256?: string;
}

const RETIRE_GRACE_MS = 10_000;

export class Deployments {
  private readonly live = new Map<string, Deployment>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly retiring = new Set<LoadedModel>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Roles that failed to load at start, by model (shown by /readyz and GET deployment). */
  readonly restoreErrors = new Map<string, string[]>();

  /**
   * Where artifacts may be loaded from: `<data dir>/artifacts` (where trainers and `retrain models
   * register` put them) and any folders in RETRAIN_ARTIFACT_ROOTS (path-list separated). An admin
   * call naming a file elsewhere is refused before the file is touched, so the control plane
   * cannot be used to probe the disk.
   */
  private readonly artifactRoots: string[];

  constructor(
    private readonly specs: Map<string, ModelSpec>,
    private readonly store: DeploymentStore,
    private readonly log: Logger,
    artifactRoots?: string[],
  ) {
    const extra = (process.env.RETRAIN_ARTIFACT_ROOTS ?? '').split(path.delimiter).filter(Boolean);
    this.artifactRoots = (artifactRoots ?? [path.join(path.dirname(store.file), 'artifacts'), ...extra]).map((r) => path.resolve(r));
  }

  get(model: string): Deployment | undefined {
    return this.live.get(model);
  }

  /** Loads what serving.db says; a role whose artifact no longer loads is left out and reported. */
  async restore(): Promise<void> {
    for (const [model, rec] of this.store.loadAll()) {
      const spec = this.specs.get(model);
      if (!spec) {
        this.log.warn({ model }, 'serving.db has a deployment for a model not in the config; ignored');
        continue;
      }
      const dep: Deployment = { previous: rec.previous, updatedAt: rec.updatedAt };
      const errors: string[] = [];
      for (const role of ['champion', 'challenger'] as const) {
        const r = rec[role];
        if (!r) continue;
        try {
          const loaded = await this.load(spec, r);
          if (role === 'champion') dep.champion = loaded;
          else dep.challenger = { ...loaded, weight: rec.challenger!.weight, shadow: rec.challenger!.shadow };
        } catch (err) {
          errors.push(`${role} v${r.version}: ${(err as Error).message}`);
        }
      }
      if (errors.length) {
        this.restoreErrors.set(model, errors);
        this.log.error({ model, errors }, 'could not restore part of the deployment');
      }
      this.live.set(model, dep);
      this.log.info({ model, champion: dep.champion?.version, challenger: dep.challenger?.version, weight: dep.challenger?.weight }, 'deployment restored');
    }
  }

  setChampion(model: string, ref: ArtifactRef): Promise<Deployment> {
    return this.change(model, 'set_champion', ref, async (cur, spec) => {
      const champion = await this.load(spec, ref);
      const previous = cur.champion && cur.champion.version !== ref.version ? strip(cur.champion) : cur.previous;
      // The challenger becoming champion this way leaves no challenger of the same version behind.
      const challenger = cur.challenger?.version === ref.version ? undefined : cur.challenger;
      return { next: { ...cur, champion, previous, challenger }, retire: [cur.champion?.model, challenger ? undefined : cur.challenger?.model] };
    });
  }

  setChallenger(model: string, ref: ArtifactRef & { weight: number; shadow: boolean }): Promise<Deployment> {
    return this.change(model, 'set_challenger', ref, async (cur, spec) => {
      if (!cur.champion) throw conflict(`${model} has no champion; PUT /v1/admin/models/${model}/champion first`);
      // A challenger that is the champion would make `previous` the champion itself after a promote.
      if (cur.champion.version === ref.version) throw conflict(`${model}: v${ref.version} is already the champion; a challenger must be another version`);
      const loaded = await this.load(spec, ref);
      return { next: { ...cur, challenger: { ...loaded, weight: ref.weight, shadow: ref.shadow } }, retire: [cur.challenger?.model] };
    });
  }

  setTraffic(model: string, weight: number): Promise<Deployment> {
    return this.change(model, 'set_traffic', { weight }, async (cur) => {
      if (!cur.challenger) {
        if (weight === 0) return { next: cur, retire: [], unchanged: true };
        throw conflict(`${model} has no challenger to send ${weight}% of traffic to; PUT .../challenger first`);
      }
      return { next: { ...cur, challenger: { ...cur.challenger, weight } }, retire: [] };
    });
  }

  /**
   * `version`, when given, must be the challenger's; if it is already the champion and no
   * challenger is left, the call is a no-op success, so a retried promote (an activity whose
   * reply was lost) does not fail.
   */
  promote(model: string, version?: string): Promise<Deployment> {
    return this.change(model, 'promote', { version }, async (cur) => {
      if (!cur.challenger) {
        if (version !== undefined && cur.champion?.version === version) return { next: cur, retire: [], unchanged: true };
        throw conflict(`${model} has no challenger to promote`);
      }
      if (version !== undefined && cur.challenger.version !== version) {
        throw conflict(`${model}: the challenger is v${cur.challenger.version}, not v${version}`);
      }
      const { weight: _w, shadow: _s, ...champion } = cur.challenger;
      const previous = cur.champion && cur.champion.version !== champion.version ? strip(cur.champion) : cur.previous;
      return { next: { champion, previous }, retire: [cur.champion?.model] };
    });
  }

  rollback(model: string, to?: 'previous'): Promise<Deployment> {
    return this.change(model, to === 'previous' ? 'rollback_to_previous' : 'rollback', { to }, async (cur, spec) => {
      if (to !== 'previous') {
        // Already champion-only: the state asked for holds, so a retried rollback succeeds.
        if (!cur.challenger) return { next: cur, retire: [], unchanged: true };
        return { next: { ...cur, challenger: undefined }, retire: [cur.challenger.model] };
      }
      if (!cur.previous) throw conflict(`${model} has no previous champion to roll back to`);
      const champion = await this.load(spec, cur.previous);
      return {
        next: { champion, previous: cur.champion ? strip(cur.champion) : undefined },
        retire: [cur.champion?.model, cur.challenger?.model],
      };
    });
  }

  private async change(
    model: string,
    action: string,
    detail: unknown,
    apply: (cur: Deployment, spec: ModelSpec) => Promise<{ next: Deployment; retire: Array<LoadedModel | undefined>; unchanged?: boolean }>,
  ): Promise<Deployment> {
    const spec = this.specs.get(model);
    if (!spec) throw new HttpError(404, 'not_found', `unknown model "${model}" (served: ${[...this.specs.keys()].join(', ')})`);
    const prior = this.locks.get(model) ?? Promise.resolve();
    const run = prior.catch(() => undefined).then(async () => {
      const cur = this.live.get(model) ?? {};
      const { next, retire, unchanged } = await apply(cur, spec);
      if (unchanged) return cur;
      next.updatedAt = new Date().toISOString();
      this.store.save(model, record(next), action, detail); // persist first: a restart must not resurrect the old split
      this.live.set(model, next);
      this.restoreErrors.delete(model);
      for (const m of retire) if (m && !isServing(next, m)) this.retire(m);
      this.log.info({ model, action, detail, champion: next.champion?.version, challenger: next.challenger?.version, weight: next.challenger?.weight }, 'deployment changed');
      return next;
    });
    this.locks.set(model, run);
    return run;
  }

  /** Refuses an artifact outside the store: lexically first (no access to the outside file), then through symlinks. */
  private checkInStore(spec: ModelSpec, ref: ArtifactRef): void {
    let file: string;
    try {
      file = artifactPath(ref.artifactUri);
    } catch (err) {
      throw new HttpError(422, 'artifact_unsupported', `refused ${spec.name} v${ref.version}: ${(err as Error).message}`);
    }
    const inside = (p: string, roots: string[]) => roots.some((root) => p === root || p.startsWith(root + path.sep));
    const outside = () => new HttpError(422, 'artifact_outside_store', `refused ${spec.name} v${ref.version}: the artifact is not in the artifact store (${this.artifactRoots.join(', ')}; RETRAIN_ARTIFACT_ROOTS adds folders); the current deployment keeps serving`);
    if (!inside(file, this.artifactRoots)) throw outside();
    const real = (p: string) => {
      try {
        return realpathSync(p);
      } catch {
        return p; // missing: loading reports it, inside the store
      }
    };
    if (!inside(real(file), this.artifactRoots.map(real))) throw outside();
  }

  private async load(spec: ModelSpec, ref: ArtifactRef): Promise<LoadedRole> {
    this.checkInStore(spec, ref);
    try {
      const model = await loadModel(ref.artifactUri, { spec: { task: spec.task, features: spec.features }, sha256: ref.sha256 });
      const scorer = new CoalescingScorer(model);
      await warmUp(scorer, spec);
      return { version: ref.version, artifactUri: ref.artifactUri, sha256: model.sha256, model, scorer, versionJson: JSON.stringify(ref.version) };
    } catch (err) {
      const reason = err instanceof ModelLoadError ? err.code : 'load_failed';
      throw new HttpError(422, `artifact_${reason}`, `refused ${spec.name} v${ref.version}: ${(err as Error).message}; the current deployment keeps serving`);
    }
  }

  private retire(model: LoadedModel): void {
    this.retiring.add(model);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.retiring.delete(model);
      model.close().catch((err) => this.log.warn({ err }, 'closing a retired model failed'));
    }, RETIRE_GRACE_MS).unref();
    this.timers.add(timer);
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    const models = new Set<LoadedModel>(this.retiring);
    for (const d of this.live.values()) {
      if (d.champion) models.add(d.champion.model);
      if (d.challenger) models.add(d.challenger.model);
    }
    await Promise.all([...models].map((m) => m.close().catch(() => undefined)));
  }
}

function strip(r: RoleRecord): RoleRecord {
  return { version: r.version, artifactUri: r.artifactUri, sha256: r.sha256 };
}

function record(d: Deployment): DeploymentRecord {
  return {
    champion: d.champion && strip(d.champion),
    challenger: d.challenger && { ...strip(d.challenger), weight: d.challenger.weight, shadow: d.challenger.shadow },
    previous: d.previous && strip(d.previous),
    updatedAt: d.updatedAt,
  };
}

function isServing(d: Deployment, m: LoadedModel): boolean {
  return d.champion?.model === m || d.challenger?.model === m;
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
    updatedAt: d?.updatedAt ?? null,
    ...(restoreErrors?.length ? { restoreErrors } : {}),
  };
}

/**
 * Scores a few rows of missing values before a version takes traffic, so its first callers do not
 * pay for cold code paths: those answers would otherwise sit in the canary's p99 of a new
 * challenger and nowhere in its champion's. Only a warm-up: a model that cannot score such rows
 * still loads (real requests decide, and count its errors).
 */
async function warmUp(scorer: CoalescingScorer, spec: ModelSpec): Promise<void> {
  const row = Object.fromEntries(spec.features.map((f) => [f.name, null]));
  for (let i = 0; i < 20; i++) {
    if (!(await scorer.score(Array.from({ length: 8 }, () => row)).then(() => true, () => false))) return;
  }
}

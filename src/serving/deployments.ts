import { randomUUID } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { artifactCacheDir, ArtifactStoreError, isS3Uri, openArtifactStore, type ArtifactStore } from '../backends/artifacts/index.js';
import { artifactPath, loadModel, ModelLoadError, type LoadedModel } from '../backends/models/index.js';
import type { ModelSpec } from '../config/schema.js';
import { runtimeSettings } from '../config/settings.js';
import type { Logger } from '../runtime/logger.js';
import type { DeploymentRecord, DeploymentStore, RoleRecord } from './deployment-store.js';
import { conflict, HttpError } from './errors.js';
import { onlineBase } from '../learning/online-version.js';
import { learnedChampion } from './learned-champion.js';
import { isServing, normal, record, strip, type Deployment, type LoadedRole } from './deployment-state.js';
import { CoalescingScorer } from './scoring.js';

export type { Deployment, LoadedRole } from './deployment-state.js';

export interface ArtifactRef {
  version: string;
  artifactUri: string;
  /** Expected sha256 of the artifact (e.g. the registry's content hash). */
  sha256?: string;
}

const RETIRE_GRACE_MS = 10_000;

/**
 * The live deployment of every model: loaded artifacts by role and the challenger's weight.
 *
 * Copy-on-write: a change builds a new `Deployment` and swaps it in with one assignment, so a
 * request holds one consistent snapshot. Changes to one model are serialised. A new artifact is
 * loaded (and validated against the spec and the expected hash) before anything changes, so an
 * artifact that fails to load is refused with 422 and the running deployment keeps serving.
 * Replaced artifacts are closed after a grace period, once requests that hold them are done.
 */
export class Deployments {
  private readonly live = new Map<string, Deployment>();
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly retiring = new Set<LoadedModel>();
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Roles that failed to load at start, by model (shown by /readyz and GET deployment). */
  readonly restoreErrors = new Map<string, string[]>();
  /** This process among the gateway replicas sharing a store (reported with what it serves). */
  readonly replicaId = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  /** The store revision the live deployments reflect (-1: not read yet). */
  private revision = -1;
  private poller: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private lastReport = 0;

  /**
   * Where artifacts may be loaded from: `<data dir>/artifacts` (where trainers and `retrain models
   * register` put them) and any folders in RETRAIN_ARTIFACT_ROOTS (path-list separated). An admin
   * call naming a file elsewhere is refused before the file is touched, so the control plane
   * cannot be used to probe the disk.
   */
  private readonly artifactRoots: string[];
  /**
   * The object store (RETRAIN_ARTIFACT_STORE): an s3:// artifact is served only from its bucket
   * and prefix, through the local cache under the artifacts folder.
   */
  private readonly objectStore: ArtifactStore;
  private readonly cacheDir: string;

  constructor(
    private readonly specs: Map<string, ModelSpec>,
    private readonly store: DeploymentStore,
    private readonly log: Logger,
    artifactRoots?: string[],
  ) {
    const extra = (process.env.RETRAIN_ARTIFACT_ROOTS ?? '').split(path.delimiter).filter(Boolean);
    this.artifactRoots = (artifactRoots ?? [store.artifactsDir, ...extra]).map((r) => path.resolve(r));
    this.objectStore = openArtifactStore({ dataDir: path.dirname(store.artifactsDir), artifactStore: runtimeSettings().artifactStore });
    this.cacheDir = artifactCacheDir(store.artifactsDir);
  }

  get(model: string): Deployment | undefined {
    return this.live.get(model);
  }

  /** Loads what serving.db says; a role whose artifact no longer loads is left out and reported. */
  async restore(): Promise<void> {
    this.revision = this.store.revision(); // read first: a change saved meanwhile shows as a newer revision
    for (const [model, rec] of this.store.loadAll()) {
      const spec = this.specs.get(model);
      if (!spec) {
        this.log.warn({ model }, 'serving.db has a deployment for a model not in the config; ignored');
        continue;
      }
      const dep: Deployment = { previous: rec.previous, updatedAt: rec.updatedAt };
      const errors: string[] = [];
      for (const role of ['champion', 'challenger', 'online'] as const) {
        const r = rec[role];
        if (!r) continue;
        try {
          const loaded = await this.load(spec, r);
          if (role === 'champion') dep.champion = loaded;
          else if (role === 'online') dep.online = loaded;
          else dep.challenger = { ...loaded, weight: rec.challenger!.weight, shadow: rec.challenger!.shadow };
        } catch (err) {
          errors.push(`${role} v${r.version}: ${(err as Error).message}`);
        }
      }
      dep.learned = learnedChampion(spec, dep.champion, dep.online);
      if (errors.length) {
        this.restoreErrors.set(model, errors);
        this.log.error({ model, errors }, 'could not restore part of the deployment');
      }
      this.live.set(model, dep);
      this.log.info({ model, champion: dep.champion?.version, challenger: dep.challenger?.version, weight: dep.challenger?.weight }, 'deployment restored');
    }
    if (this.store.shared && this.store.pollMs > 0 && !this.poller) {
      this.report(true);
      this.poller = setInterval(() => {
        this.polling ??= this.sync()
          .catch((err) => this.log.warn({ err }, 'could not read the shared deployment; serving what was loaded'))
          .finally(() => (this.polling = undefined));
      }, this.store.pollMs).unref();
    }
  }

  /**
   * Follows the other gateway replicas of a shared store: when the store's revision moved, loads
   * every model whose stored deployment differs from the live one (artifacts already loaded are
   * reused) and swaps it in, under the model's lock. A deployment that fails to load here is
   * reported (restoreErrors) and the replica keeps serving what it had, so `replicas()` shows it
   * as lagging. Then reports what this replica serves (its heartbeat).
   */
  async sync(): Promise<void> {
    const revision = this.store.revision();
    if (revision !== this.revision) {
      for (const [model, rec] of this.store.loadAll()) {
        if (this.specs.has(model)) await this.serial(model, () => this.adopt(model, rec));
      }
      this.revision = revision;
      this.report(true);
    } else this.report(false);
  }

  private async adopt(model: string, rec: DeploymentRecord): Promise<void> {
    const spec = this.specs.get(model)!;
    const cur = this.live.get(model) ?? {};
    if (JSON.stringify(record(cur)) === JSON.stringify(normal(rec))) return;
    const next: Deployment = { previous: rec.previous, updatedAt: rec.updatedAt };
    const reuse = (r: RoleRecord) => [cur.champion, cur.challenger, cur.online].find((l) => l && l.version === r.version && l.sha256 === r.sha256);
    try {
      if (rec.champion) next.champion = reuse(rec.champion) ?? (await this.load(spec, rec.champion));
      if (rec.challenger) {
        const loaded = reuse(rec.challenger) ?? (await this.load(spec, rec.challenger));
        next.challenger = { ...strip(loaded), model: loaded.model, scorer: loaded.scorer, versionJson: loaded.versionJson, weight: rec.challenger.weight, shadow: rec.challenger.shadow };
      }
      if (rec.online) next.online = reuse(rec.online) ?? (await this.load(spec, rec.online));
      next.learned = learnedChampion(spec, next.champion, next.online);
    } catch (err) {
      this.restoreErrors.set(model, [`following the shared deployment: ${(err as Error).message}`]);
      this.log.error({ model, err }, 'could not load the shared deployment; this replica keeps serving the one it had');
      return;
    }
    this.live.set(model, next);
    this.restoreErrors.delete(model);
    for (const m of [cur.champion?.model, cur.challenger?.model, cur.online?.model]) if (m && !isServing(next, m)) this.retire(m);
    this.log.info({ model, champion: next.champion?.version, challenger: next.challenger?.version, weight: next.challenger?.weight, online: next.online?.version }, 'deployment changed by another replica');
  }

  /** Reports what this replica serves: at once after a change, else every few seconds as a heartbeat. */
  private report(changed: boolean): void {
    if (!this.store.shared || (!changed && Date.now() - this.lastReport < 5_000)) return;
    this.lastReport = Date.now();
    const models = [...this.specs.keys()].map((model) => {
      const d = this.live.get(model);
      return { model, champion: d?.champion?.version ?? null, challenger: d?.challenger?.version ?? null, weight: d?.challenger && !d.challenger.shadow ? d.challenger.weight : 0, updatedAt: d?.updatedAt ?? null };
    });
    this.store.reportServing({ replica: this.replicaId, revision: this.revision, models });
  }

  setChampion(model: string, ref: ArtifactRef): Promise<Deployment> {
    return this.change(model, 'set_champion', ref, async (cur, spec) => {
      const champion = await this.load(spec, ref);
      const previous = cur.champion && cur.champion.version !== ref.version ? strip(cur.champion) : cur.previous;
      // The challenger becoming champion this way leaves no challenger of the same version behind.
      const challenger = cur.challenger?.version === ref.version ? undefined : cur.challenger;
      // An online copy grew from the champion it names: a new champion starts without one.
      const online = cur.online && onlineBase(cur.online.version) === ref.version ? cur.online : undefined;
      return { next: { ...cur, champion, previous, challenger, online }, retire: [cur.champion?.model, challenger ? undefined : cur.challenger?.model, online ? undefined : cur.online?.model] };
    });
  }

  /**
   * The learner's newest online copy of the champion (learning: online | hybrid). Refused with 409
   * when it grew from another version than the champion (the learner restarts from the new one);
   * the same version and hash again is a no-op success, so a retried push changes nothing.
   */
  setOnline(model: string, ref: ArtifactRef): Promise<Deployment> {
    return this.change(model, 'set_online', ref, async (cur, spec) => {
      const base = onlineBase(ref.version);
      if (base === undefined) throw new HttpError(400, 'invalid_request', `online: expected a version "<champion>+online.<updates>", got "${ref.version}"`);
      if (!cur.champion || cur.champion.version !== base) {
        throw conflict(`${model}: the online copy grew from v${base}, but the champion is ${cur.champion ? `v${cur.champion.version}` : 'not deployed'}; restart the learner from the champion`);
      }
      if (cur.online && cur.online.version === ref.version && (!ref.sha256 || ref.sha256 === cur.online.sha256)) return { next: cur, retire: [], unchanged: true };
      const online = await this.load(spec, ref);
      return { next: { ...cur, online }, retire: [cur.online?.model] };
    });
  }

  /** Back to the batch champion alone (a frozen learner's reset, or learning turned off). */
  clearOnline(model: string): Promise<Deployment> {
    return this.change(model, 'clear_online', {}, async (cur) => {
      if (!cur.online) return { next: cur, retire: [], unchanged: true };
      return { next: { ...cur, online: undefined }, retire: [cur.online.model] };
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
      return { next: { champion, previous }, retire: [cur.champion?.model, cur.online?.model] };
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
        retire: [cur.champion?.model, cur.challenger?.model, cur.online?.model],
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
    return this.serial(model, async () => {
      // A shared store: start from what the other replicas last saved, not from this replica's copy.
      if (this.store.shared) {
        const stored = this.store.loadAll().get(model);
        if (stored) await this.adopt(model, stored);
      }
      const cur = this.live.get(model) ?? {};
      const { next, retire, unchanged } = await apply(cur, spec);
      if (unchanged) return cur;
      next.learned = learnedChampion(spec, next.champion, next.online);
      next.updatedAt = new Date().toISOString();
      this.store.save(model, record(next), action, detail); // persist first: a restart must not resurrect the old split
      this.live.set(model, next);
      this.restoreErrors.delete(model);
      for (const m of retire) if (m && !isServing(next, m)) this.retire(m);
      this.log.info({ model, action, detail, champion: next.champion?.version, challenger: next.challenger?.version, weight: next.challenger?.weight }, 'deployment changed');
      this.report(true);
      return next;
    });
  }

  /** Runs `work` after every earlier change of the model (changes to one model are serialised). */
  private serial<T>(model: string, work: () => Promise<T>): Promise<T> {
    const prior = this.locks.get(model) ?? Promise.resolve();
    const run = prior.catch(() => undefined).then(work);
    this.locks.set(model, run);
    return run;
  }

  /** Refuses an artifact outside the store: lexically first (no access to the outside file), then through symlinks. */
  private checkInStore(spec: ModelSpec, ref: ArtifactRef): void {
    if (isS3Uri(ref.artifactUri)) {
      const setting = this.objectStore.setting;
      if (setting.kind === 's3' && this.objectStore.owns(ref.artifactUri)) return;
      const where = setting.kind === 's3' ? `s3://${setting.bucket}/${setting.prefix}` : 'none: RETRAIN_ARTIFACT_STORE is not set';
      throw new HttpError(422, 'artifact_outside_store', `refused ${spec.name} v${ref.version}: ${ref.artifactUri} is not in the artifact store (${where}); the current deployment keeps serving`);
    }
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
      const model = await loadModel(ref.artifactUri, { spec: { task: spec.task, features: spec.features, classes: spec.classes }, sha256: ref.sha256, cacheDir: this.cacheDir });
      const scorer = new CoalescingScorer(model);
      await warmUp(scorer, spec);
      return { version: ref.version, artifactUri: ref.artifactUri, sha256: model.sha256, model, scorer, versionJson: JSON.stringify(ref.version) };
    } catch (err) {
      // The object store unreachable is not the artifact's fault: 503, which a caller retries.
      if (err instanceof ArtifactStoreError) throw new HttpError(503, 'artifact_store_unavailable', `could not load ${spec.name} v${ref.version}: ${err.message}; the current deployment keeps serving`);
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
    if (this.poller) clearInterval(this.poller);
    this.poller = undefined;
    await this.polling;
    for (const t of this.timers) clearTimeout(t);
    const models = new Set<LoadedModel>(this.retiring);
    for (const d of this.live.values()) {
      if (d.champion) models.add(d.champion.model);
      if (d.challenger) models.add(d.challenger.model);
      if (d.online) models.add(d.online.model);
    }
    await Promise.all([...models].map((m) => m.close().catch(() => undefined)));
  }
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

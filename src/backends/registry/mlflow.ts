import path from 'node:path';
import { isS3Uri, localArtifact } from '../artifacts/index.js';
import { artifactPath, artifactUri, type LoadModelOptions } from '../models/load.js';
import type { LoadedModel, ModelFormat } from '../models/scorer.js';
import { hashNewArtifact, loadRegisteredVersion, verifyRegisteredArtifact } from './artifacts.js';
import { MlflowBridge } from './mlflow-bridge.js';
import { TAG, type VersionRecord } from './mlflow-ops.js';
import {
  ALIASES, type AliasName, type FeatureRecurrence, type LedgerEntry, type ModelSummary, type ModelVersion, type MoveContext, type RegisterVersionInput,
  type Registry, RegistryError, type SpendInput, type Violation, type ViolationInput, type ViolationQuery, type VersionRef,
} from './types.js';
import { checkMetrics, checkRegistration, requireText } from './validate.js';

/** The product's own store under MlflowRegistry: SqliteRegistry or PostgresRegistry (both keep mirror rows). */
export interface InnerRegistry extends Registry {
  mirrorVersion(v: ModelVersion): void;
  readonly schemaVersion: number;
}

export interface MlflowRegistryOptions {
  /** The MLflow tracking server (RETRAIN_MLFLOW_TRACKING_URI), http(s). */
  trackingUri: string;
  /** The product's store: the ledger, alias rows, spend, idempotency keys, monitor state, violations. */
  inner: InnerRegistry;
  /** Local copies of artifacts that only MLflow holds (default `<dataDir>/artifacts/.mlflow-cache`). */
  cacheDir: string;
  /** Registered-model names in MLflow are `<prefix><model>` (RETRAIN_MLFLOW_MODEL_PREFIX, default none). */
  modelPrefix?: string;
  now?: () => Date;
}

/**
 * The model registry on MLflow's Model Registry, for teams that already run one.
 *
 * Where things live:
 * - versions in MLflow: a registered model per product model (`<prefix><model>`), a model version
 *   per product version with its artifact and lineage/metrics as `retrain.*` tags (mlflow-ops.ts).
 *   MLflow assigns the number; the product's version number is MLflow's.
 * - champion / challenger / previous as MLflow registered-model aliases.
 * - the ledger, spend, idempotency keys of moves, config revisions, monitor state and violations in
 *   the product's own store (`inner`, SQLite or PostgreSQL): MLflow has no append-only ledger and
 *   no transactions. The inner store also keeps a mirror row per version that took an alias (its
 *   tables make every alias row name a version and a ledger entry), and its alias rows.
 *
 * Consistency of alias moves (MLflow has no transactions, so a move cannot commit in both places at
 * once): the inner store is the record. A move commits there first, ledger entry and alias rows in
 * one transaction, exactly as in SqliteRegistry/PostgresRegistry (same guards, same idempotency
 * keys); then MLflow's three aliases are made equal to the inner store's (`syncAliases`: read
 * MLflow, set or delete only what differs). So:
 * - a crash or an MLflow error after the commit leaves MLflow behind, never ahead: the move fails,
 *   the activity retries with the same idempotency key, the inner store answers with the first
 *   ledger entry (nothing written twice), and the sync runs again and converges;
 * - every move syncs all three aliases to the inner store's current state, so any earlier lag (a
 *   move without a key that died after its commit) is repaired by the next move of the model;
 * - an alias moved by hand in MLflow's UI is not a product move (no ledger entry): the next move of
 *   the model puts the product's aliases back. `aliases()` reads the inner store.
 */
export class MlflowRegistry implements Registry {
  readonly trackingUri: string;
  readonly modelPrefix: string;
  private readonly bridge: MlflowBridge;
  private readonly inner: InnerRegistry;
  private readonly cacheDir: string;
  private readonly now: () => Date;

  constructor(options: MlflowRegistryOptions) {
    this.trackingUri = options.trackingUri;
    this.modelPrefix = options.modelPrefix ?? '';
    this.inner = options.inner;
    this.cacheDir = path.resolve(options.cacheDir);
    this.now = options.now ?? (() => new Date());
    this.bridge = new MlflowBridge(options.trackingUri, this.cacheDir);
  }

  get schemaVersion(): number {
    return this.inner.schemaVersion;
  }

  /** The registered model's name in MLflow. */
  mlflowName(model: string): string {
    return `${this.modelPrefix}${model}`;
  }

  async registerVersion(input: RegisterVersionInput): Promise<ModelVersion> {
    requireText(input.model, 'model');
    requireText(input.trainer, 'trainer');
    checkMetrics(input.metrics, 'metrics');
    const { costUsd, createdAt } = checkRegistration(input, this.now());
    // A retried registration finds the version its first attempt created by the key's tag (MLflow
    // creates a version with all its tags in one call, so a version found is complete). Two attempts
    // running at the same moment could both create one (MLflow has no unique tags); activity
    // retries are sequential, so this only matters for a person running one command twice at once.
    const replay = input.idempotencyKey ? this.versionByKey(input.idempotencyKey, input.model) : undefined;
    if (replay) return replay;

    const { contentHash, ...artifact } = await hashNewArtifact(input);
    const uri = artifactUri(artifact.path);
    const file = isS3Uri(uri) ? await localArtifact(uri, { sha256: contentHash }) : artifactPath(uri);
    const tags: Record<string, string> = {
      [TAG.contentHash]: contentHash,
      [TAG.format]: artifact.format,
      [TAG.artifactUri]: uri,
      [TAG.metrics]: JSON.stringify(input.metrics),
      [TAG.trainer]: input.trainer,
      [TAG.params]: JSON.stringify(input.params ?? {}),
      [TAG.costUsd]: String(costUsd),
      [TAG.createdAt]: createdAt.toISOString(),
      ...(input.datasetId ? { [TAG.datasetId]: input.datasetId } : {}),
      ...(input.workflowId ? { [TAG.workflowId]: input.workflowId } : {}),
      ...(input.runId ? { [TAG.runId]: input.runId } : {}),
      ...(input.idempotencyKey ? { [TAG.idempotencyKey]: input.idempotencyKey } : {}),
    };
    const profile = input.referenceProfile === undefined ? null : JSON.stringify(input.referenceProfile);
    const created = this.bridge.call('createVersion', { name: this.mlflowName(input.model), file, format: artifact.format, contentHash, profile, tags });
    return this.toVersion(input.model, created, this.aliasesByVersion(input.model));
  }

  getVersion(model: string, version: number): ModelVersion {
    if (!Number.isInteger(version) || version < 1) throw new RegistryError('invalid_input', `expected a version number ≥ 1, got ${version}`);
    let record: VersionRecord;
    try {
      record = this.bridge.call('describeVersion', this.mlflowName(model), version);
    } catch (err) {
      // MLflow knows the registered model's name; the refusal names the product's model (and MLflow's name).
      const where = this.modelPrefix ? ` (registered model "${this.mlflowName(model)}")` : '';
      if (err instanceof RegistryError && err.code === 'unknown_model') throw new RegistryError('unknown_model', `unknown model "${model}" (no registered versions in MLflow${where})`);
      if (err instanceof RegistryError && err.code === 'unknown_version') throw new RegistryError('unknown_version', `model "${model}" has no version ${version} in MLflow${where}`);
      throw err;
    }
    return this.toVersion(model, record, this.aliasesByVersion(model));
  }

  resolve(model: string, ref: AliasName | number | string): ModelVersion | undefined {
    if (typeof ref === 'number' || /^\d+$/.test(ref)) return this.getVersion(model, Number(ref));
    if (!(ALIASES as readonly string[]).includes(ref)) throw new RegistryError('invalid_input', `expected a version number or one of ${ALIASES.join(', ')}, got "${ref}"`);
    const version = this.inner.aliases(model)[ref as AliasName];
    return version === null ? undefined : this.getVersion(model, version);
  }

  listVersions(model: string): ModelVersion[] {
    const aliases = this.aliasesByVersion(model);
    return this.bridge.call('listVersions', this.mlflowName(model)).map((r) => this.toVersion(model, r, aliases));
  }

  listModels(): ModelSummary[] {
    return this.bridge.call('listModels', this.modelPrefix).map(({ name, versionCount, latestVersion }) => {
      const model = name.slice(this.modelPrefix.length);
      const [last] = this.inner.ledger({ model, limit: 1, newest: true });
      return { model, versionCount, latestVersion, ...this.inner.aliases(model), lastChangeAt: last?.at ?? null };
    });
  }

  aliases(model: string): Record<AliasName, number | null> {
    return this.inner.aliases(model);
  }

  /** What MLflow's own API says the registered model's aliases are (for checks and tests). */
  mlflowAliases(model: string): Record<string, number> {
    return this.bridge.call('mlflowAliases', this.mlflowName(model));
  }

  async verifyArtifact(model: string, version: number): Promise<string> {
    return verifyRegisteredArtifact(this.withLocalArtifact(this.getVersion(model, version)));
  }

  async loadVersion(model: string, ref: AliasName | number, options: { spec?: LoadModelOptions['spec'] } = {}): Promise<LoadedModel> {
    const v = this.resolve(model, ref);
    if (!v) throw new RegistryError('invalid_move', `model "${model}" has no ${ref}`);
    return loadRegisteredVersion(this.withLocalArtifact(v), options);
  }

  promote(model: string, version: VersionRef, ctx: MoveContext): LedgerEntry {
    return this.move(model, version, () => this.inner.promote(model, version, ctx));
  }

  rollback(model: string, ctx: MoveContext): LedgerEntry {
    return this.move(model, null, () => this.inner.rollback(model, ctx));
  }

  registerChallenger(model: string, version: VersionRef, ctx: MoveContext): LedgerEntry {
    return this.move(model, version, () => this.inner.registerChallenger(model, version, ctx));
  }

  clearChallenger(model: string, ctx: MoveContext): LedgerEntry {
    return this.move(model, null, () => this.inner.clearChallenger(model, ctx));
  }

  ledger(query?: { model?: string; limit?: number; afterId?: number; newest?: boolean }): LedgerEntry[] {
    return this.inner.ledger(query);
  }

  recordSpend(model: string, costUsd: number, input: SpendInput): { recorded: boolean; id: number } {
    return this.inner.recordSpend(model, costUsd, input);
  }

  monthlySpend(model: string | undefined, month: string | Date): number {
    return this.inner.monthlySpend(model, month);
  }

  rememberConfigRevision(model: string, revision: string, spec: unknown): void {
    this.inner.rememberConfigRevision(model, revision, spec);
  }

  configRevision(model: string, revision: string): unknown {
    return this.inner.configRevision(model, revision);
  }

  monitorState(model: string, name: string): unknown {
    return this.inner.monitorState(model, name);
  }

  saveMonitorState(model: string, name: string, state: unknown): void {
    this.inner.saveMonitorState(model, name, state);
  }

  recordViolations(model: string, checkedAt: Date | string, violations: ViolationInput[]): { recorded: number } {
    return this.inner.recordViolations(model, checkedAt, violations);
  }

  settleViolations(model: string, checkedAt: Date | string, decision: 'retrain_started' | 'held', reason: string): { settled: number } {
    return this.inner.settleViolations(model, checkedAt, decision, reason);
  }

  violations(query: ViolationQuery): Violation[] {
    return this.inner.violations(query);
  }

  violationRecurrence(query: ViolationQuery & { since: Date }): FeatureRecurrence[] {
    return this.inner.violationRecurrence(query);
  }

  close(): void {
    this.bridge.close();
    this.inner.close();
  }

  /**
   * One alias move (see the class comment): the version it names must exist in MLflow and is
   * mirrored into the inner store; the inner store commits the ledger entry and its alias rows (or
   * replays the entry of an idempotency key already used); then MLflow's aliases converge to them.
   */
  private move(model: string, ref: VersionRef | null, commit: () => LedgerEntry): LedgerEntry {
    requireText(model, 'model');
    if (ref !== null) {
      const target = typeof ref === 'object' ? ref : { model, version: ref };
      if (target.model !== model) {
        throw new RegistryError('cross_model', `version ${target.version} belongs to model "${target.model}"; it cannot take an alias of model "${model}"`);
      }
      // A malformed number is the inner store's refusal, with its message.
      if (Number.isInteger(target.version) && target.version >= 1) this.inner.mirrorVersion(this.getVersion(model, target.version));
    } else if (this.inner.listVersions(model).length === 0) {
      // No version took an alias yet: mirror one MLflow holds, so the refusal is "no challenger"
      // / "no previous", not "unknown model" (an unknown model is still refused by the inner store).
      const [first] = this.listVersions(model);
      if (first) this.inner.mirrorVersion(first);
    }
    const entry = commit();
    this.bridge.call('syncAliases', this.mlflowName(model), this.inner.aliases(model));
    return entry;
  }

  private versionByKey(key: string, model: string): ModelVersion | undefined {
    const found = this.bridge.call('versionByKey', key);
    if (!found) return undefined;
    if (found.name !== this.mlflowName(model)) {
      throw new RegistryError('idempotency_conflict', `idempotency key "${key}" already registered a version of model "${found.name.slice(this.modelPrefix.length)}"`);
    }
    return this.toVersion(model, found, this.aliasesByVersion(model));
  }

  private aliasesByVersion(model: string): Map<number, AliasName[]> {
    const byVersion = new Map<number, AliasName[]>();
    for (const [alias, version] of Object.entries(this.inner.aliases(model)) as [AliasName, number | null][]) {
      if (version !== null) byVersion.set(version, [...(byVersion.get(version) ?? []), alias]);
    }
    return byVersion;
  }

  /**
   * A version MLflow holds the only copy of (registered outside the product) is served from the
   * local cache: fetched (checked against its pinned sha256) before it is verified or loaded.
   */
  private withLocalArtifact(v: ModelVersion): ModelVersion {
    if (v.artifactUri.startsWith(artifactUri(this.cacheDir))) this.bridge.call('fetchArtifact', this.mlflowName(v.model), v.version);
    return v;
  }

  private toVersion(model: string, r: VersionRecord, aliases: Map<number, AliasName[]>): ModelVersion {
    const t = r.tags;
    const json = <T>(key: string, fallback: T): T => (t[key] ? (JSON.parse(t[key]) as T) : fallback);
    return {
      model,
      version: r.version,
      artifactUri: t[TAG.artifactUri] ?? artifactUri(r.cachedArtifact as string),
      format: t[TAG.format] as ModelFormat,
      contentHash: t[TAG.contentHash],
      metrics: json(TAG.metrics, {}),
      datasetId: t[TAG.datasetId] ?? null,
      referenceProfile: r.referenceProfile ?? null,
      // A version made outside the product is "external", as one `retrain models register` records:
      // `deploy: { registered: auto }` deploys the newest such version by itself.
      trainer: t[TAG.trainer] ?? 'external',
      params: json(TAG.params, t[TAG.artifactUri] ? {} : { artifact: t[TAG.mlflowArtifact] }),
      costUsd: t[TAG.costUsd] ? Number(t[TAG.costUsd]) : 0,
      workflowId: t[TAG.workflowId] ?? null,
      runId: t[TAG.runId] ?? null,
      createdAt: t[TAG.createdAt] ?? new Date(r.creationTimestamp).toISOString(),
      aliases: aliases.get(r.version) ?? [],
    };
  }
}

import { PostgresBridge } from '../postgres/bridge.js';
import { hashNewArtifact, loadRegisteredVersion, verifyRegisteredArtifact } from './artifacts.js';
import { artifactUri, type LoadModelOptions } from '../models/load.js';
import type { LoadedModel } from '../models/scorer.js';
import type { REGISTRY_OPS, VersionInsert } from './postgres-ops.js';
import {
  ALIASES, type AliasName, type FeatureRecurrence, type LedgerAction, type LedgerEntry, type ModelSummary, type ModelVersion, type MoveContext,
  type RegisterVersionInput, type Registry, RegistryError, type SpendInput, type Violation, type ViolationInput, type ViolationQuery, type VersionRef,
} from './types.js';
import { checkMetrics, checkRegistration, checkViolation, isoTime, monthKey, requireText, violationParams } from './validate.js';

export interface PostgresRegistryOptions {
  /** postgres://user:password@host:port/database (RETRAIN_REGISTRY_URL). */
  url: string;
  /** Clock for created/at timestamps (tests pin it). */
  now?: () => Date;
}

type Ops = typeof REGISTRY_OPS;
type Args<K extends keyof Ops> = Ops[K] extends (c: never, ...args: infer A) => unknown ? A : never;
type Result<K extends keyof Ops> = Awaited<ReturnType<Ops[K]>>;

/**
 * The model registry on PostgreSQL, for workers, gateways and CLIs on several machines: the same
 * `Registry` as SqliteRegistry, with the same tables, guards (append-only ledger, aliases that move
 * only with a ledger entry of the same model) and answers, tested by the same suite.
 *
 * The `Registry` interface is synchronous (it was written for better-sqlite3 and has ~175 call
 * sites), so this class talks to the server through PostgresBridge: node-postgres runs in a worker
 * thread and the calling thread waits on a SharedArrayBuffer (synckit) until the call is done.
 * Every method is exactly ONE bridged call, and each one that must be atomic (an alias move with its
 * ledger entry, a registration under an idempotency key, spend once per key, a check's violations)
 * runs its whole transaction inside the worker: BEGIN, the model's advisory lock
 * (pg_advisory_xact_lock, so writers of one model queue as SQLite's IMMEDIATE transactions make
 * them), re-check of the idempotency key, writes, COMMIT. A transaction never spans two waits.
 *
 * The trade-off: each call blocks the calling thread for one round trip to the server, during
 * which that thread runs nothing else. Measured by bench/registry-bridge.ts on a loopback server (a
 * 2-core machine under load): `resolve(model, 'champion')` median 0.8–1.0 ms against 0.1 ms for
 * SQLite in process; the thread hop alone is about 0.1 ms, the rest is the server's query. Across a
 * network add the network's round trip. The registry is called a few times per activity, never per
 * prediction, so this costs far less than making ~175 call sites async; a hung server fails the call
 * after RETRAIN_POSTGRES_TIMEOUT_MS (60 s) instead of freezing the process.
 *
 * Artifacts stay where they are (`verifyArtifact` / `loadVersion` read local paths, as SqliteRegistry).
 */
export class PostgresRegistry implements Registry {
  readonly url: string;
  private readonly bridge: PostgresBridge;
  private readonly now: () => Date;

  constructor(options: PostgresRegistryOptions) {
    this.url = options.url;
    this.now = options.now ?? (() => new Date());
    this.bridge = new PostgresBridge('registry', options.url);
  }

  private call<K extends keyof Ops>(op: K, ...args: Args<K>): Result<K> {
    return this.bridge.call<Result<K>>(op, ...args);
  }

  get schemaVersion(): number {
    return this.call('schemaVersion');
  }

  async registerVersion(input: RegisterVersionInput): Promise<ModelVersion> {
    requireText(input.model, 'model');
    requireText(input.trainer, 'trainer');
    checkMetrics(input.metrics, 'metrics');
    const { costUsd, createdAt } = checkRegistration(input, this.now());
    const replay = input.idempotencyKey ? this.call('versionByKey', input.idempotencyKey, input.model) : undefined;
    if (replay) return replay;

    const { contentHash, ...artifact } = await hashNewArtifact(input);
    const row: VersionInsert = {
      model: input.model,
      artifactUri: artifactUri(artifact.path),
      format: artifact.format,
      contentHash,
      metrics: JSON.stringify(input.metrics),
      datasetId: input.datasetId ?? null,
      referenceProfile: input.referenceProfile === undefined ? null : JSON.stringify(input.referenceProfile),
      trainer: input.trainer,
      params: JSON.stringify(input.params ?? {}),
      costUsd,
      workflowId: input.workflowId ?? null,
      runId: input.runId ?? null,
      idempotencyKey: input.idempotencyKey ?? null,
      createdAt: createdAt.toISOString(),
    };
    return this.call('insertVersion', row);
  }

  /** A version whose number another registry assigned (MlflowRegistry), kept for the ledger and aliases to reference. Idempotent. */
  mirrorVersion(v: ModelVersion): void {
    this.call('mirrorVersion', {
      model: v.model, version: v.version, artifactUri: v.artifactUri, format: v.format, contentHash: v.contentHash, metrics: JSON.stringify(v.metrics),
      datasetId: v.datasetId, referenceProfile: null, trainer: v.trainer, params: JSON.stringify(v.params), costUsd: v.costUsd,
      workflowId: v.workflowId, runId: v.runId, idempotencyKey: null, createdAt: v.createdAt,
    });
  }

  getVersion(model: string, version: number): ModelVersion {
    return this.call('getVersion', model, version);
  }

  resolve(model: string, ref: AliasName | number | string): ModelVersion | undefined {
    if (typeof ref === 'number' || /^\d+$/.test(ref)) return this.getVersion(model, Number(ref));
    if (!(ALIASES as readonly string[]).includes(ref)) throw new RegistryError('invalid_input', `expected a version number or one of ${ALIASES.join(', ')}, got "${ref}"`);
    return this.call('resolveAlias', model, ref as AliasName);
  }

  listVersions(model: string): ModelVersion[] {
    return this.call('listVersions', model);
  }

  listModels(): ModelSummary[] {
    return this.call('listModels');
  }

  aliases(model: string): Record<AliasName, number | null> {
    return this.call('aliases', model);
  }

  async verifyArtifact(model: string, version: number): Promise<string> {
    return verifyRegisteredArtifact(this.getVersion(model, version));
  }

  /** Loads a version for scoring, refusing a missing or changed artifact. */
  async loadVersion(model: string, ref: AliasName | number, options: { spec?: LoadModelOptions['spec'] } = {}): Promise<LoadedModel> {
    const v = this.resolve(model, ref);
    if (!v) throw new RegistryError('invalid_move', `model "${model}" has no ${ref}`);
    return loadRegisteredVersion(v, options);
  }

  promote(model: string, version: VersionRef, ctx: MoveContext): LedgerEntry {
    return this.move(model, 'promote', version, ctx);
  }

  rollback(model: string, ctx: MoveContext): LedgerEntry {
    return this.move(model, 'rollback', null, ctx);
  }

  registerChallenger(model: string, version: VersionRef, ctx: MoveContext): LedgerEntry {
    return this.move(model, 'register_challenger', version, ctx);
  }

  clearChallenger(model: string, ctx: MoveContext): LedgerEntry {
    return this.move(model, 'clear_challenger', null, ctx);
  }

  ledger(query: { model?: string; limit?: number; afterId?: number; newest?: boolean } = {}): LedgerEntry[] {
    return this.call('ledger', query);
  }

  recordSpend(model: string, costUsd: number, input: SpendInput): { recorded: boolean; id: number } {
    requireText(model, 'model');
    requireText(input.idempotencyKey, 'idempotencyKey');
    if (!Number.isFinite(costUsd) || costUsd < 0) throw new RegistryError('invalid_input', `costUsd must be a non-negative number, got ${costUsd}`);
    const at = input.at ?? this.now();
    return this.call('recordSpend', {
      model, costUsd, month: monthKey(at), idempotencyKey: input.idempotencyKey, workflowId: input.workflowId ?? null, runId: input.runId ?? null, note: input.note ?? null, at: at.toISOString(),
    });
  }

  monthlySpend(model: string | undefined, month: string | Date): number {
    const key = typeof month === 'string' ? month : monthKey(month);
    if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(key)) throw new RegistryError('invalid_input', `expected a month as YYYY-MM, got "${key}"`);
    return this.call('monthlySpend', model ?? null, key);
  }

  rememberConfigRevision(model: string, revision: string, spec: unknown): void {
    requireText(model, 'model');
    requireText(revision, 'revision');
    this.call('rememberConfigRevision', model, revision, JSON.stringify(spec), this.now().toISOString());
  }

  configRevision(model: string, revision: string): unknown {
    const text = this.call('configRevision', model, revision);
    return text === undefined ? undefined : JSON.parse(text);
  }

  monitorState(model: string, name: string): unknown {
    const text = this.call('monitorState', model, name);
    return text === undefined ? undefined : JSON.parse(text);
  }

  saveMonitorState(model: string, name: string, state: unknown): void {
    requireText(model, 'model');
    requireText(name, 'name');
    this.call('saveMonitorState', model, name, JSON.stringify(state), this.now().toISOString());
  }

  recordViolations(model: string, checkedAt: Date | string, violations: ViolationInput[]): { recorded: number } {
    requireText(model, 'model');
    const at = isoTime(checkedAt, 'checkedAt');
    violations.forEach(checkViolation);
    return this.call('recordViolations', model, at, violations, this.now().toISOString());
  }

  settleViolations(model: string, checkedAt: Date | string, decision: 'retrain_started' | 'held', reason: string): { settled: number } {
    requireText(model, 'model');
    requireText(reason, 'reason');
    if (decision !== 'retrain_started' && decision !== 'held') throw new RegistryError('invalid_input', `a check's violations settle as retrain_started or held, got ${JSON.stringify(decision)}`);
    return this.call('settleViolations', model, isoTime(checkedAt, 'checkedAt'), decision, reason, this.now().toISOString());
  }

  violations(query: ViolationQuery): Violation[] {
    return this.call('violations', violationParams(query), query.limit ?? null);
  }

  violationRecurrence(query: ViolationQuery & { since: Date }): FeatureRecurrence[] {
    return this.call('violationRecurrence', violationParams(query));
  }

  close(): void {
    this.bridge.close();
  }

  private move(model: string, action: LedgerAction, ref: VersionRef | null, ctx: MoveContext): LedgerEntry {
    requireText(model, 'model');
    requireText(ctx.actor, 'actor');
    requireText(ctx.reason, 'reason');
    if (ctx.metricsBefore) checkMetrics(ctx.metricsBefore, 'metricsBefore');
    if (ctx.metricsAfter) checkMetrics(ctx.metricsAfter, 'metricsAfter');
    return this.call('move', model, action, ref, ctx, this.now().toISOString());
  }
}


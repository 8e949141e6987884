import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { runtimeSettings } from '../../config/settings.js';
import { artifactUri, type LoadModelOptions } from '../models/load.js';
import type { LoadedModel } from '../models/scorer.js';
import { hashNewArtifact, loadRegisteredVersion, verifyRegisteredArtifact } from './artifacts.js';
import { migrate } from './migrations.js';
import { checkMetrics, checkRegistration, checkViolation, isoTime, json, monthKey, requireText, VIOLATION_FILTER, violationParams } from './validate.js';
import { ledgerFromRow, type LedgerRow, versionFromRow, type VersionRow, violationFromRow, type ViolationRow } from './rows.js';
import {
  ALIASES, type AliasName, type LedgerAction, type LedgerEntry, type MetricValues, type ModelSummary, type ModelVersion, type MoveContext,
  type RegisterVersionInput, type Registry, RegistryError, type SpendInput, type VersionRef,
  type FeatureRecurrence, type Violation, type ViolationInput, type ViolationQuery, type ViolationStatistic,
} from './types.js';

export interface SqliteRegistryOptions {
  /** Database file; default `<dataDir>/registry.db`. */
  path?: string;
  /** Clock for created/at timestamps (tests pin it). */
  now?: () => Date;
}

type AliasState = Record<AliasName, number | null>;
interface MovePlan {
  from: number | null;
  to: number | null;
  changes: Partial<AliasState>;
  metricsBefore: MetricValues | null;
  metricsAfter: MetricValues | null;
}

/**
 * The model registry on SQLite (better-sqlite3, WAL). Writes are short IMMEDIATE transactions, so
 * several processes (worker, gateway, CLI) can share one file; every alias move and its ledger
 * entry commit together or not at all, and idempotency keys make activity retries harmless.
 */
export class SqliteRegistry implements Registry {
  readonly db: Database.Database;
  readonly path: string;
  private readonly now: () => Date;

  constructor(options: SqliteRegistryOptions = {}) {
    this.path = path.resolve(options.path ?? path.join(runtimeSettings().dataDir, 'registry.db'));
    this.now = options.now ?? (() => new Date());
    mkdirSync(path.dirname(this.path), { recursive: true });
    this.db = new Database(this.path);
    this.db.pragma('busy_timeout = 5000'); // first: the pragmas below may wait for another process
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    try {
      migrate(this.db, this.now);
    } catch (err) {
      this.db.close();
      throw err;
    }
  }

  get schemaVersion(): number {
    return (this.db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number }).v;
  }

  async registerVersion(input: RegisterVersionInput): Promise<ModelVersion> {
    requireText(input.model, 'model');
    requireText(input.trainer, 'trainer');
    checkMetrics(input.metrics, 'metrics');
    const { costUsd, createdAt } = checkRegistration(input, this.now());
    const replay = input.idempotencyKey ? this.versionByKey(input.idempotencyKey, input.model) : undefined;
    if (replay) return replay;

    const { contentHash, ...artifact } = await hashNewArtifact(input);

    return this.db.transaction(() => {
      // Re-checked inside the write lock: a concurrent retry may have registered it meanwhile.
      const raced = input.idempotencyKey ? this.versionByKey(input.idempotencyKey, input.model) : undefined;
      if (raced) return raced;
      const { next } = this.db.prepare('SELECT coalesce(max(version), 0) + 1 AS next FROM model_versions WHERE model = ?').get(input.model) as { next: number };
      this.db
        .prepare(
          `INSERT INTO model_versions (model, version, artifact_uri, format, content_hash, metrics, dataset_id, reference_profile, trainer, params,
             cost_usd, workflow_id, run_id, idempotency_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          input.model, next, artifactUri(artifact.path), artifact.format, contentHash, JSON.stringify(input.metrics), input.datasetId ?? null,
          input.referenceProfile === undefined ? null : JSON.stringify(input.referenceProfile), input.trainer, JSON.stringify(input.params ?? {}),
          costUsd, input.workflowId ?? null, input.runId ?? null, input.idempotencyKey ?? null, createdAt.toISOString(),
        );
      return this.getVersion(input.model, next);
    }).immediate();
  }

  /**
   * Keeps a row for a version whose number another registry assigned (MlflowRegistry: the version
   * lives in MLflow; this row lets the ledger and the alias rows reference it). Idempotent.
   */
  mirrorVersion(v: ModelVersion): void {
    this.db
      .prepare(
        `INSERT INTO model_versions (model, version, artifact_uri, format, content_hash, metrics, dataset_id, reference_profile, trainer, params,
           cost_usd, workflow_id, run_id, idempotency_key, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?, NULL, ?)
         ON CONFLICT (model, version) DO NOTHING`,
      )
      .run(v.model, v.version, v.artifactUri, v.format, v.contentHash, JSON.stringify(v.metrics), v.datasetId, v.trainer, JSON.stringify(v.params), v.costUsd, v.workflowId, v.runId, v.createdAt);
  }

  getVersion(model: string, version: number): ModelVersion {
    const row = this.db.prepare('SELECT * FROM model_versions WHERE model = ? AND version = ?').get(model, version) as VersionRow | undefined;
    if (!row) {
      if (!this.modelExists(model)) throw new RegistryError('unknown_model', `unknown model "${model}" (no registered versions)`);
      throw new RegistryError('unknown_version', `model "${model}" has no version ${version}`);
    }
    return versionFromRow(row, this.aliasesOf(model));
  }

  resolve(model: string, ref: AliasName | number | string): ModelVersion | undefined {
    if (typeof ref === 'number' || /^\d+$/.test(ref)) return this.getVersion(model, Number(ref));
    if (!(ALIASES as readonly string[]).includes(ref)) throw new RegistryError('invalid_input', `expected a version number or one of ${ALIASES.join(', ')}, got "${ref}"`);
    // A model with no versions yet simply has no champion: the monitor and the seed ask exactly that.
    const version = this.aliases(model)[ref as AliasName];
    return version === null ? undefined : this.getVersion(model, version);
  }

  listVersions(model: string): ModelVersion[] {
    const aliases = this.aliasesOf(model);
    const rows = this.db.prepare('SELECT * FROM model_versions WHERE model = ? ORDER BY version').all(model) as VersionRow[];
    return rows.map((row) => versionFromRow(row, aliases));
  }

  listModels(): ModelSummary[] {
    const rows = this.db
      .prepare(
        `SELECT v.model, count(*) AS versionCount, max(v.version) AS latestVersion,
           (SELECT max(at) FROM ledger l WHERE l.model = v.model) AS lastChangeAt
         FROM model_versions v GROUP BY v.model ORDER BY v.model`,
      )
      .all() as { model: string; versionCount: number; latestVersion: number; lastChangeAt: string | null }[];
    return rows.map((r) => ({ ...r, ...this.aliases(r.model) }));
  }

  aliases(model: string): AliasState {
    const state: AliasState = { champion: null, challenger: null, previous: null };
    const rows = this.db.prepare('SELECT alias, version FROM aliases WHERE model = ?').all(model) as { alias: AliasName; version: number | null }[];
    for (const r of rows) state[r.alias] = r.version;
    return state;
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

  promote(model: string, ref: VersionRef, ctx: MoveContext): LedgerEntry {
    return this.move(model, 'promote', ctx, (current) => {
      const target = this.versionOf(model, ref);
      if (current.champion === target.version) throw new RegistryError('invalid_move', `${model} v${target.version} is already the champion`);
      const changes: Partial<AliasState> = { champion: target.version };
      if (current.champion !== null) changes.previous = current.champion;
      if (current.challenger === target.version) changes.challenger = null;
      return {
        from: current.champion,
        to: target.version,
        changes,
        metricsBefore: current.champion === null ? null : this.getVersion(model, current.champion).metrics,
        metricsAfter: target.metrics,
      };
    });
  }

  rollback(model: string, ctx: MoveContext): LedgerEntry {
    return this.move(model, 'rollback', ctx, (current) => {
      if (current.previous === null) throw new RegistryError('invalid_move', `${model} has no previous version to roll back to`);
      return {
        from: current.champion,
        to: current.previous,
        changes: { champion: current.previous, previous: current.champion },
        metricsBefore: current.champion === null ? null : this.getVersion(model, current.champion).metrics,
        metricsAfter: this.getVersion(model, current.previous).metrics,
      };
    });
  }

  registerChallenger(model: string, ref: VersionRef, ctx: MoveContext): LedgerEntry {
    return this.move(model, 'register_challenger', ctx, (current) => {
      const target = this.versionOf(model, ref);
      if (current.champion === target.version) throw new RegistryError('invalid_move', `${model} v${target.version} is the champion; it cannot also be the challenger`);
      return {
        from: current.challenger,
        to: target.version,
        changes: { challenger: target.version },
        metricsBefore: current.champion === null ? null : this.getVersion(model, current.champion).metrics,
        metricsAfter: target.metrics,
      };
    });
  }

  clearChallenger(model: string, ctx: MoveContext): LedgerEntry {
    return this.move(model, 'clear_challenger', ctx, (current) => {
      if (current.challenger === null) throw new RegistryError('invalid_move', `${model} has no challenger to clear`);
      return { from: current.challenger, to: null, changes: { challenger: null }, metricsBefore: this.getVersion(model, current.challenger).metrics, metricsAfter: null };
    });
  }

  ledger(query: { model?: string; limit?: number; afterId?: number; newest?: boolean } = {}): LedgerEntry[] {
    // With `newest`, the limit keeps the most recent entries; the result is chronological either way.
    const rows = this.db
      .prepare(`SELECT * FROM ledger WHERE (@model IS NULL OR model = @model) AND id > @afterId ORDER BY id ${query.newest ? 'DESC' : 'ASC'} LIMIT @limit`)
      .all({ model: query.model ?? null, afterId: query.afterId ?? 0, limit: query.limit ?? -1 }) as LedgerRow[];
    if (query.newest) rows.reverse();
    return rows.map(ledgerFromRow);
  }

  recordSpend(model: string, costUsd: number, input: SpendInput): { recorded: boolean; id: number } {
    requireText(model, 'model');
    requireText(input.idempotencyKey, 'idempotencyKey');
    if (!Number.isFinite(costUsd) || costUsd < 0) throw new RegistryError('invalid_input', `costUsd must be a non-negative number, got ${costUsd}`);
    const at = input.at ?? this.now();
    const result = this.db
      .prepare(
        `INSERT INTO spend (model, cost_usd, month, idempotency_key, workflow_id, run_id, note, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (idempotency_key) DO NOTHING`,
      )
      .run(model, costUsd, monthKey(at), input.idempotencyKey, input.workflowId ?? null, input.runId ?? null, input.note ?? null, at.toISOString());
    if (result.changes === 1) return { recorded: true, id: Number(result.lastInsertRowid) };
    const existing = this.db.prepare('SELECT id, model FROM spend WHERE idempotency_key = ?').get(input.idempotencyKey) as { id: number; model: string };
    if (existing.model !== model) {
      throw new RegistryError('idempotency_conflict', `idempotency key "${input.idempotencyKey}" already recorded spend for model "${existing.model}"`);
    }
    return { recorded: false, id: existing.id };
  }

  monthlySpend(model: string | undefined, month: string | Date): number {
    const key = typeof month === 'string' ? month : monthKey(month);
    if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(key)) throw new RegistryError('invalid_input', `expected a month as YYYY-MM, got "${key}"`);
    const row = this.db
      .prepare('SELECT coalesce(sum(cost_usd), 0) AS total FROM spend WHERE month = ? AND (? IS NULL OR model = ?)')
      .get(key, model ?? null, model ?? null) as { total: number };
    return row.total;
  }

  rememberConfigRevision(model: string, revision: string, spec: unknown): void {
    requireText(model, 'model');
    requireText(revision, 'revision');
    this.db
      .prepare('INSERT INTO config_revisions (model, revision, spec_json, first_seen_at) VALUES (?, ?, ?, ?) ON CONFLICT (model, revision) DO NOTHING')
      .run(model, revision, JSON.stringify(spec), this.now().toISOString());
  }

  configRevision(model: string, revision: string): unknown {
    const row = this.db.prepare('SELECT spec_json FROM config_revisions WHERE model = ? AND revision = ?').get(model, revision) as { spec_json: string } | undefined;
    return row ? JSON.parse(row.spec_json) : undefined;
  }

  monitorState(model: string, name: string): unknown {
    const row = this.db.prepare('SELECT state_json FROM monitor_state WHERE model = ? AND name = ?').get(model, name) as { state_json: string } | undefined;
    return row ? JSON.parse(row.state_json) : undefined;
  }

  saveMonitorState(model: string, name: string, state: unknown): void {
    requireText(model, 'model');
    requireText(name, 'name');
    this.db
      .prepare('INSERT INTO monitor_state (model, name, state_json, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (model, name) DO UPDATE SET state_json = excluded.state_json, updated_at = excluded.updated_at')
      .run(model, name, JSON.stringify(state), this.now().toISOString());
  }

  recordViolations(model: string, checkedAt: Date | string, violations: ViolationInput[]): { recorded: number } {
    requireText(model, 'model');
    const at = isoTime(checkedAt, 'checkedAt');
    violations.forEach(checkViolation);
    const decidedAt = this.now().toISOString();
    const insert = this.db.prepare(
      `INSERT INTO drift_violations (model, checked_at, feature, statistic, score, threshold, importance_share, champion_version, decision, decision_reason, decided_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (model, checked_at, feature, statistic) DO NOTHING`,
    );
    return this.db.transaction(() => {
      let recorded = 0;
      for (const v of violations) {
        recorded += insert.run(model, at, v.feature, v.statistic, v.score, v.threshold, v.importanceShare ?? null, v.championVersion ?? null, v.decision, v.decisionReason, decidedAt).changes;
      }
      return { recorded };
    }).immediate();
  }

  settleViolations(model: string, checkedAt: Date | string, decision: 'retrain_started' | 'held', reason: string): { settled: number } {
    requireText(model, 'model');
    requireText(reason, 'reason');
    if (decision !== 'retrain_started' && decision !== 'held') throw new RegistryError('invalid_input', `a check's violations settle as retrain_started or held, got ${JSON.stringify(decision)}`);
    const result = this.db
      .prepare(
        `UPDATE drift_violations SET decision = ?, decision_reason = ?, decided_at = ?
         WHERE model = ? AND checked_at = ? AND decision IN ('reported_only', 'retrain_warranted')`,
      )
      .run(decision, reason, this.now().toISOString(), model, isoTime(checkedAt, 'checkedAt'));
    return { settled: result.changes };
  }

  violations(query: ViolationQuery): Violation[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM drift_violations WHERE ${VIOLATION_FILTER}
         ORDER BY checked_at DESC, feature, statistic LIMIT @limit`,
      )
      .all({ ...violationParams(query), limit: query.limit ?? -1 }) as ViolationRow[];
    return rows.map(violationFromRow);
  }

  violationRecurrence(query: ViolationQuery & { since: Date }): FeatureRecurrence[] {
    // checked_at is always toISOString() (UTC), so its first 10 characters are the UTC day.
    const rows = this.db
      .prepare(
        `SELECT feature, count(DISTINCT substr(checked_at, 1, 10)) AS days, count(DISTINCT checked_at) AS checks,
           min(checked_at) AS firstAt, max(checked_at) AS lastAt, group_concat(DISTINCT statistic) AS statistics
         FROM drift_violations WHERE ${VIOLATION_FILTER}
         GROUP BY feature ORDER BY days DESC, lastAt DESC, feature`,
      )
      .all(violationParams(query)) as Array<Omit<FeatureRecurrence, 'statistics'> & { statistics: string }>;
    return rows.map((r) => ({ ...r, statistics: r.statistics.split(',').sort() as ViolationStatistic[] }));
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  /** One alias move: ledger entry first, then the alias rows naming it, in one IMMEDIATE transaction. */
  private move(model: string, action: LedgerAction, ctx: MoveContext, plan: (current: AliasState) => MovePlan): LedgerEntry {
    requireText(model, 'model');
    requireText(ctx.actor, 'actor');
    requireText(ctx.reason, 'reason');
    if (ctx.metricsBefore) checkMetrics(ctx.metricsBefore, 'metricsBefore');
    if (ctx.metricsAfter) checkMetrics(ctx.metricsAfter, 'metricsAfter');
    return this.db.transaction((): LedgerEntry => {
      if (ctx.idempotencyKey) {
        const row = this.db.prepare('SELECT * FROM ledger WHERE idempotency_key = ?').get(ctx.idempotencyKey) as LedgerRow | undefined;
        if (row) {
          if (row.model !== model || row.action !== action) {
            throw new RegistryError('idempotency_conflict', `idempotency key "${ctx.idempotencyKey}" was already used for ${row.action} of model "${row.model}"`);
          }
          return ledgerFromRow(row);
        }
      }
      if (!this.modelExists(model)) throw new RegistryError('unknown_model', `unknown model "${model}" (no registered versions)`);
      const p = plan(this.aliases(model));
      const at = this.now().toISOString();
      const inserted = this.db
        .prepare(
          `INSERT INTO ledger (model, action, from_version, to_version, actor, reason, metrics_before, metrics_after, workflow_id, run_id, idempotency_key, at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          model, action, p.from, p.to, ctx.actor, ctx.reason, json(ctx.metricsBefore ?? p.metricsBefore), json(ctx.metricsAfter ?? p.metricsAfter),
          ctx.workflowId ?? null, ctx.runId ?? null, ctx.idempotencyKey ?? null, at,
        );
      const ledgerId = Number(inserted.lastInsertRowid);
      const upsert = this.db.prepare(
        `INSERT INTO aliases (model, alias, version, ledger_id, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (model, alias) DO UPDATE SET version = excluded.version, ledger_id = excluded.ledger_id, updated_at = excluded.updated_at`,
      );
      for (const [alias, version] of Object.entries(p.changes)) upsert.run(model, alias, version, ledgerId, at);
      return ledgerFromRow(this.db.prepare('SELECT * FROM ledger WHERE id = ?').get(ledgerId) as LedgerRow);
    }).immediate();
  }

  private versionOf(model: string, ref: VersionRef): ModelVersion {
    if (typeof ref === 'object') {
      if (ref.model !== model) {
        throw new RegistryError('cross_model', `version ${ref.version} belongs to model "${ref.model}"; it cannot take an alias of model "${model}"`);
      }
      return this.getVersion(model, ref.version);
    }
    if (!Number.isInteger(ref) || ref < 1) throw new RegistryError('invalid_input', `expected a version number ≥ 1, got ${ref}`);
    return this.getVersion(model, ref);
  }

  private versionByKey(key: string, model: string): ModelVersion | undefined {
    const row = this.db.prepare('SELECT * FROM model_versions WHERE idempotency_key = ?').get(key) as VersionRow | undefined;
    if (!row) return undefined;
    if (row.model !== model) throw new RegistryError('idempotency_conflict', `idempotency key "${key}" already registered a version of model "${row.model}"`);
    return versionFromRow(row, this.aliasesOf(row.model));
  }

  private aliasesOf(model: string): Map<number, AliasName[]> {
    const byVersion = new Map<number, AliasName[]>();
    for (const [alias, version] of Object.entries(this.aliases(model)) as [AliasName, number | null][]) {
      if (version !== null) byVersion.set(version, [...(byVersion.get(version) ?? []), alias]);
    }
    return byVersion;
  }

  private modelExists(model: string): boolean {
    return this.db.prepare('SELECT 1 FROM model_versions WHERE model = ? LIMIT 1').get(model) !== undefined;
  }
}

export { monthKey };

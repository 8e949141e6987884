import type pg from 'pg';
import { PG_MIGRATIONS, PG_SCHEMA_VERSION } from './postgres-migrations.js';
import { ledgerFromRow, type LedgerRow, versionFromRow, type VersionRow, violationFromRow, type ViolationRow } from './rows.js';
import {
  type AliasName, type FeatureRecurrence, type LedgerAction, type LedgerEntry, type MetricValues, type ModelSummary, type ModelVersion,
  type MoveContext, RegistryError, type Violation, type ViolationInput, type ViolationStatistic, type VersionRef,
} from './types.js';

/**
 * The registry's operations on PostgreSQL, run in the bridge's worker thread (see PostgresRegistry).
 * Each exported operation is one bridged call; the ones that must be atomic run one transaction.
 *
 * Concurrency: every write that reads before it writes (an alias move with its ledger entry, a
 * registration numbering the next version, a registration or move under an idempotency key) first
 * takes a transaction-scoped advisory lock on the model (`pg_advisory_xact_lock`), so writers of one
 * model queue behind each other, as SQLite's IMMEDIATE transactions make them; at READ COMMITTED
 * each statement after the lock sees everything committed before it. Idempotency keys are checked
 * again under the lock, and UNIQUE constraints back both. Single-statement writes (spend, config
 * revisions, monitor state, violations) rely on INSERT ... ON CONFLICT.
 */
type Client = pg.ClientBase;
type AliasState = Record<AliasName, number | null>;

async function one<T extends pg.QueryResultRow>(c: Client, text: string, values: unknown[] = []): Promise<T | undefined> {
  return (await c.query<T>(text, values)).rows[0];
}
async function all<T extends pg.QueryResultRow>(c: Client, text: string, values: unknown[] = []): Promise<T[]> {
  return (await c.query<T>(text, values)).rows;
}

/** Runs `work` in one transaction holding the model's advisory lock; rolls back on any error. */
async function lockedTx<T>(c: Client, model: string, work: () => Promise<T>): Promise<T> {
  await c.query('BEGIN');
  try {
    await c.query(`SELECT pg_advisory_xact_lock(hashtextextended('retrain.registry:' || $1, 0))`, [model]);
    const out = await work();
    await c.query('COMMIT');
    return out;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Brings the database to PG_SCHEMA_VERSION under a session advisory lock (two processes starting at once migrate once). */
export async function migrateRegistry(c: Client): Promise<void> {
  await c.query(`SELECT pg_advisory_lock(hashtextextended('retrain.registry.migrate', 0))`);
  try {
    await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)');
    const current = (await one<{ v: number }>(c, 'SELECT coalesce(max(version), 0)::int AS v FROM schema_migrations'))!.v;
    if (current > PG_SCHEMA_VERSION) {
      throw new RegistryError('schema_too_new', `registry schema version ${current} is newer than this code supports (${PG_SCHEMA_VERSION}); upgrade retrain`);
    }
    for (const m of PG_MIGRATIONS) {
      if (m.version <= current) continue;
      await c.query('BEGIN');
      try {
        await c.query(m.sql);
        await c.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [m.version, m.name, new Date().toISOString()]);
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    }
  } finally {
    await c.query(`SELECT pg_advisory_unlock(hashtextextended('retrain.registry.migrate', 0))`);
  }
}

async function aliases(c: Client, model: string): Promise<AliasState> {
  const state: AliasState = { champion: null, challenger: null, previous: null };
  for (const r of await all<{ alias: AliasName; version: number | null }>(c, 'SELECT alias, version FROM aliases WHERE model = $1', [model])) state[r.alias] = r.version;
  return state;
}

async function aliasesOf(c: Client, model: string): Promise<Map<number, AliasName[]>> {
  const byVersion = new Map<number, AliasName[]>();
  for (const [alias, version] of Object.entries(await aliases(c, model)) as [AliasName, number | null][]) {
    if (version !== null) byVersion.set(version, [...(byVersion.get(version) ?? []), alias]);
  }
  return byVersion;
}

async function modelExists(c: Client, model: string): Promise<boolean> {
  return (await one(c, 'SELECT 1 FROM model_versions WHERE model = $1 LIMIT 1', [model])) !== undefined;
}

/** A version row with the aliases naming it (in the order champion, challenger, previous), in one query. */
const VERSION_WITH_ALIASES = `SELECT v.*, ARRAY(SELECT a.alias FROM aliases a WHERE a.model = v.model AND a.version = v.version
    ORDER BY CASE a.alias WHEN 'champion' THEN 0 WHEN 'challenger' THEN 1 ELSE 2 END) AS alias_list
  FROM model_versions v`;

function withAliases(row: VersionRow & { alias_list: AliasName[] }): ModelVersion {
  const { alias_list: list, ...rest } = row;
  return versionFromRow(rest, new Map([[row.version, list]]));
}

async function getVersion(c: Client, model: string, version: number): Promise<ModelVersion> {
  const row = await one<VersionRow & { alias_list: AliasName[] }>(c, `${VERSION_WITH_ALIASES} WHERE v.model = $1 AND v.version = $2`, [model, version]);
  if (!row) {
    if (!(await modelExists(c, model))) throw new RegistryError('unknown_model', `unknown model "${model}" (no registered versions)`);
    throw new RegistryError('unknown_version', `model "${model}" has no version ${version}`);
  }
  return withAliases(row);
}

async function versionByKey(c: Client, key: string, model: string): Promise<ModelVersion | undefined> {
  const row = await one<VersionRow>(c, 'SELECT * FROM model_versions WHERE idempotency_key = $1', [key]);
  if (!row) return undefined;
  if (row.model !== model) throw new RegistryError('idempotency_conflict', `idempotency key "${key}" already registered a version of model "${row.model}"`);
  return versionFromRow(row, await aliasesOf(c, row.model));
}

async function versionOf(c: Client, model: string, ref: VersionRef): Promise<ModelVersion> {
  if (typeof ref === 'object') {
    if (ref.model !== model) {
      throw new RegistryError('cross_model', `version ${ref.version} belongs to model "${ref.model}"; it cannot take an alias of model "${model}"`);
    }
    return getVersion(c, model, ref.version);
  }
  if (!Number.isInteger(ref) || ref < 1) throw new RegistryError('invalid_input', `expected a version number ≥ 1, got ${ref}`);
  return getVersion(c, model, ref);
}

/** A registration already checked and hashed by the calling thread. */
export interface VersionInsert {
  model: string;
  artifactUri: string;
  format: string;
  contentHash: string;
  metrics: string;
  datasetId: string | null;
  referenceProfile: string | null;
  trainer: string;
  params: string;
  costUsd: number;
  workflowId: string | null;
  runId: string | null;
  idempotencyKey: string | null;
  createdAt: string;
}

interface MovePlan {
  from: number | null;
  to: number | null;
  changes: Partial<AliasState>;
  metricsBefore: MetricValues | null;
  metricsAfter: MetricValues | null;
}

/** The same plans as SqliteRegistry's promote / rollback / registerChallenger / clearChallenger. */
async function plan(c: Client, model: string, action: LedgerAction, ref: VersionRef | null, current: AliasState): Promise<MovePlan> {
  const metricsOf = async (v: number | null) => (v === null ? null : (await getVersion(c, model, v)).metrics);
  switch (action) {
    case 'promote': {
      const target = await versionOf(c, model, ref!);
      if (current.champion === target.version) throw new RegistryError('invalid_move', `${model} v${target.version} is already the champion`);
      const changes: Partial<AliasState> = { champion: target.version };
      if (current.champion !== null) changes.previous = current.champion;
      if (current.challenger === target.version) changes.challenger = null;
      return { from: current.champion, to: target.version, changes, metricsBefore: await metricsOf(current.champion), metricsAfter: target.metrics };
    }
    case 'rollback': {
      if (current.previous === null) throw new RegistryError('invalid_move', `${model} has no previous version to roll back to`);
      return {
        from: current.champion,
        to: current.previous,
        changes: { champion: current.previous, previous: current.champion },
        metricsBefore: await metricsOf(current.champion),
        metricsAfter: await metricsOf(current.previous),
      };
    }
    case 'register_challenger': {
      const target = await versionOf(c, model, ref!);
      if (current.champion === target.version) throw new RegistryError('invalid_move', `${model} v${target.version} is the champion; it cannot also be the challenger`);
      return { from: current.challenger, to: target.version, changes: { challenger: target.version }, metricsBefore: await metricsOf(current.champion), metricsAfter: target.metrics };
    }
    case 'clear_challenger': {
      if (current.challenger === null) throw new RegistryError('invalid_move', `${model} has no challenger to clear`);
      return { from: current.challenger, to: null, changes: { challenger: null }, metricsBefore: await metricsOf(current.challenger), metricsAfter: null };
    }
  }
}

function json(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

const VIOLATION_FILTER = `model = $1 AND ($2::text IS NULL OR feature = $2)
  AND ($3::text IS NULL OR checked_at >= $3) AND ($4::text IS NULL OR checked_at <= $4)`;

type ViolationParams = { model: string; feature: string | null; since: string | null; until: string | null };
const filterValues = (p: ViolationParams) => [p.model, p.feature, p.since, p.until];

export const REGISTRY_OPS = {
  async schemaVersion(c: Client): Promise<number> {
    return (await one<{ v: number }>(c, 'SELECT max(version)::int AS v FROM schema_migrations'))!.v;
  },

  versionByKey,

  async insertVersion(c: Client, v: VersionInsert): Promise<ModelVersion> {
    return lockedTx(c, v.model, async () => {
      // Re-checked under the model's lock: a concurrent retry may have registered it meanwhile.
      const raced = v.idempotencyKey ? await versionByKey(c, v.idempotencyKey, v.model) : undefined;
      if (raced) return raced;
      const { next } = (await one<{ next: number }>(c, 'SELECT coalesce(max(version), 0)::int + 1 AS next FROM model_versions WHERE model = $1', [v.model]))!;
      await c.query(
        `INSERT INTO model_versions (model, version, artifact_uri, format, content_hash, metrics, dataset_id, reference_profile, trainer, params,
           cost_usd, workflow_id, run_id, idempotency_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`,
        [v.model, next, v.artifactUri, v.format, v.contentHash, v.metrics, v.datasetId, v.referenceProfile, v.trainer, v.params, v.costUsd, v.workflowId, v.runId, v.idempotencyKey, v.createdAt],
      );
      return getVersion(c, v.model, next);
    });
  },

  /** A version whose number MLflow assigned (MlflowRegistry), kept so ledger and aliases can reference it. Idempotent. */
  async mirrorVersion(c: Client, v: VersionInsert & { version: number }): Promise<void> {
    await c.query(
      `INSERT INTO model_versions (model, version, artifact_uri, format, content_hash, metrics, dataset_id, reference_profile, trainer, params,
         cost_usd, workflow_id, run_id, idempotency_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $9, $10, $11, $12, NULL, $13)
       ON CONFLICT (model, version) DO NOTHING`,
      [v.model, v.version, v.artifactUri, v.format, v.contentHash, v.metrics, v.datasetId, v.trainer, v.params, v.costUsd, v.workflowId, v.runId, v.createdAt],
    );
  },

  getVersion,

  /** The version an alias names, in one query; undefined when the alias is unset. */
  async resolveAlias(c: Client, model: string, alias: AliasName): Promise<ModelVersion | undefined> {
    const row = await one<VersionRow & { alias_list: AliasName[] }>(
      c,
      `${VERSION_WITH_ALIASES} WHERE (v.model, v.version) = (SELECT model, version FROM aliases WHERE model = $1 AND alias = $2)`,
      [model, alias],
    );
    return row ? withAliases(row) : undefined;
  },

  async listVersions(c: Client, model: string): Promise<ModelVersion[]> {
    const byVersion = await aliasesOf(c, model);
    return (await all<VersionRow>(c, 'SELECT * FROM model_versions WHERE model = $1 ORDER BY version', [model])).map((r) => versionFromRow(r, byVersion));
  },

  async listModels(c: Client): Promise<ModelSummary[]> {
    const rows = await all<{ model: string; versionCount: number; latestVersion: number; lastChangeAt: string | null }>(
      c,
      `SELECT v.model, count(*)::int AS "versionCount", max(v.version) AS "latestVersion",
         (SELECT max(at) FROM ledger l WHERE l.model = v.model) AS "lastChangeAt"
       FROM model_versions v GROUP BY v.model ORDER BY v.model`,
    );
    const out: ModelSummary[] = [];
    for (const r of rows) out.push({ ...r, ...(await aliases(c, r.model)) });
    return out;
  },

  aliases,

  /** One alias move: ledger entry first, then the alias rows naming it, in one transaction under the model's lock. */
  async move(c: Client, model: string, action: LedgerAction, ref: VersionRef | null, ctx: MoveContext, at: string): Promise<LedgerEntry> {
    return lockedTx(c, model, async () => {
      if (ctx.idempotencyKey) {
        const row = await one<LedgerRow>(c, 'SELECT * FROM ledger WHERE idempotency_key = $1', [ctx.idempotencyKey]);
        if (row) {
          if (row.model !== model || row.action !== action) {
            throw new RegistryError('idempotency_conflict', `idempotency key "${ctx.idempotencyKey}" was already used for ${row.action} of model "${row.model}"`);
          }
          return ledgerFromRow(row);
        }
      }
      if (!(await modelExists(c, model))) throw new RegistryError('unknown_model', `unknown model "${model}" (no registered versions)`);
      const p = await plan(c, model, action, ref, await aliases(c, model));
      const inserted = (await one<LedgerRow>(
        c,
        `INSERT INTO ledger (model, action, from_version, to_version, actor, reason, metrics_before, metrics_after, workflow_id, run_id, idempotency_key, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *`,
        [
          model, action, p.from, p.to, ctx.actor, ctx.reason, json(ctx.metricsBefore ?? p.metricsBefore), json(ctx.metricsAfter ?? p.metricsAfter),
          ctx.workflowId ?? null, ctx.runId ?? null, ctx.idempotencyKey ?? null, at,
        ],
      ))!;
      for (const [alias, version] of Object.entries(p.changes)) {
        await c.query(
          `INSERT INTO aliases (model, alias, version, ledger_id, updated_at) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (model, alias) DO UPDATE SET version = excluded.version, ledger_id = excluded.ledger_id, updated_at = excluded.updated_at`,
          [model, alias, version, inserted.id, at],
        );
      }
      return ledgerFromRow(inserted);
    });
  },

  async ledger(c: Client, query: { model?: string; limit?: number; afterId?: number; newest?: boolean }): Promise<LedgerEntry[]> {
    const rows = await all<LedgerRow>(
      c,
      `SELECT * FROM ledger WHERE ($1::text IS NULL OR model = $1) AND id > $2 ORDER BY id ${query.newest ? 'DESC' : 'ASC'} LIMIT $3`,
      [query.model ?? null, query.afterId ?? 0, query.limit ?? null],
    );
    if (query.newest) rows.reverse();
    return rows.map(ledgerFromRow);
  },

  async recordSpend(
    c: Client,
    s: { model: string; costUsd: number; month: string; idempotencyKey: string; workflowId: string | null; runId: string | null; note: string | null; at: string },
  ): Promise<{ recorded: boolean; id: number }> {
    const inserted = await one<{ id: number }>(
      c,
      `INSERT INTO spend (model, cost_usd, month, idempotency_key, workflow_id, run_id, note, at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`,
      [s.model, s.costUsd, s.month, s.idempotencyKey, s.workflowId, s.runId, s.note, s.at],
    );
    if (inserted) return { recorded: true, id: inserted.id };
    const existing = (await one<{ id: number; model: string }>(c, 'SELECT id, model FROM spend WHERE idempotency_key = $1', [s.idempotencyKey]))!;
    if (existing.model !== s.model) {
      throw new RegistryError('idempotency_conflict', `idempotency key "${s.idempotencyKey}" already recorded spend for model "${existing.model}"`);
    }
    return { recorded: false, id: existing.id };
  },

  async monthlySpend(c: Client, model: string | null, month: string): Promise<number> {
    return (await one<{ total: number }>(c, 'SELECT coalesce(sum(cost_usd), 0)::float8 AS total FROM spend WHERE month = $1 AND ($2::text IS NULL OR model = $2)', [month, model]))!.total;
  },

  async rememberConfigRevision(c: Client, model: string, revision: string, specJson: string, at: string): Promise<void> {
    await c.query('INSERT INTO config_revisions (model, revision, spec_json, first_seen_at) VALUES ($1, $2, $3, $4) ON CONFLICT (model, revision) DO NOTHING', [model, revision, specJson, at]);
  },

  async configRevision(c: Client, model: string, revision: string): Promise<string | undefined> {
    return (await one<{ spec_json: string }>(c, 'SELECT spec_json FROM config_revisions WHERE model = $1 AND revision = $2', [model, revision]))?.spec_json;
  },

  async monitorState(c: Client, model: string, name: string): Promise<string | undefined> {
    return (await one<{ state_json: string }>(c, 'SELECT state_json FROM monitor_state WHERE model = $1 AND name = $2', [model, name]))?.state_json;
  },

  async saveMonitorState(c: Client, model: string, name: string, stateJson: string, at: string): Promise<void> {
    await c.query(
      `INSERT INTO monitor_state (model, name, state_json, updated_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (model, name) DO UPDATE SET state_json = excluded.state_json, updated_at = excluded.updated_at`,
      [model, name, stateJson, at],
    );
  },

  /** All of a check's violations in one transaction: a failure records none of them. */
  async recordViolations(c: Client, model: string, checkedAt: string, violations: ViolationInput[], decidedAt: string): Promise<{ recorded: number }> {
    await c.query('BEGIN');
    try {
      let recorded = 0;
      for (const v of violations) {
        const r = await c.query(
          `INSERT INTO drift_violations (model, checked_at, feature, statistic, score, threshold, importance_share, champion_version, decision, decision_reason, decided_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (model, checked_at, feature, statistic) DO NOTHING`,
          [model, checkedAt, v.feature, v.statistic, v.score, v.threshold, v.importanceShare ?? null, v.championVersion ?? null, v.decision, v.decisionReason, decidedAt],
        );
        recorded += r.rowCount ?? 0;
      }
      await c.query('COMMIT');
      return { recorded };
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  },

  async settleViolations(c: Client, model: string, checkedAt: string, decision: string, reason: string, at: string): Promise<{ settled: number }> {
    const r = await c.query(
      `UPDATE drift_violations SET decision = $1, decision_reason = $2, decided_at = $3
       WHERE model = $4 AND checked_at = $5 AND decision IN ('reported_only', 'retrain_warranted')`,
      [decision, reason, at, model, checkedAt],
    );
    return { settled: r.rowCount ?? 0 };
  },

  async violations(c: Client, p: ViolationParams, limit: number | null): Promise<Violation[]> {
    const rows = await all<ViolationRow>(c, `SELECT * FROM drift_violations WHERE ${VIOLATION_FILTER} ORDER BY checked_at DESC, feature, statistic LIMIT $5`, [...filterValues(p), limit]);
    return rows.map(violationFromRow);
  },

  async violationRecurrence(c: Client, p: ViolationParams): Promise<FeatureRecurrence[]> {
    // checked_at is always toISOString() (UTC), so its first 10 characters are the UTC day.
    const rows = await all<Omit<FeatureRecurrence, 'statistics'> & { statistics: string }>(
      c,
      `SELECT feature, count(DISTINCT substr(checked_at, 1, 10))::int AS days, count(DISTINCT checked_at)::int AS checks,
         min(checked_at) AS "firstAt", max(checked_at) AS "lastAt", string_agg(DISTINCT statistic, ',') AS statistics
       FROM drift_violations WHERE ${VIOLATION_FILTER}
       GROUP BY feature ORDER BY days DESC, "lastAt" DESC, feature`,
      filterValues(p),
    );
    return rows.map((r) => ({ ...r, statistics: r.statistics.split(',').sort() as ViolationStatistic[] }));
  },
} satisfies Record<string, (c: Client, ...args: never[]) => Promise<unknown>>;


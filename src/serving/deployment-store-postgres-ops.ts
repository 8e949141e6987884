import type pg from 'pg';
import type { DeploymentEvent, DeploymentRecord, ReplicaServing, ReplicaStatus, Role } from './deployment-store.js';

// Spelled here rather than imported: this module runs in the bridge's worker thread, which must not load better-sqlite3.
const STORED_ROLES = ['champion', 'challenger', 'previous', 'online'] as const;

/**
 * The gateway deployment store's operations on PostgreSQL, run in the bridge's worker thread (see
 * PostgresDeploymentStore). Each is one bridged call; `save` is one transaction holding the model's
 * advisory lock, so two replicas changing one model queue behind each other.
 */
type Client = pg.ClientBase;

const SCHEMA_VERSION = 2;
const SCHEMA = `
CREATE TABLE deployment (
  model        TEXT COLLATE "C" NOT NULL,
  role         TEXT NOT NULL CHECK (role IN ('champion', 'challenger', 'previous')),
  version      TEXT NOT NULL,
  artifact_uri TEXT NOT NULL,
  sha256       TEXT NOT NULL,
  weight       DOUBLE PRECISION NOT NULL DEFAULT 0,
  shadow       BOOLEAN NOT NULL DEFAULT false,
  updated_at   TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (model, role)
);
CREATE TABLE deployment_event (
  id     INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  model  TEXT COLLATE "C" NOT NULL,
  action TEXT NOT NULL,
  detail TEXT NOT NULL,
  at     TEXT NOT NULL
);
CREATE INDEX deployment_event_model ON deployment_event (model, id);
-- What each gateway replica serves, refreshed by its heartbeat: the control plane's view of which
-- replicas have picked up a change.
CREATE TABLE deployment_replica (
  replica      TEXT COLLATE "C" NOT NULL,
  model        TEXT COLLATE "C" NOT NULL,
  champion     TEXT,
  challenger   TEXT,
  weight       DOUBLE PRECISION NOT NULL,
  updated_at   TEXT,
  revision     INTEGER NOT NULL,
  heartbeat_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (replica, model)
);`;

export async function migrateDeploymentStore(c: Client): Promise<void> {
  await c.query(`SELECT pg_advisory_lock(hashtextextended('retrain.deployment.migrate', 0))`);
  try {
    await c.query('CREATE TABLE IF NOT EXISTS deployment_schema_migrations (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)');
    const current = (await c.query<{ v: number }>('SELECT coalesce(max(version), 0)::int AS v FROM deployment_schema_migrations')).rows[0].v;
    if (current > SCHEMA_VERSION) throw new Error(`deployment store schema version ${current} is newer than this code supports (${SCHEMA_VERSION}); upgrade retrain`);
    const migrations: Array<[number, string]> = [
      [1, SCHEMA],
      // Version 2: the online copy of a champion (learning: online | hybrid) is a fourth role.
      [2, `ALTER TABLE deployment DROP CONSTRAINT deployment_role_check;
           ALTER TABLE deployment ADD CONSTRAINT deployment_role_check CHECK (role IN ('champion', 'challenger', 'previous', 'online'))`],
    ];
    for (const [version, statements] of migrations) {
      if (current >= version) continue;
      await c.query('BEGIN');
      try {
        await c.query(statements);
        await c.query('INSERT INTO deployment_schema_migrations VALUES ($1, $2)', [version, new Date().toISOString()]);
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    }
  } finally {
    await c.query(`SELECT pg_advisory_unlock(hashtextextended('retrain.deployment.migrate', 0))`);
  }
}

interface Row {
  model: string;
  role: Role;
  version: string;
  artifact_uri: string;
  sha256: string;
  weight: number;
  shadow: boolean;
  updated_at: string;
}

export const DEPLOYMENT_OPS = {
  /** Every model's deployment, as [model, record] pairs (a Map does not cross the thread as one). */
  async loadAll(c: Client): Promise<Array<[string, DeploymentRecord]>> {
    const out = new Map<string, DeploymentRecord>();
    for (const r of (await c.query<Row>('SELECT * FROM deployment ORDER BY model, role')).rows) {
      const rec = out.get(r.model) ?? {};
      const base = { version: r.version, artifactUri: r.artifact_uri, sha256: r.sha256 };
      if (r.role === 'challenger') rec.challenger = { ...base, weight: r.weight, shadow: r.shadow };
      else rec[r.role] = base;
      rec.updatedAt = rec.updatedAt && rec.updatedAt > r.updated_at ? rec.updatedAt : r.updated_at;
      out.set(r.model, rec);
    }
    return [...out];
  },

  async save(c: Client, model: string, record: DeploymentRecord, action: string, detailJson: string, at: string): Promise<number> {
    await c.query('BEGIN');
    try {
      await c.query(`SELECT pg_advisory_xact_lock(hashtextextended('retrain.deployment:' || $1, 0))`, [model]);
      await c.query('DELETE FROM deployment WHERE model = $1', [model]);
      for (const role of STORED_ROLES) {
        const r = record[role];
        if (!r) continue;
        const weight = role === 'challenger' ? (r as { weight: number }).weight : role === 'champion' ? 100 : 0;
        const shadow = role === 'challenger' && (r as { shadow: boolean }).shadow;
        await c.query(
          'INSERT INTO deployment (model, role, version, artifact_uri, sha256, weight, shadow, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
          [model, role, r.version, r.artifactUri, r.sha256, weight, shadow, at],
        );
      }
      const { id } = (await c.query<{ id: number }>('INSERT INTO deployment_event (model, action, detail, at) VALUES ($1, $2, $3, $4) RETURNING id', [model, action, detailJson, at])).rows[0];
      await c.query('COMMIT');
      return id;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  },

  async events(c: Client, model: string, limit: number): Promise<DeploymentEvent[]> {
    const rows = (await c.query<Omit<DeploymentEvent, 'detail'> & { detail: string }>('SELECT * FROM deployment_event WHERE model = $1 ORDER BY id DESC LIMIT $2', [model, limit])).rows;
    return rows.map((r) => ({ ...r, detail: JSON.parse(r.detail) }));
  },

  async revision(c: Client): Promise<number> {
    return (await c.query<{ v: number }>('SELECT coalesce(max(id), 0)::int AS v FROM deployment_event')).rows[0].v;
  },

  async reportServing(c: Client, state: ReplicaServing): Promise<void> {
    await c.query('BEGIN');
    try {
      for (const m of state.models) {
        await c.query(
          `INSERT INTO deployment_replica (replica, model, champion, challenger, weight, updated_at, revision, heartbeat_at) VALUES ($1, $2, $3, $4, $5, $6, $7, now())
           ON CONFLICT (replica, model) DO UPDATE SET champion = excluded.champion, challenger = excluded.challenger, weight = excluded.weight,
             updated_at = excluded.updated_at, revision = excluded.revision, heartbeat_at = excluded.heartbeat_at`,
          [state.replica, m.model, m.champion, m.challenger, m.weight, m.updatedAt, state.revision],
        );
      }
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  },

  async replicas(c: Client, model: string, liveWithinMs: number): Promise<ReplicaStatus[]> {
    const rows = (
      await c.query<Omit<ReplicaStatus, 'current' | 'heartbeatAt'> & { heartbeat_at: Date; updated_at: string | null; current: boolean }>(
        `SELECT r.replica, r.model, r.champion, r.challenger, r.weight, r.updated_at, r.revision, r.heartbeat_at,
           r.updated_at IS NOT DISTINCT FROM (SELECT max(updated_at) FROM deployment d WHERE d.model = r.model) AS current
         FROM deployment_replica r
         WHERE r.model = $1 AND r.heartbeat_at >= now() - make_interval(secs => $2::float8 / 1000)
         ORDER BY r.replica`,
        [model, liveWithinMs],
      )
    ).rows;
    return rows.map((r) => ({
      replica: r.replica, model: r.model, champion: r.champion, challenger: r.challenger, weight: r.weight, updatedAt: r.updated_at,
      revision: r.revision, heartbeatAt: r.heartbeat_at.toISOString(), current: r.current,
    }));
  },
} satisfies Record<string, (c: Client, ...args: never[]) => Promise<unknown>>;

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';

export type Role = 'champion' | 'challenger' | 'previous' | 'online';
export const STORED_ROLES = ['champion', 'challenger', 'previous', 'online'] as const;

export interface RoleRecord {
  version: string;
  artifactUri: string;
  /** sha256 of the artifact as loaded; a restart refuses a file that changed since. */
  sha256: string;
}

export interface DeploymentRecord {
  champion?: RoleRecord;
  challenger?: RoleRecord & { weight: number; shadow: boolean };
  previous?: RoleRecord;
  /** learning: online | hybrid: the champion's online copy (its version names the champion it grew from). */
  online?: RoleRecord;
  updatedAt?: string;
}

export interface DeploymentEvent {
  id: number;
  model: string;
  action: string;
  detail: unknown;
  at: string;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS deployment (
  model        TEXT NOT NULL,
  role         TEXT NOT NULL CHECK (role IN ('champion', 'challenger', 'previous', 'online')),
  version      TEXT NOT NULL,
  artifact_uri TEXT NOT NULL,
  sha256       TEXT NOT NULL,
  weight       REAL NOT NULL DEFAULT 0,
  shadow       INTEGER NOT NULL DEFAULT 0,
  updated_at   TEXT NOT NULL,
  PRIMARY KEY (model, role)
);
CREATE TABLE IF NOT EXISTS deployment_event (
  id     INTEGER PRIMARY KEY AUTOINCREMENT,
  model  TEXT NOT NULL,
  action TEXT NOT NULL,
  detail TEXT NOT NULL,
  at     TEXT NOT NULL
);`;

/**
 * Which version serves in which role, persisted so a restarted gateway serves the same split. Each
 * change replaces a model's rows in one transaction and appends an event row, which doubles as the
 * audit trail of traffic changes. Two implementations: SQLite in `<dataDir>/serving.db` (one gateway,
 * the default) and PostgreSQL (deployment-store-postgres.ts: gateway replicas sharing one deployment).
 */
export interface DeploymentStore {
  /** Where servable artifacts live by default (`<dataDir>/artifacts`). */
  readonly artifactsDir: string;
  /** True when other gateway processes share this store, so a replica must follow their changes. */
  readonly shared: boolean;
  /** How often a replica of a shared store polls `revision()` (ms; 0 = never). */
  readonly pollMs: number;
  loadAll(): Map<string, DeploymentRecord>;
  /** Replaces the model's deployment and records why, atomically. */
  save(model: string, record: DeploymentRecord, action: string, detail: unknown): void;
  events(model: string, limit?: number): DeploymentEvent[];
  /** Changes with every save (the newest event id): a replica polls it to see another replica's change. */
  revision(): number;
  /** Records what one replica serves now (its heartbeat); a no-op for an unshared store. */
  reportServing(state: ReplicaServing): void;
  /** The live replicas (heartbeat within `liveWithinMs`) and whether each serves the store's current deployment of `model`. */
  replicas(model: string, liveWithinMs?: number): ReplicaStatus[];
  close(): void;
}

/** What one gateway replica serves, as it reports it. */
export interface ReplicaServing {
  replica: string;
  /** The store revision the replica has applied. */
  revision: number;
  models: Array<{ model: string; champion: string | null; challenger: string | null; weight: number; updatedAt: string | null }>;
}

export interface ReplicaStatus {
  replica: string;
  model: string;
  champion: string | null;
  challenger: string | null;
  weight: number;
  /** The deployment time (updatedAt) the replica serves. */
  updatedAt: string | null;
  revision: number;
  heartbeatAt: string;
  /** Serves the model's current deployment (same updatedAt as the store's). */
  current: boolean;
}

interface Row {
  model: string;
  role: Role;
  version: string;
  artifact_uri: string;
  sha256: string;
  weight: number;
  shadow: number;
  updated_at: string;
}

/** The embedded default: one gateway, `<dataDir>/serving.db` (SQLite, WAL). */
export class SqliteDeploymentStore implements DeploymentStore {
  private readonly db: Database.Database;
  readonly shared = false;
  readonly pollMs = 0;
  readonly artifactsDir: string;

  constructor(readonly file: string) {
    this.artifactsDir = path.join(path.dirname(file), 'artifacts');
    mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    allowOnlineRole(this.db);
  }

  loadAll(): Map<string, DeploymentRecord> {
    const out = new Map<string, DeploymentRecord>();
    for (const r of this.db.prepare('SELECT * FROM deployment ORDER BY model, role').all() as Row[]) {
      const rec = out.get(r.model) ?? {};
      const base = { version: r.version, artifactUri: r.artifact_uri, sha256: r.sha256 };
      if (r.role === 'challenger') rec.challenger = { ...base, weight: r.weight, shadow: r.shadow === 1 };
      else rec[r.role] = base;
      rec.updatedAt = rec.updatedAt && rec.updatedAt > r.updated_at ? rec.updatedAt : r.updated_at;
      out.set(r.model, rec);
    }
    return out;
  }

  /** Replaces the model's deployment and records why, atomically. */
  save(model: string, record: DeploymentRecord, action: string, detail: unknown): void {
    const at = record.updatedAt ?? new Date().toISOString(); // the live deployment's own time, so a restart reports the same
    const insert = this.db.prepare(
      'INSERT INTO deployment (model, role, version, artifact_uri, sha256, weight, shadow, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM deployment WHERE model = ?').run(model);
      for (const role of STORED_ROLES) {
        const r = record[role];
        if (!r) continue;
        const weight = role === 'challenger' ? (r as { weight: number }).weight : role === 'champion' ? 100 : 0;
        const shadow = role === 'challenger' && (r as { shadow: boolean }).shadow ? 1 : 0;
        insert.run(model, role, r.version, r.artifactUri, r.sha256, weight, shadow, at);
      }
      this.db.prepare('INSERT INTO deployment_event (model, action, detail, at) VALUES (?, ?, ?, ?)').run(model, action, JSON.stringify(detail), at);
    })();
  }

  events(model: string, limit = 50): DeploymentEvent[] {
    const rows = this.db.prepare('SELECT * FROM deployment_event WHERE model = ? ORDER BY id DESC LIMIT ?').all(model, limit) as Array<Omit<DeploymentEvent, 'detail'> & { detail: string }>;
    return rows.map((r) => ({ ...r, detail: JSON.parse(r.detail) }));
  }

  revision(): number {
    return (this.db.prepare('SELECT coalesce(max(id), 0) AS v FROM deployment_event').get() as { v: number }).v;
  }

  reportServing(): void {
    // One gateway owns this file: there are no other replicas to report to.
  }

  replicas(): ReplicaStatus[] {
    return [];
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

/**
 * A serving.db made before online learning refuses the `online` role (its CHECK lists three
 * roles): rebuild the table with the current CHECK, rows kept, in one transaction.
 */
function allowOnlineRole(db: Database.Database): void {
  const { sql } = db.prepare("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'deployment'").get() as { sql: string };
  if (sql.includes("'online'")) return;
  db.transaction(() => {
    db.exec('ALTER TABLE deployment RENAME TO deployment_before_online');
    db.exec(SCHEMA);
    db.exec('INSERT INTO deployment SELECT * FROM deployment_before_online');
    db.exec('DROP TABLE deployment_before_online');
  })();
}

import type Database from 'better-sqlite3';
import { RegistryError } from './types.js';

/**
 * Schema migrations, applied in order inside one transaction each and recorded in
 * `schema_migrations`. Never edit a released migration: append a new one, so every existing
 * registry.db moves forward the same way.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'versions, aliases, ledger, spend',
    sql: `
      CREATE TABLE model_versions (
        id INTEGER PRIMARY KEY,
        model TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 1),
        artifact_uri TEXT NOT NULL,
        format TEXT NOT NULL CHECK (format IN ('retrain-linear/v1', 'onnx')),
        content_hash TEXT NOT NULL CHECK (length(content_hash) = 64),
        metrics TEXT NOT NULL,
        dataset_id TEXT,
        reference_profile TEXT,
        trainer TEXT NOT NULL,
        params TEXT NOT NULL,
        cost_usd REAL NOT NULL DEFAULT 0,
        workflow_id TEXT,
        run_id TEXT,
        idempotency_key TEXT UNIQUE,
        created_at TEXT NOT NULL,
        UNIQUE (model, version)
      );

      -- Append-only: the audit trail of every alias move.
      CREATE TABLE ledger (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        model TEXT NOT NULL,
        action TEXT NOT NULL CHECK (action IN ('promote', 'rollback', 'register_challenger', 'clear_challenger')),
        from_version INTEGER,
        to_version INTEGER,
        actor TEXT NOT NULL,
        reason TEXT NOT NULL,
        metrics_before TEXT,
        metrics_after TEXT,
        workflow_id TEXT,
        run_id TEXT,
        idempotency_key TEXT UNIQUE,
        at TEXT NOT NULL
      );
      CREATE INDEX ledger_model ON ledger (model, id);
      CREATE TRIGGER ledger_no_update BEFORE UPDATE ON ledger BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;
      CREATE TRIGGER ledger_no_delete BEFORE DELETE ON ledger BEGIN SELECT RAISE(ABORT, 'ledger is append-only'); END;

      -- Every alias row names the ledger entry that put it there, so an alias cannot move
      -- without a ledger entry for the same model (written first, in the same transaction).
      CREATE TABLE aliases (
        model TEXT NOT NULL,
        alias TEXT NOT NULL CHECK (alias IN ('champion', 'challenger', 'previous')),
        version INTEGER, -- NULL: unset (cleared), still naming the ledger entry that cleared it
        ledger_id INTEGER NOT NULL REFERENCES ledger (id),
        updated_at TEXT NOT NULL,
        PRIMARY KEY (model, alias),
        FOREIGN KEY (model, version) REFERENCES model_versions (model, version)
      );
      CREATE TRIGGER aliases_need_ledger_insert BEFORE INSERT ON aliases
        WHEN NOT EXISTS (SELECT 1 FROM ledger WHERE id = NEW.ledger_id AND model = NEW.model)
        BEGIN SELECT RAISE(ABORT, 'alias moves need a ledger entry for the same model'); END;
      CREATE TRIGGER aliases_need_ledger_update BEFORE UPDATE ON aliases
        WHEN NOT EXISTS (SELECT 1 FROM ledger WHERE id = NEW.ledger_id AND model = NEW.model) OR NEW.ledger_id = OLD.ledger_id
        BEGIN SELECT RAISE(ABORT, 'alias moves need a new ledger entry for the same model'); END;
      CREATE TRIGGER aliases_no_delete BEFORE DELETE ON aliases BEGIN SELECT RAISE(ABORT, 'aliases are cleared, not deleted'); END;

      CREATE TABLE spend (
        id INTEGER PRIMARY KEY,
        model TEXT NOT NULL,
        cost_usd REAL NOT NULL CHECK (cost_usd >= 0),
        month TEXT NOT NULL,
        idempotency_key TEXT NOT NULL UNIQUE,
        workflow_id TEXT,
        run_id TEXT,
        note TEXT,
        at TEXT NOT NULL
      );
      CREATE INDEX spend_month ON spend (month, model);
    `,
  },
  {
    version: 2,
    name: 'config revisions',
    // Every model spec revision a worker has been configured with: a run names the revision it
    // started under, and a worker restarted with an edited YAML still finishes it under those rules.
    sql: `
      CREATE TABLE config_revisions (
        model TEXT NOT NULL,
        revision TEXT NOT NULL,
        spec_json TEXT NOT NULL,
        first_seen_at TEXT NOT NULL,
        PRIMARY KEY (model, revision)
      );
    `,
  },
  {
    version: 3,
    name: 'monitor state',
    // What a monitor carries from one check to the next (the sequential detector on the matured
    // error stream), so a worker restart does not forget the evidence gathered so far.
    sql: `
      CREATE TABLE monitor_state (
        model TEXT NOT NULL,
        name TEXT NOT NULL,
        state_json TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (model, name)
      );
    `,
  },
  {
    version: 4,
    name: 'drift violations',
    // Every drifted feature of every check, so recurring drift can be found: one row per model,
    // check time, feature and statistic (a retried check writes nothing new). The decision starts as
    // the check's own verdict and is settled when the monitor starts (or finds running) a pipeline.
    sql: `
      CREATE TABLE drift_violations (
        id INTEGER PRIMARY KEY,
        model TEXT NOT NULL,
        checked_at TEXT NOT NULL,
        feature TEXT NOT NULL,
        statistic TEXT NOT NULL CHECK (statistic IN ('psi', 'ks', 'wasserstein', 'jensen_shannon', 'chi_square')),
        score REAL NOT NULL,
        threshold REAL NOT NULL,
        importance_share REAL,
        champion_version INTEGER,
        decision TEXT NOT NULL CHECK (decision IN ('reported_only', 'retrain_warranted', 'retrain_started', 'held')),
        decision_reason TEXT NOT NULL,
        decided_at TEXT NOT NULL,
        UNIQUE (model, checked_at, feature, statistic)
      );
      CREATE INDEX drift_violations_feature ON drift_violations (model, feature, checked_at);
    `,
  },
  {
    version: 5,
    name: 'data-quality violations',
    // The violations store also keeps data-quality findings (missing rate, out of range, unseen
    // categories, mean shift). SQLite cannot change a CHECK constraint in place: the table is
    // rebuilt with the wider list and its rows copied over.
    sql: `
      CREATE TABLE drift_violations_v5 (
        id INTEGER PRIMARY KEY,
        model TEXT NOT NULL,
        checked_at TEXT NOT NULL,
        feature TEXT NOT NULL,
        statistic TEXT NOT NULL CHECK (statistic IN ('psi', 'ks', 'wasserstein', 'jensen_shannon', 'chi_square', 'missing_rate', 'out_of_range', 'unseen_categories', 'mean_shift')),
        score REAL NOT NULL,
        threshold REAL NOT NULL,
        importance_share REAL,
        champion_version INTEGER,
        decision TEXT NOT NULL CHECK (decision IN ('reported_only', 'retrain_warranted', 'retrain_started', 'held')),
        decision_reason TEXT NOT NULL,
        decided_at TEXT NOT NULL,
        UNIQUE (model, checked_at, feature, statistic)
      );
      INSERT INTO drift_violations_v5 SELECT * FROM drift_violations;
      DROP TABLE drift_violations;
      ALTER TABLE drift_violations_v5 RENAME TO drift_violations;
      CREATE INDEX drift_violations_feature ON drift_violations (model, feature, checked_at);
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

/** Brings the database to SCHEMA_VERSION; refuses a database written by newer code. */
export function migrate(db: Database.Database, now: () => Date): number {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  const current = (db.prepare('SELECT coalesce(max(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
  if (current > SCHEMA_VERSION) {
    throw new RegistryError('schema_too_new', `registry schema version ${current} is newer than this code supports (${SCHEMA_VERSION}); upgrade retrain`);
  }
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of MIGRATIONS) {
    if (m.version <= current) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, m.name, now().toISOString());
    }).immediate();
  }
  return SCHEMA_VERSION;
}

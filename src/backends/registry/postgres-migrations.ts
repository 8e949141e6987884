import type { Migration } from './migrations.js';

/**
 * The registry schema on PostgreSQL: the same tables, constraints and guards as the SQLite
 * migrations (migrations.ts), numbered and named alike so `schemaVersion` means the same in both
 * stores. Append a migration to both lists when the schema changes.
 *
 * Conventions kept from SQLite so both stores answer identically: times are ISO-8601 UTC text (the
 * first 10 characters are the UTC day), JSON is stored as text exactly as written, and text that is
 * compared or ordered uses the "C" collation (byte order, as SQLite compares), whatever the
 * database's default locale.
 */
export const PG_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'versions, aliases, ledger, spend',
    sql: `
      CREATE TABLE model_versions (
        id INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        model TEXT COLLATE "C" NOT NULL,
        version INTEGER NOT NULL CHECK (version >= 1),
        artifact_uri TEXT NOT NULL,
        format TEXT NOT NULL CHECK (format IN ('retrain-linear/v1', 'onnx')),
        content_hash TEXT NOT NULL CHECK (length(content_hash) = 64),
        metrics TEXT NOT NULL,
        dataset_id TEXT,
        reference_profile TEXT,
        trainer TEXT NOT NULL,
        params TEXT NOT NULL,
        cost_usd DOUBLE PRECISION NOT NULL DEFAULT 0,
        workflow_id TEXT,
        run_id TEXT,
        idempotency_key TEXT UNIQUE,
        created_at TEXT COLLATE "C" NOT NULL,
        UNIQUE (model, version)
      );

      -- Append-only: the audit trail of every alias move.
      CREATE TABLE ledger (
        id INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        model TEXT COLLATE "C" NOT NULL,
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
        at TEXT COLLATE "C" NOT NULL
      );
      CREATE INDEX ledger_model ON ledger (model, id);
      CREATE FUNCTION retrain_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'ledger is append-only'; END $$;
      CREATE TRIGGER ledger_no_update BEFORE UPDATE OR DELETE ON ledger FOR EACH ROW EXECUTE FUNCTION retrain_ledger_append_only();
      CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger FOR EACH STATEMENT EXECUTE FUNCTION retrain_ledger_append_only();

      -- Every alias row names the ledger entry that put it there, so an alias cannot move
      -- without a ledger entry for the same model (written first, in the same transaction).
      CREATE TABLE aliases (
        model TEXT COLLATE "C" NOT NULL,
        alias TEXT NOT NULL CHECK (alias IN ('champion', 'challenger', 'previous')),
        version INTEGER, -- NULL: unset (cleared), still naming the ledger entry that cleared it
        ledger_id INTEGER NOT NULL REFERENCES ledger (id),
        updated_at TEXT NOT NULL,
        PRIMARY KEY (model, alias),
        FOREIGN KEY (model, version) REFERENCES model_versions (model, version)
      );
      CREATE FUNCTION retrain_aliases_need_ledger() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
          IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'aliases are cleared, not deleted'; END IF;
          IF TG_OP = 'INSERT' AND NOT EXISTS (SELECT 1 FROM ledger WHERE id = NEW.ledger_id AND model = NEW.model) THEN
            RAISE EXCEPTION 'alias moves need a ledger entry for the same model';
          END IF;
          IF TG_OP = 'UPDATE' AND (NEW.ledger_id = OLD.ledger_id OR NOT EXISTS (SELECT 1 FROM ledger WHERE id = NEW.ledger_id AND model = NEW.model)) THEN
            RAISE EXCEPTION 'alias moves need a new ledger entry for the same model';
          END IF;
          RETURN NEW;
        END $$;
      CREATE TRIGGER aliases_need_ledger BEFORE INSERT OR UPDATE OR DELETE ON aliases FOR EACH ROW EXECUTE FUNCTION retrain_aliases_need_ledger();

      CREATE TABLE spend (
        id INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        model TEXT COLLATE "C" NOT NULL,
        cost_usd DOUBLE PRECISION NOT NULL CHECK (cost_usd >= 0),
        month TEXT COLLATE "C" NOT NULL,
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
    sql: `
      CREATE TABLE config_revisions (
        model TEXT COLLATE "C" NOT NULL,
        revision TEXT COLLATE "C" NOT NULL,
        spec_json TEXT NOT NULL,
        first_seen_at TEXT NOT NULL,
        PRIMARY KEY (model, revision)
      );
    `,
  },
  {
    version: 3,
    name: 'monitor state',
    sql: `
      CREATE TABLE monitor_state (
        model TEXT COLLATE "C" NOT NULL,
        name TEXT COLLATE "C" NOT NULL,
        state_json TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (model, name)
      );
    `,
  },
  {
    version: 4,
    name: 'drift violations',
    sql: `
      CREATE TABLE drift_violations (
        id INTEGER GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        model TEXT COLLATE "C" NOT NULL,
        checked_at TEXT COLLATE "C" NOT NULL,
        feature TEXT COLLATE "C" NOT NULL,
        statistic TEXT COLLATE "C" NOT NULL CONSTRAINT drift_violations_statistic CHECK (statistic IN ('psi', 'ks', 'wasserstein', 'jensen_shannon', 'chi_square')),
        score DOUBLE PRECISION NOT NULL,
        threshold DOUBLE PRECISION NOT NULL,
        importance_share DOUBLE PRECISION,
        champion_version INTEGER,
        decision TEXT NOT NULL CHECK (decision IN ('reported_only', 'retrain_warranted', 'retrain_started', 'held')),
        decision_reason TEXT NOT NULL,
        decided_at TEXT COLLATE "C" NOT NULL,
        UNIQUE (model, checked_at, feature, statistic)
      );
      CREATE INDEX drift_violations_feature ON drift_violations (model, feature, checked_at);
    `,
  },
  {
    version: 5,
    name: 'data-quality violations',
    // PostgreSQL changes a CHECK constraint in place (SQLite rebuilds the table).
    sql: `
      ALTER TABLE drift_violations DROP CONSTRAINT drift_violations_statistic;
      ALTER TABLE drift_violations ADD CONSTRAINT drift_violations_statistic
        CHECK (statistic IN ('psi', 'ks', 'wasserstein', 'jensen_shannon', 'chi_square', 'missing_rate', 'out_of_range', 'unseen_categories', 'mean_shift'));
    `,
  },
];

export const PG_SCHEMA_VERSION = PG_MIGRATIONS[PG_MIGRATIONS.length - 1].version;

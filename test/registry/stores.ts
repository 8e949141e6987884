/**
 * The registry stores the registry suites run against: SQLite (a file per test) and PostgreSQL (a
 * database per test on the server test/helpers/postgres.ts starts). Each suite body takes one of
 * these and runs the same tests on it; what only one store has stays in that store's own tests.
 */
import path from 'node:path';
import { MlflowRegistry, PostgresRegistry, type Registry, SqliteRegistry } from '../../src/backends/registry/index.js';
import { mlflowPrefix, startMlflow } from '../helpers/mlflow.js';
import { postgresDatabase, sql } from '../helpers/postgres.js';

export interface RegistryStore {
  name: 'SQLite' | 'PostgreSQL' | 'MLflow';
  /** A fresh, empty registry; `where` names its database (a file path or a URL) for reopening. */
  open(options: { now?: () => Date; dir: string }): Promise<{ registry: Registry; where: string }>;
  /** The registry over an existing database. */
  reopen(where: string, options?: { now?: () => Date }): Registry;
  /** Runs SQL on the database directly (as another program could), returning its rows. */
  query(where: string, text: string): Promise<Array<Record<string, unknown>>>;
  /** SQL that makes every later UPDATE of an alias fail with "disk on fire", and the SQL that undoes it. */
  failAliasUpdates: { create: string; drop: string };
}

export const sqliteStore: RegistryStore = {
  name: 'SQLite',
  async open({ now, dir }) {
    const where = path.join(dir, `registry-${Date.now()}-${Math.random()}.db`);
    return { registry: new SqliteRegistry({ path: where, now }), where };
  },
  reopen: (where, options = {}) => new SqliteRegistry({ path: where, now: options.now }),
  async query(where, text) {
    const r = new SqliteRegistry({ path: where });
    try {
      const stmt = r.db.prepare(text);
      if (stmt.reader) return stmt.all() as Array<Record<string, unknown>>;
      stmt.run();
      return [];
    } finally {
      r.close();
    }
  },
  failAliasUpdates: {
    create: `CREATE TRIGGER fail_alias BEFORE UPDATE ON aliases BEGIN SELECT RAISE(ABORT, 'disk on fire'); END`,
    drop: 'DROP TRIGGER fail_alias',
  },
};

export const postgresStore: RegistryStore = {
  name: 'PostgreSQL',
  async open({ now }) {
    const where = await postgresDatabase('registry');
    return { registry: new PostgresRegistry({ url: where, now }), where };
  },
  reopen: (where, options = {}) => new PostgresRegistry({ url: where, now: options.now }),
  query: (where, text) => sql(where, text),
  failAliasUpdates: {
    create: `CREATE FUNCTION fail_alias() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk on fire'; END $$;
             CREATE TRIGGER fail_alias BEFORE UPDATE ON aliases FOR EACH ROW EXECUTE FUNCTION fail_alias()`,
    drop: 'DROP TRIGGER fail_alias ON aliases; DROP FUNCTION fail_alias()',
  },
};

/** Where an MLflow registry of the tests is: its server, its models' prefix, its own store (SQLite). */
interface MlflowWhere {
  uri: string;
  prefix: string;
  db: string;
}

/** An MLflow registry over its inner SQLite store (`where` is JSON: the server, the prefix, the file). */
export function openMlflowRegistry(where: string, options: { now?: () => Date } = {}): MlflowRegistry {
  const w = JSON.parse(where) as MlflowWhere;
  const inner = new SqliteRegistry({ path: w.db, now: options.now });
  try {
    return new MlflowRegistry({ trackingUri: w.uri, inner, modelPrefix: w.prefix, cacheDir: path.join(path.dirname(w.db), 'mlflow-cache'), now: options.now });
  } catch (err) {
    inner.close();
    throw err;
  }
}

/**
 * MLflow (versions and aliases on the server test/helpers/mlflow.ts starts, a fresh model prefix
 * per registry) over SQLite for the ledger and the rest: the SQL the suite runs goes to that file.
 */
export const mlflowStore: RegistryStore = {
  name: 'MLflow',
  async open({ now, dir }) {
    const where = JSON.stringify({ uri: await startMlflow(), prefix: mlflowPrefix('reg'), db: path.join(dir, `mlflow-registry-${Date.now()}-${Math.random()}.db`) });
    return { registry: openMlflowRegistry(where, { now }), where };
  },
  reopen: (where, options = {}) => openMlflowRegistry(where, options),
  query: (where, text) => sqliteStore.query((JSON.parse(where) as MlflowWhere).db, text),
  failAliasUpdates: sqliteStore.failAliasUpdates,
};

export const REGISTRY_STORES: readonly RegistryStore[] = [sqliteStore, postgresStore, mlflowStore];

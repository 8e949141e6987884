/** The model registry: versions, aliases with their ledger, spend, drift violations. */
export { MIGRATIONS, SCHEMA_VERSION, type Migration } from './migrations.js';
export {
  daysTouched, lastDays, ledgerEntries, listModels, recurrenceText, showModel, violationSummary, type ModelDetail, type ViolationSummary,
} from './queries.js';
export { monthKey, SqliteRegistry, type SqliteRegistryOptions } from './sqlite.js';
export * from './types.js';
export { openRegistry } from './open.js';
export { PostgresRegistry, type PostgresRegistryOptions } from './postgres.js';
export { MlflowRegistry, type MlflowRegistryOptions } from './mlflow.js';

/** The model registry: versions, aliases with their ledger, spend. */
export { MIGRATIONS, SCHEMA_VERSION, type Migration } from './migrations.js';
export { ledgerEntries, listModels, showModel, type ModelDetail } from './queries.js';
export { monthKey, SqliteRegistry, type SqliteRegistryOptions } from './sqlite.js';
export * from './types.js';

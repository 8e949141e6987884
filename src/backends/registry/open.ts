import path from 'node:path';
import { runtimeSettings, type RuntimeSettings } from '../../config/settings.js';
import { PostgresRegistry } from './postgres.js';
import { SqliteRegistry } from './sqlite.js';
import type { Registry } from './types.js';

/**
 * The registry the settings select: PostgreSQL when RETRAIN_REGISTRY_URL is set (shared by every
 * process that points at it), else SQLite in `<dataDir>/registry.db`.
 */
export function openRegistry(settings: Pick<RuntimeSettings, 'dataDir' | 'storage'> = runtimeSettings(), options: { now?: () => Date } = {}): Registry {
  if (settings.storage.registry === 'postgres' && settings.storage.registryUrl) return new PostgresRegistry({ url: settings.storage.registryUrl, now: options.now });
  return new SqliteRegistry({ path: path.join(settings.dataDir, 'registry.db'), now: options.now });
}

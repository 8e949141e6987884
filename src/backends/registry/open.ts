import path from 'node:path';
import { ConfigError } from '../../config/load.js';
import { runtimeSettings, type RuntimeSettings } from '../../config/settings.js';
import { MlflowUnreachableError } from './mlflow-client.js';
import { MlflowRegistry } from './mlflow.js';
import { PostgresRegistry } from './postgres.js';
import { SqliteRegistry } from './sqlite.js';
import type { Registry } from './types.js';

/**
 * The registry the settings select: MLflow's Model Registry when RETRAIN_MLFLOW_TRACKING_URI is set
 * (versions and aliases there; ledger, spend and the rest in the store below), PostgreSQL when
 * RETRAIN_REGISTRY_URL is set (shared by every process that points at it), else SQLite in
 * `<dataDir>/registry.db`.
 */
export function openRegistry(settings: Pick<RuntimeSettings, 'dataDir' | 'storage'> = runtimeSettings(), options: { now?: () => Date } = {}): Registry {
  const own = () =>
    settings.storage.registryUrl
      ? new PostgresRegistry({ url: settings.storage.registryUrl, now: options.now })
      : new SqliteRegistry({ path: path.join(settings.dataDir, 'registry.db'), now: options.now });
  if (settings.storage.registry === 'mlflow' && settings.storage.mlflowTrackingUri) {
    const inner = own();
    try {
      return new MlflowRegistry({
        trackingUri: settings.storage.mlflowTrackingUri,
        inner,
        cacheDir: path.join(settings.dataDir, 'artifacts', '.mlflow-cache'),
        modelPrefix: settings.storage.mlflowModelPrefix,
        now: options.now,
      });
    } catch (err) {
      inner.close();
      // An MLflow that does not answer is a setting to fix: one line naming the variable.
      if (err instanceof MlflowUnreachableError) throw new ConfigError('environment', [`RETRAIN_MLFLOW_TRACKING_URI: ${err.message}`]);
      throw err;
    }
  }
  if (settings.storage.registry === 'postgres' && settings.storage.registryUrl) return new PostgresRegistry({ url: settings.storage.registryUrl, now: options.now });
  return new SqliteRegistry({ path: path.join(settings.dataDir, 'registry.db'), now: options.now });
}

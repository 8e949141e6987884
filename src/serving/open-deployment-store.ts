import path from 'node:path';
import type { StorageSettings } from '../config/settings.js';
import { type DeploymentStore, SqliteDeploymentStore } from './deployment-store.js';
import { PostgresDeploymentStore } from './deployment-store-postgres.js';

/**
 * The deployment store the settings select: PostgreSQL (shared by gateway replicas) when
 * RETRAIN_DEPLOYMENT_URL or RETRAIN_REGISTRY_URL is set, else `<dataDir>/serving.db`.
 */
export function openDeploymentStore(dataDir: string, storage?: Pick<StorageSettings, 'deployments' | 'deploymentsUrl' | 'deploymentPollMs'>): DeploymentStore {
  if (storage?.deployments === 'postgres' && storage.deploymentsUrl) return new PostgresDeploymentStore({ url: storage.deploymentsUrl, dataDir, pollMs: storage.deploymentPollMs });
  return new SqliteDeploymentStore(path.join(dataDir, 'serving.db'));
}

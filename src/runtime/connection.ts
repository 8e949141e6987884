import { loadClientConnectConfig } from '@temporalio/envconfig';
import { Client, Connection } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { dataConverterFromEnv } from '../security/payload-codec.js';

/**
 * Temporal connection settings come from @temporalio/envconfig alone: TEMPORAL_ADDRESS,
 * TEMPORAL_NAMESPACE, TEMPORAL_API_KEY, TEMPORAL_TLS_* or a TOML profile (TEMPORAL_PROFILE), so the
 * worker, the client and the CLI always agree.
 */
export interface TemporalTarget {
  address: string;
  namespace: string;
  connectionOptions: ReturnType<typeof loadClientConnectConfig>['connectionOptions'];
}

export function temporalTarget(overrides: { address?: string; namespace?: string } = {}): TemporalTarget {
  const config = loadClientConnectConfig();
  const address = overrides.address ?? config.connectionOptions.address ?? 'localhost:7233';
  return {
    address,
    namespace: overrides.namespace ?? config.namespace ?? 'default',
    connectionOptions: { ...config.connectionOptions, address },
  };
}

/** A client; the CLI uses a short connect timeout so "no server" is answered quickly. */
export async function connectClient(target: TemporalTarget = temporalTarget(), connectTimeout: string | number = '10s'): Promise<Client> {
  const connection = await Connection.connect({ ...target.connectionOptions, connectTimeout });
  return new Client({ connection, namespace: target.namespace, dataConverter: dataConverterFromEnv() }); // payload encryption when RETRAIN_PAYLOAD_KEY is set
}

export async function connectWorker(target: TemporalTarget = temporalTarget()): Promise<NativeConnection> {
  // Loaded here, not at the top: every client command imports this module and needs no worker.
  const { NativeConnection } = await import('@temporalio/worker');
  return NativeConnection.connect(target.connectionOptions);
}

/** Whether the user pointed us at a server of their own (then `npm run dev` starts none). */
export function externalServerConfigured(): boolean {
  return Boolean(loadClientConnectConfig().connectionOptions.address);
}

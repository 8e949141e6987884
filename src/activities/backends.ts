import type { Client } from '@temporalio/client';
import type { RetrainConfig } from '../config/schema.js';
import type { RuntimeSettings } from '../config/settings.js';
import { createLakeBackend } from '../backends/data/lake/backend.js';
import type { DataBackend } from '../backends/data/types.js';
import { openRegistry } from '../backends/registry/open.js';
import type { Registry } from '../backends/registry/types.js';
import { GatewayClient, type ServingBackend } from '../backends/serving/gateway-client.js';
import type { Logger } from '../runtime/logger.js';
import { SpecCatalog } from './spec-catalog.js';

/** The backends one worker process uses, opened once and shared by its activities. */
export interface Backends {
  config: RetrainConfig;
  settings: RuntimeSettings;
  logger: Logger;
  data: DataBackend;
  registry: Registry;
  /** The model specs this worker trusts (its own config), looked up by the name and revision a run carries. */
  specs: SpecCatalog;
  servingFor(model: string): ServingBackend;
  /** Temporal client for activities that start workflows (the monitor's pipeline start). */
  client?: Client;
  close(): Promise<void>;
}

export function openBackends(options: { config: RetrainConfig; settings: RuntimeSettings; logger: Logger; client?: Client }): Backends {
  const data = createLakeBackend({ dataDir: options.settings.dataDir, store: options.settings.lakeStore });
  const registry = openRegistry(options.settings);
  const specs = new SpecCatalog(options.config, registry);
  const gateways = new Map<string, GatewayClient>();
  return {
    ...options,
    data,
    registry,
    specs,
    servingFor(model) {
      const { spec } = specs.require(model);
      const url = spec.serving.url ?? options.settings.gatewayUrl;
      let client = gateways.get(url);
      if (!client) gateways.set(url, (client = new GatewayClient(url, process.env.RETRAIN_ADMIN_TOKEN)));
      return client;
    },
    async close() {
      await data.close();
      registry.close();
    },
  };
}

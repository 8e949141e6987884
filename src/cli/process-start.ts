import type { RuntimeSettings } from '../config/settings.js';
import type { ProcessContext } from '../processes.js';
import type { PortNeed } from '../runtime/dev-server.js';
import type { GlobalOptions } from './options.js';
import { withClient } from './temporal-client.js';

/**
 * What `retrain dev` and `retrain worker` check before the Temporal Runtime is installed (once it
 * is, a refusal would not end the process): the worker's metrics port, whose server they join, and
 * a clear line when the Runtime cannot bind the metrics port after all.
 */

/** The worker's Prometheus endpoint, bound as the Temporal Runtime is installed (dev and worker). */
export function metricsPort(settings: RuntimeSettings): PortNeed {
  return { port: settings.metricsPort, host: process.env.RETRAIN_METRICS_HOST ?? '127.0.0.1', what: "the worker's Prometheus metrics", envVar: 'RETRAIN_METRICS_PORT', alternative: '0 to turn them off' };
}

/**
 * A worker joining a server it did not start is refused when that server is another data
 * directory's `npm run dev` stack (exit 2; see stack-guard.ts).
 */
export async function refuseOtherStack(dataDir: string): Promise<void> {
  const { ConfigError } = await import('../config/load.js');
  const { temporalTarget } = await import('../runtime/connection.js');
  const { joinProblem } = await import('./stack-guard.js');
  const target = temporalTarget();
  const problem = await withClient((client) => joinProblem(client.connection, target, dataDir), { target, connectTimeout: '10s' });
  if (problem) throw new ConfigError('environment', [problem]);
}

/**
 * The process context; the Runtime binds the Prometheus port as it is installed, and the core's
 * "Address already in use" names neither the port nor the variable: this line does.
 */
export async function contextOrPortError(options: GlobalOptions, name: string): Promise<ProcessContext> {
  const { ConfigError } = await import('../config/load.js');
  const { runtimeSettings } = await import('../config/settings.js');
  const { processContext } = await import('../processes.js');
  try {
    return processContext({ configFile: options.config, name });
  } catch (err) {
    if (!/prometheus[^]*address already in use/i.test((err as Error).message)) throw err;
    const { portInUseLine } = await import('../runtime/dev-server.js'); // here only: it loads the SDK's testing package
    throw new ConfigError('environment', [portInUseLine(metricsPort(runtimeSettings()))]);
  }
}

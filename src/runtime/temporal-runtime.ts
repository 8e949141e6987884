import type { LogLevel, LogMetadata, Logger as TemporalLogger } from '@temporalio/common';
import { Runtime } from '@temporalio/worker';
import type { Logger } from './logger.js';

/** Routes the SDK's logs (worker, workflow and activity loggers) into pino, as one stream of JSON lines. */
export class PinoTemporalLogger implements TemporalLogger {
  constructor(private readonly pino: Logger) {}

  log(level: LogLevel, message: string, meta?: LogMetadata): void {
    const method = level.toLowerCase() as 'trace' | 'debug' | 'info' | 'warn' | 'error';
    this.pino[method](meta ?? {}, message);
  }
  trace(message: string, meta?: LogMetadata): void {
    this.log('TRACE', message, meta);
  }
  debug(message: string, meta?: LogMetadata): void {
    this.log('DEBUG', message, meta);
  }
  info(message: string, meta?: LogMetadata): void {
    this.log('INFO', message, meta);
  }
  warn(message: string, meta?: LogMetadata): void {
    this.log('WARN', message, meta);
  }
  error(message: string, meta?: LogMetadata): void {
    this.log('ERROR', message, meta);
  }
}

export interface RuntimeInstallOptions {
  logger: Logger;
  /** Port of the worker's Prometheus endpoint; 0 turns it off. */
  metricsPort: number;
  /** Address of the Prometheus endpoint (default RETRAIN_METRICS_HOST, else loopback: metrics describe the business). */
  metricsHost?: string;
  /** Level of the SDK core's own log lines (default WARN). */
  coreLogLevel?: 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
}

/**
 * Installs the process-wide Temporal Runtime once: pino as its logger (native core logs forwarded
 * too) and the Prometheus exporter, which also serves the metrics our activities and workflows emit
 * through the SDK's metric meter, so one endpoint has everything.
 */
export function installTemporalRuntime(options: RuntimeInstallOptions): Runtime {
  if (Runtime._instance) return Runtime._instance;
  return Runtime.install({
    logger: new PinoTemporalLogger(options.logger),
    // The worker shuts down on these; dev.ts and worker.ts orchestrate the rest of the stop.
    shutdownSignals: [],
    telemetryOptions: {
      logging: { forward: {}, filter: { core: options.coreLogLevel ?? 'WARN', other: 'ERROR' } },
      metrics:
        options.metricsPort > 0
          ? { prometheus: { bindAddress: `${options.metricsHost ?? process.env.RETRAIN_METRICS_HOST ?? '127.0.0.1'}:${options.metricsPort}` }, metricPrefix: 'temporal_' }
          : undefined,
    },
  });
}

import type { Command } from 'commander';
import { configOption } from '../options.js';

/** `retrain serve`: the inference gateway, until Ctrl-C (which flushes the prediction log and exits 0). */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the inference gateway (predictions, feedback, traffic split; Ctrl-C flushes and stops)')
    .option('--port <port>', 'port to listen on (default $RETRAIN_GATEWAY_PORT or 8080)')
    .option('--host <host>', 'address to bind (0.0.0.0 to serve other hosts)', '127.0.0.1')
    .action(async (opts: { port?: string; host: string }) => {
      // Loaded on use, not at every start (see main.ts).
      const { ConfigError, loadConfig } = await import('../../config/load.js');
      const { runtimeSettings } = await import('../../config/settings.js');
      const { createLogger, setLogger } = await import('../../runtime/logger.js');
      const { startGateway } = await import('../../serving/gateway.js');
      const options = configOption(program);
      const config = loadConfig(options.config);
      const settings = runtimeSettings();
      const port = opts.port === undefined ? settings.gatewayPort : Number(opts.port);
      if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new ConfigError('--port', [`expected a port number 0-65535, got "${opts.port}"`]);
      const logger = createLogger({ level: settings.logLevel, name: 'gateway' });
      setLogger(logger);
      const gateway = await startGateway({ config, settings, logger, port, host: opts.host });
      process.stdout.write(
        [
          '',
          `  Gateway           ${gateway.url}`,
          `  Predict           POST ${gateway.url}/v1/models/<model>/predict`,
          `  Metrics           ${gateway.url}/metrics`,
          `  Models            ${config.models.map((m) => m.name).join(', ')}`,
          `  Control plane     ${gateway.ctx.adminToken ? 'enabled (bearer RETRAIN_ADMIN_TOKEN)' : 'disabled: set RETRAIN_ADMIN_TOKEN'}`,
          '',
        ].join('\n') + '\n',
      );
      let stopping = false;
      for (const signal of ['SIGINT', 'SIGTERM'] as const) {
        process.on(signal, () => {
          if (stopping) process.exit(130); // a second Ctrl-C does not wait for the flush
          stopping = true;
          logger.info({ signal }, 'Stopping the gateway: flushing the prediction log (Ctrl-C again to force)');
          gateway.close().then(
            () => process.exit(0),
            (err) => {
              logger.error({ err }, 'Error while stopping the gateway');
              process.exit(1);
            },
          );
        });
      }
    });
}

import type { Command } from 'commander';
import { configOption } from '../options.js';
import { onShutdownSignal } from '../shutdown.js';

/** `retrain serve`: the inference gateway, until Ctrl-C (which flushes the prediction log and exits 0). */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the inference gateway (predictions, feedback, traffic split; Ctrl-C flushes and stops)')
    .option('--port <port>', 'port to listen on (default $RETRAIN_GATEWAY_PORT or 8080)')
    .option('--host <host>', 'address to bind (0.0.0.0 to serve other hosts)', '127.0.0.1')
    .action(async (opts: { port?: string; host: string }) => {
      // Loaded on use, not at every start (see main.ts).
      const { loadConfig } = await import('../../config/load.js');
      const { portOption } = await import('../../config/port.js');
      const { runtimeSettings } = await import('../../config/settings.js');
      const { createLogger, setLogger } = await import('../../runtime/logger.js');
      const { startGateway } = await import('../../serving/gateway.js');
      const options = configOption(program);
      const config = loadConfig(options.config);
      const settings = runtimeSettings();
      const port = portOption(opts.port, settings.gatewayPort);
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
      onShutdownSignal(() => gateway.close(), { logger, what: 'the gateway', doing: 'flushing the prediction log' });
    });
}

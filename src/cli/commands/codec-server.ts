import type { Command } from 'commander';
import { onShutdownSignal } from '../shutdown.js';

/**
 * `retrain codec-server`: decrypts payloads for the Temporal web UI and `temporal --codec-endpoint`,
 * with the keys of RETRAIN_PAYLOAD_KEY / RETRAIN_PAYLOAD_OLD_KEYS, until Ctrl-C.
 */
export function registerCodecServerCommand(program: Command): void {
  program
    .command('codec-server')
    .description('serve /codec/decode and /codec/encode so the Temporal web UI and CLI can show encrypted payloads (needs RETRAIN_PAYLOAD_KEY)')
    .option('--port <port>', 'port to listen on (default $RETRAIN_CODEC_PORT or 8091)')
    .option('--host <host>', 'address to bind; anything but loopback needs RETRAIN_CODEC_TOKEN', '127.0.0.1')
    .option('--ui-origin <origin>', 'origin of the Temporal web UI allowed to call it (repeatable; default http://localhost:$RETRAIN_UI_PORT)', (value: string, previous: string[] = []) => [...previous, value])
    .action(async (opts: { port?: string; host: string; uiOrigin?: string[] }) => {
      // Loaded on use, not at every start (see main.ts).
      const { ConfigError } = await import('../../config/load.js');
      const { portOption } = await import('../../config/port.js');
      const { runtimeSettings } = await import('../../config/settings.js');
      const { createLogger, setLogger } = await import('../../runtime/logger.js');
      const { startCodecServer } = await import('../../security/codec-server.js');
      const { payloadCodecFromEnv } = await import('../../security/payload-codec.js');
      const settings = runtimeSettings();
      const port = portOption(opts.port, settings.codecPort);
      const codec = payloadCodecFromEnv();
      if (!codec) throw new ConfigError('environment', ['RETRAIN_PAYLOAD_KEY is not set: the codec server needs the payload key(s) to decrypt with (see RETRAIN_PAYLOAD_KEY, RETRAIN_PAYLOAD_OLD_KEYS)']);
      const uiOrigins = opts.uiOrigin?.length ? opts.uiOrigin : [`http://localhost:${settings.uiPort}`];
      const token = process.env.RETRAIN_CODEC_TOKEN ?? '';
      const logger = createLogger({ level: settings.logLevel, name: 'codec-server' });
      setLogger(logger);
      const server = await startCodecServer({ codec, token, host: opts.host, port, uiOrigins, logger });
      const keys = `${codec.keyId ? `encrypt with "${codec.keyId}"; ` : 'encrypt: off (decrypt-only); '}decrypt ${codec.keyIds.map((id) => `"${id}"`).join(', ')}`;
      process.stdout.write(
        [
          '',
          `  Codec endpoint    ${server.endpoint}  (POST /decode, /encode)`,
          `  Keys              ${keys}`,
          `  UI origins        ${uiOrigins.join(', ')}`,
          `  Authorization     ${token ? 'Bearer $RETRAIN_CODEC_TOKEN' : 'none: loopback requests only (set RETRAIN_CODEC_TOKEN to require a token)'}`,
          `  Web UI            set the codec server to ${server.endpoint} (UI settings), or start the dev server with --ui-codec-endpoint ${server.endpoint}`,
          `  Temporal CLI      temporal --codec-endpoint ${server.endpoint}${token ? ' --codec-auth "Bearer $RETRAIN_CODEC_TOKEN"' : ''} workflow show -w <workflow-id>`,
          '',
        ].join('\n') + '\n',
      );
      onShutdownSignal(() => server.close(), { logger, what: 'the codec server' });
    });
}

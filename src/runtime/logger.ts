import pino, { type Logger } from 'pino';
import pinoPretty from 'pino-pretty';

export type { Logger } from 'pino';

/** Field paths whose values never reach a log line, wherever they appear. */
export const REDACTED_PATHS = [
  'apiKey',
  '*.apiKey',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  '*.headers.authorization',
  'password',
  '*.password',
  'connectionOptions.apiKey',
];

/**
 * One pino logger for the process: JSON lines for machines, pretty output when a person watches a
 * terminal (or RETRAIN_LOG_PRETTY=1). pino-pretty runs in-process so lines are never reordered.
 */
export function createLogger(options: { level?: string; name?: string; pretty?: boolean; destination?: NodeJS.WritableStream } = {}): Logger {
  const level = options.level ?? process.env.RETRAIN_LOG_LEVEL ?? 'info';
  const pretty = options.pretty ?? (process.env.RETRAIN_LOG_PRETTY ? process.env.RETRAIN_LOG_PRETTY === '1' : Boolean(process.stdout.isTTY));
  const base = { level, name: options.name ?? 'retrain', redact: { paths: REDACTED_PATHS, censor: '[redacted]' } };
  if (pretty && !options.destination) {
    return pino(base, prettyStream());
  }
  return options.destination ? pino(base, options.destination as pino.DestinationStream) : pino(base);
}

function prettyStream(): pino.DestinationStream {
  return pinoPretty({ colorize: true, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname' });
}

let processLogger: Logger | undefined;

/** The process-wide logger, created on first use with the environment's settings. */
export function logger(): Logger {
  processLogger ??= createLogger();
  return processLogger;
}

/** Replaces the process logger (tests capture lines this way). */
export function setLogger(next: Logger): void {
  processLogger = next;
}

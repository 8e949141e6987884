import type { Logger } from '../runtime/logger.js';

/** What a signal handler needs of the process; tests pass a stand-in. */
export interface SignalTarget {
  on(signal: NodeJS.Signals, listener: () => void): unknown;
  off(signal: NodeJS.Signals, listener: () => void): unknown;
  exit(code: number): never | void;
}

export interface ShutdownOptions {
  /** Says what is stopping, and any error of the stop; without one the stop is quiet and an error goes to stderr. */
  logger?: Pick<Logger, 'info' | 'error'>;
  /** What stops, for the log ("the gateway"); the log says "Stopping" alone without it. */
  what?: string;
  /** What the stop does meanwhile, for the log ("flushing the prediction log"). */
  doing?: string;
  /**
   * true (the default): the process exits once the stop is done, 0, or 1 if it failed. false: the
   * stop only asks the command to finish (e.g. aborts a loop) and the command ends on its own.
   */
  exit?: boolean;
  process?: SignalTarget;
}

/**
 * Every long-running command (dev, worker, serve, serve-reports, codec-server, simulate) stops the
 * same way: the first Ctrl-C (SIGINT) or SIGTERM runs `stop` once; a second one exits at once with
 * 130, without waiting for the stop. Returns a function that removes the handlers.
 */
export function onShutdownSignal(stop: () => Promise<void> | void, options: ShutdownOptions = {}): () => void {
  const proc = options.process ?? process;
  const exit = options.exit ?? true;
  const name = options.what ? ` ${options.what}` : '';
  let stopping = false;
  const handler = (signal: NodeJS.Signals) => () => {
    if (stopping) {
      proc.exit(130);
      return;
    }
    stopping = true;
    options.logger?.info({ signal }, `Stopping${name}${options.doing ? `: ${options.doing}` : ''} (Ctrl-C again to force)`);
    Promise.resolve()
      .then(stop)
      .then(
        () => {
          if (exit) proc.exit(0);
        },
        (err: unknown) => {
          if (options.logger) options.logger.error({ err }, `Error while stopping${name}`);
          else process.stderr.write(`retrain: error while stopping${name}: ${(err as Error)?.message ?? String(err)}\n`);
          proc.exit(1);
        },
      );
  };
  const listeners = (['SIGINT', 'SIGTERM'] as const).map((signal) => [signal, handler(signal)] as const);
  for (const [signal, listener] of listeners) proc.on(signal, listener);
  return () => {
    for (const [signal, listener] of listeners) proc.off(signal, listener);
  };
}

import { ConfigError } from '../config/load.js';
import { DecisionRefusedError, RunEndedError, RunNotFoundError } from '../client-errors.js';
import { TemporalBinaryError } from '../runtime/temporal-binaries.js';

/**
 * Exit codes scripts can rely on (listed in the README's "Steering runs"): 2 also for an unknown
 * model and for a port `retrain dev` needs that is taken; 3 the model has no run at all; 4 also
 * when its latest run has ended, so nothing waits for the decision.
 */
export const EXIT = { ok: 0, failure: 1, badInput: 2, notFound: 3, refused: 4, unavailable: 5 } as const;

export class RefusedError extends Error {
  override readonly name = 'RefusedError';
}

/** Bad input named in the message itself (exit 2), e.g. a file `data import` cannot take. */
export class BadInputError extends Error {
  override readonly name = 'BadInputError';
}

export interface OutputOptions {
  json?: boolean;
}

/** Prints a result: JSON for scripts, or the human text. */
export function emit(options: OutputOptions, value: unknown, human: () => string): void {
  process.stdout.write(options.json ? `${JSON.stringify(value, null, 2)}\n` : `${human()}\n`);
}

/** One clear line (or a few, for several config problems) and an exit code; never a stack trace. */
export function exitCodeFor(err: unknown): { code: number; message: string } {
  if (err instanceof ConfigError || err instanceof BadInputError) return { code: EXIT.badInput, message: err.message };
  if (err instanceof TemporalBinaryError) return { code: EXIT.unavailable, message: err.message };
  if (err instanceof RunNotFoundError) return { code: EXIT.notFound, message: err.message };
  if (err instanceof RunEndedError) return { code: EXIT.refused, message: err.message };
  if (err instanceof RefusedError) return { code: EXIT.refused, message: err.message };
  if (err instanceof DecisionRefusedError) return { code: EXIT.refused, message: `refused: ${err.message}` };
  const e = err as Error & { code?: string | number; cause?: Error; details?: string };
  const text = `${e?.message ?? String(err)} ${e?.cause?.message ?? ''}`;
  if (/UNAVAILABLE|ECONNREFUSED|failed to connect|Connection refused|tcp connect error/i.test(text)) {
    return { code: EXIT.unavailable, message: `cannot reach the Temporal server (${e.message.split('\n')[0]}); is \`npm run dev\` running, or TEMPORAL_ADDRESS set?` };
  }
  return { code: EXIT.failure, message: e?.message?.split('\n')[0] ?? String(err) };
}

import { ApplicationFailure } from '@temporalio/common';
import { DataInputError } from '../backends/data/types.js';
import { ModelLoadError } from '../backends/models/errors.js';
import { RegistryError } from '../backends/registry/types.js';
import { ServingError } from '../backends/serving/gateway-client.js';
import { DatasetError } from '../backends/training/parquet.js';
import { TrainingError, TrainingInputError } from '../backends/training/types.js';
import { DriftInputError } from '../drift/errors.js';

/**
 * The one error protocol from the backends to Temporal. Every activity the worker registers runs
 * through it (`withFailureProtocol`, applied by buildActivities), so an activity never maps errors
 * by hand: it lets the backend's error through, and this table decides.
 *
 * - A refusal that retrying as-is cannot change (a registry refusal, input the data layer rejects,
 *   an artifact that does not load, a gateway 4xx) becomes a non-retryable ApplicationFailure whose
 *   `type` names the error class (and its code), with the backend's message unchanged.
 * - A training failure follows the trainer's own verdict (`TrainingError.nonRetryable`); its
 *   message carries the trainer's output tail so the reason shows in the UI.
 * - Anything else (I/O hiccups, a gateway 5xx/429 or timeout, SQLite busy, an ApplicationFailure an
 *   activity threw on purpose) is rethrown unchanged: Temporal retries it under the caller's policy,
 *   or, for an ApplicationFailure, honours the retryability it already carries.
 *
 * Business rejections are results, never errors; this only decides what a failure means.
 */
export const FAILURE_TYPES = {
  /** RegistryError, by code: `Registry:hash_mismatch`, `Registry:unknown_version`, ... */
  registry: (code: string) => `Registry:${code}`,
  /** DataInputError: the data layer refused its input (no labelled rows, a bad window, a bad column). */
  dataInput: 'DataInput',
  /** DatasetError: a dataset file is missing or lacks a column. */
  dataset: 'Dataset',
  /** ModelLoadError, by code: `ModelLoad:invalid`, `ModelLoad:hash_mismatch`, ... */
  modelLoad: (code: string) => `ModelLoad:${code}`,
  /** TrainingError, by kind, retryable or not as the trainer decided: `TrainingFailed:crashed`, ... */
  training: (kind: string) => `TrainingFailed:${kind}`,
  /** TrainingInputError: the data or spec cannot be trained on as given. */
  trainingInput: 'TrainingInput',
  /** DriftInputError: a statistic was given an argument it cannot measure. */
  driftInput: 'DriftInput',
  /** ServingError with a 4xx (not 429): the gateway refused the request itself. */
  servingRefused: 'ServingRefused',
} as const;

/** What the protocol makes of one error: a failure to throw, or the error itself (retryable). */
export function activityFailureOf(err: unknown): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof RegistryError) return ApplicationFailure.nonRetryable(err.message, FAILURE_TYPES.registry(err.code));
  if (err instanceof DataInputError) return ApplicationFailure.nonRetryable(err.message, FAILURE_TYPES.dataInput);
  if (err instanceof DatasetError) return ApplicationFailure.nonRetryable(err.message, FAILURE_TYPES.dataset);
  if (err instanceof ModelLoadError) return ApplicationFailure.nonRetryable(err.message, FAILURE_TYPES.modelLoad(err.code));
  if (err instanceof TrainingInputError) return ApplicationFailure.nonRetryable(err.message, FAILURE_TYPES.trainingInput);
  if (err instanceof DriftInputError) return ApplicationFailure.nonRetryable(err.message, FAILURE_TYPES.driftInput);
  if (err instanceof TrainingError) {
    const message = `${err.message}${err.logTail.length ? `\n--- trainer output (tail) ---\n${err.logTail.join('\n')}` : ''}`;
    const type = FAILURE_TYPES.training(err.kind);
    return err.nonRetryable ? ApplicationFailure.nonRetryable(message, type) : ApplicationFailure.retryable(message, type);
  }
  if (err instanceof ServingError && !err.retryable) return ApplicationFailure.nonRetryable(err.message, FAILURE_TYPES.servingRefused);
  return err;
}

/** Throws what the protocol makes of `err` (see activityFailureOf). */
export function toActivityFailure(err: unknown): never {
  throw activityFailureOf(err);
}

/** The same activities, each one's failures passed through the protocol. Names and arguments are unchanged. */
export function withFailureProtocol<T extends object>(activities: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] =
      typeof fn === 'function'
        ? async (...args: unknown[]) => {
            try {
              return await (fn as (...a: unknown[]) => unknown)(...args);
            } catch (err) {
              return toActivityFailure(err);
            }
          }
        : fn;
  }
  return wrapped as T;
}

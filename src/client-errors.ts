/**
 * The errors client calls raise for people to read, in a module of their own: the CLI's error
 * printer needs them for every command, and importing them must not load the Temporal client.
 */

/** No pipeline run of the model exists (or none is waiting for what was asked). */
export class RunNotFoundError extends Error {
  override readonly name = 'RunNotFoundError';
}

/** A decision the workflow refused: not an approver, self-approval, or not waiting for one. */
export class DecisionRefusedError extends Error {
  override readonly name = 'DecisionRefusedError';
}

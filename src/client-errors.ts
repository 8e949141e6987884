/**
 * The errors client calls raise for people to read, in a module of their own: the CLI's error
 * printer needs them for every command, and importing them must not load the Temporal client.
 */

/** The model has no pipeline run at all (none was ever started, or its history is past retention). */
export class RunNotFoundError extends Error {
  override readonly name = 'RunNotFoundError';
}

/** The model's latest run has ended: nothing waits for an approval or a canary control. */
export class RunEndedError extends Error {
  override readonly name = 'RunEndedError';
  constructor(
    readonly model: string,
    readonly outcome: string,
    readonly closedAt: string | undefined,
    nothing: string,
  ) {
    super(`the latest run of ${model} has ended (outcome ${outcome}, at ${closedAt ?? 'an unknown time'}): ${nothing}`);
  }
}

/** A decision the workflow refused: not an approver, self-approval, or not waiting for one. */
export class DecisionRefusedError extends Error {
  override readonly name = 'DecisionRefusedError';
}

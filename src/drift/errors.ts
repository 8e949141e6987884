/**
 * Thrown by the pure statistics (psi, ksTest, ...) when an argument cannot
 * produce a meaningful number (empty after dropping missing values,
 * mismatched lengths, out-of-range probabilities). The message always names
 * the offending argument so a pipeline failure is actionable.
 *
 * compareToProfile never throws this for data problems: it reports
 * `insufficient_data` instead, because "no data today" is itself a signal.
 */
export class DriftInputError extends Error {
  readonly argument: string;

  constructor(argument: string, message: string) {
    super(`${argument}: ${message}`);
    this.name = 'DriftInputError';
    this.argument = argument;
  }
}

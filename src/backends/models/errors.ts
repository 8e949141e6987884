/** Why a model artifact was refused; the message names the file and what was wrong. */
export type ModelLoadErrorCode = 'not_found' | 'invalid' | 'unsupported' | 'incompatible' | 'hash_mismatch';

export class ModelLoadError extends Error {
  override readonly name = 'ModelLoadError';
  constructor(
    readonly code: ModelLoadErrorCode,
    message: string,
  ) {
    super(message);
  }
}

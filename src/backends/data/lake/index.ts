import type { ModelSpec } from '../../../config/schema.js';
import type { ImportResult, LakeKind } from '../types.js';
import { LakeDataBackend, type LakeBackendOptions } from './backend.js';

export { LakeDataBackend, createLakeBackend, type LakeBackendOptions } from './backend.js';
export { LakeLayout, type LakeFile } from './layout.js';
export { formatOf } from './importer.js';

/**
 * One-shot import for the CLI (`retrain data import <model> --kind ... FILE`): opens the lake,
 * imports, closes. Throws DataInputError (with a message naming the file and columns) when the
 * file is refused; nothing is written then.
 */
export async function importIntoLake(spec: ModelSpec, kind: LakeKind, file: string, options: LakeBackendOptions = {}): Promise<ImportResult> {
  const backend = new LakeDataBackend(options);
  try {
    return await backend.importFile(spec, kind, file);
  } finally {
    await backend.close();
  }
}

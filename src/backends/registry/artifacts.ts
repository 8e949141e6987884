import { stat } from 'node:fs/promises';
import { ModelLoadError } from '../models/errors.js';
import { artifactPath, loadModel, type LoadModelOptions, resolveArtifact, sha256File } from '../models/load.js';
import type { LoadedModel } from '../models/scorer.js';
import { RegistryError, type ModelVersion, type RegisterVersionInput } from './types.js';

/**
 * A registered version's artifact, checked against what was registered: whichever store keeps the
 * registry, the bytes are on the path the version names and must hash to its content hash.
 */

/** Recomputes the artifact's sha256 and refuses a mismatch or a missing file; returns the artifact path. */
export async function verifyRegisteredArtifact(v: ModelVersion): Promise<string> {
  const file = artifactPath(v.artifactUri);
  if (!(await stat(file).then((s) => s.isFile(), () => false))) {
    throw new RegistryError('artifact_missing', `${v.model} v${v.version}: artifact ${file} is missing`);
  }
  const actual = await sha256File(file);
  if (actual !== v.contentHash) {
    throw new RegistryError('hash_mismatch', `${v.model} v${v.version}: artifact ${file} has sha256 ${actual}, registered ${v.contentHash}; refusing to use a changed artifact`);
  }
  return file;
}

/** Loads a version for scoring, refusing a missing or changed artifact. */
export async function loadRegisteredVersion(v: ModelVersion, options: { spec?: LoadModelOptions['spec'] } = {}): Promise<LoadedModel> {
  try {
    // loadModel hashes the bytes it parses, so what is checked is exactly what is served.
    return await loadModel(v.artifactUri, { sha256: v.contentHash, spec: options.spec });
  } catch (err) {
    if (err instanceof ModelLoadError && err.code === 'hash_mismatch') throw new RegistryError('hash_mismatch', `${v.model} v${v.version}: ${err.message}`);
    if (err instanceof ModelLoadError && err.code === 'not_found') throw new RegistryError('artifact_missing', `${v.model} v${v.version}: ${err.message}`);
    throw err;
  }
}

/** The artifact a version is being registered with: found, its format, and its sha256 (matching the expected one, if given). */
export async function hashNewArtifact(input: Pick<RegisterVersionInput, 'artifactUri' | 'contentHash'>): Promise<{ path: string; format: Awaited<ReturnType<typeof resolveArtifact>>['format']; contentHash: string }> {
  let artifact: Awaited<ReturnType<typeof resolveArtifact>>;
  try {
    artifact = await resolveArtifact(input.artifactUri);
  } catch (err) {
    if (err instanceof ModelLoadError) throw new RegistryError(err.code === 'not_found' ? 'artifact_missing' : 'invalid_input', err.message);
    throw err;
  }
  const contentHash = await sha256File(artifact.path);
  if (input.contentHash && input.contentHash.toLowerCase() !== contentHash) {
    throw new RegistryError('hash_mismatch', `${artifact.path}: sha256 ${contentHash} does not match the expected ${input.contentHash}`);
  }
  return { path: artifact.path, format: artifact.format, contentHash };
}

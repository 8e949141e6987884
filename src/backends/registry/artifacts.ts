import { stat } from 'node:fs/promises';
import { isS3Uri, localArtifact } from '../artifacts/index.js';
import { ModelLoadError } from '../models/errors.js';
import { artifactPath, loadModel, type LoadModelOptions, resolveArtifact, sha256File } from '../models/load.js';
import type { LoadedModel } from '../models/scorer.js';
import { RegistryError, type ModelVersion, type RegisterVersionInput } from './types.js';

/**
 * A registered version's artifact, checked against what was registered: whichever store keeps the
 * registry, the bytes are on the path the version names (or in the s3:// object it names, read
 * through the local cache) and must hash to its content hash.
 */

/**
 * Recomputes the artifact's sha256 and refuses a mismatch or a missing file (or object); returns
 * the local artifact path (for an s3:// URI, its checked copy in the cache).
 */
export async function verifyRegisteredArtifact(v: ModelVersion): Promise<string> {
  const file = isS3Uri(v.artifactUri) ? await fetched(v) : artifactPath(v.artifactUri);
  if (!(await stat(file).then((s) => s.isFile(), () => false))) {
    throw new RegistryError('artifact_missing', `${v.model} v${v.version}: artifact ${file} is missing`);
  }
  const actual = await sha256File(file);
  if (actual !== v.contentHash) {
    throw new RegistryError('hash_mismatch', `${v.model} v${v.version}: artifact ${file} has sha256 ${actual}, registered ${v.contentHash}; refusing to use a changed artifact`);
  }
  return file;
}

/** An s3:// version's local copy, its refusals as the registry's. */
async function fetched(v: ModelVersion): Promise<string> {
  try {
    return await localArtifact(v.artifactUri, { sha256: v.contentHash });
  } catch (err) {
    throw registryRefusal(v, err);
  }
}

function registryRefusal(v: ModelVersion, err: unknown): unknown {
  if (err instanceof ModelLoadError && err.code === 'hash_mismatch') return new RegistryError('hash_mismatch', `${v.model} v${v.version}: ${err.message}`);
  if (err instanceof ModelLoadError && err.code === 'not_found') return new RegistryError('artifact_missing', `${v.model} v${v.version}: ${err.message}`);
  return err;
}

/** Loads a version for scoring, refusing a missing or changed artifact. */
export async function loadRegisteredVersion(v: ModelVersion, options: { spec?: LoadModelOptions['spec'] } = {}): Promise<LoadedModel> {
  try {
    // loadModel hashes the bytes it parses, so what is checked is exactly what is served.
    return await loadModel(v.artifactUri, { sha256: v.contentHash, spec: options.spec });
  } catch (err) {
    throw registryRefusal(v, err);
  }
}

/**
 * The artifact a version is being registered with: found, its format, and its sha256 (matching the
 * expected one, if given). `path` is what the registry records (through `artifactUri`): the local
 * file, or for an s3:// URI the URI itself, its bytes checked through the cache.
 */
export async function hashNewArtifact(input: Pick<RegisterVersionInput, 'artifactUri' | 'contentHash'>): Promise<{ path: string; format: Awaited<ReturnType<typeof resolveArtifact>>['format']; contentHash: string }> {
  let artifact: Awaited<ReturnType<typeof resolveArtifact>>;
  try {
    artifact = await resolveArtifact(input.artifactUri, { sha256: input.contentHash });
  } catch (err) {
    if (err instanceof ModelLoadError) throw new RegistryError(err.code === 'not_found' ? 'artifact_missing' : err.code === 'hash_mismatch' ? 'hash_mismatch' : 'invalid_input', err.message);
    throw err;
  }
  const contentHash = await sha256File(artifact.path);
  if (input.contentHash && input.contentHash.toLowerCase() !== contentHash) {
    throw new RegistryError('hash_mismatch', `${artifact.path}: sha256 ${contentHash} does not match the expected ${input.contentHash}`);
  }
  return { path: isS3Uri(input.artifactUri) ? input.artifactUri : artifact.path, format: artifact.format, contentHash };
}

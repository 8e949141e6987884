import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { runtimeSettings, type ArtifactStoreSetting, type RuntimeSettings } from '../../config/settings.js';
import { ARTIFACT_FILES } from '../models/artifact-files.js';
import { ModelLoadError } from '../models/errors.js';
import { cachedPath, fetchArtifact, parseS3Uri, putArtifact } from './s3.js';

export { ArtifactStoreError, closeS3Clients, contentHashOfKey, isS3Uri, parseS3Uri, s3Client } from './s3.js';

/**
 * Where model artifacts are kept (RETRAIN_ARTIFACT_STORE). `file`, the default: where the trainer
 * or `retrain models register` wrote them, under `<dataDir>/artifacts`, registered as file:// URIs.
 * `s3`: uploaded to a bucket under a content-addressed key and registered as s3:// URIs, so a
 * training worker or gateway replica on another host reads the same bytes. Reading an s3:// URI
 * goes through a local cache (`<dataDir>/artifacts/.s3-cache/<sha256>/`), after which the
 * existing local code (hash check, parse, score) runs on the cached file.
 */
export interface ArtifactStore {
  readonly setting: ArtifactStoreSetting;
  /**
   * Keeps a local artifact file (model.json or model.onnx) in the store and returns the URI to
   * register. `file`: its file:// URI, as today. `s3`: the s3:// URI of its content-addressed
   * object (uploaded unless already there), and the file is copied into the local cache.
   */
  put(file: string): Promise<{ uri: string; sha256: string; uploaded: boolean }>;
  /** Whether a URI is one this store may serve: a file:// URI or path, or an s3:// URI under the store's bucket and prefix. */
  owns(uri: string): boolean;
}

/** The cache of downloaded artifacts under a data dir's artifacts folder (inside the gateway's artifact roots). */
export function artifactCacheDir(artifactsDir: string): string {
  return path.join(artifactsDir, '.s3-cache');
}

export function openArtifactStore(settings: Pick<RuntimeSettings, 'dataDir' | 'artifactStore'>): ArtifactStore {
  const setting = settings.artifactStore;
  const cacheDir = artifactCacheDir(path.join(settings.dataDir, 'artifacts'));
  if (setting.kind === 'file') {
    return {
      setting,
      async put(file) {
        return { uri: pathToFileURL(path.resolve(file)).href, sha256: await sha256OfFile(file), uploaded: false };
      },
      owns: (uri) => !uri.startsWith('s3://'),
    };
  }
  return {
    setting,
    async put(file) {
      const sha256 = await sha256OfFile(file);
      const result = await putArtifact(file, sha256, { bucket: setting.bucket, prefix: setting.prefix, fileName: artifactFileName(file) });
      await seedCache(file, cachedPath(cacheDir, sha256, artifactFileName(file)));
      return result;
    },
    owns(uri) {
      if (!uri.startsWith('s3://')) return true;
      try {
        const { bucket, key } = parseS3Uri(uri);
        return bucket === setting.bucket && (setting.prefix === '' || key.startsWith(`${setting.prefix}/`)) && !key.split('/').includes('..');
      } catch {
        return false;
      }
    },
  };
}

/**
 * The local file of an s3:// artifact URI, downloaded to the cache if needed and checked against
 * `sha256` (or the hash its key names). The cache is under `cacheDir`, else the data dir's
 * (RETRAIN_DATA_DIR) `artifacts/.s3-cache`; without a `cacheDir`, object storage is read only by a
 * process configured for it (RETRAIN_ARTIFACT_STORE=s3://...): elsewhere an s3:// URI is refused
 * as unsupported, as before there was a store. (The gateway passes its cache and checks the URI
 * is under its store first.)
 */
export async function localArtifact(uri: string, options: { sha256?: string; cacheDir?: string } = {}): Promise<string> {
  let cacheDir = options.cacheDir;
  if (!cacheDir) {
    const settings = runtimeSettings();
    if (settings.artifactStore.kind !== 's3') {
      throw new ModelLoadError('unsupported', `artifact URI "${uri}": only file:// URIs and paths are supported while RETRAIN_ARTIFACT_STORE is not set (s3://bucket/prefix keeps artifacts in object storage)`);
    }
    cacheDir = artifactCacheDir(path.join(settings.dataDir, 'artifacts'));
  }
  return fetchArtifact(uri, { cacheDir, sha256: options.sha256 });
}

/** model.json or model.onnx, by the file's extension: the name a content-addressed key ends with. */
function artifactFileName(file: string): string {
  if (file.endsWith('.onnx')) return ARTIFACT_FILES.onnx;
  if (file.endsWith('.json')) return ARTIFACT_FILES['retrain-linear/v1'];
  throw new ModelLoadError('unsupported', `${file}: expected a .json (retrain-linear/v1) or .onnx model file`);
}

async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** The uploaded file is what the cache would download: copy it there (temp file, then rename). */
async function seedCache(file: string, target: string): Promise<void> {
  if (await stat(target).then((s) => s.isFile(), () => false)) return;
  await mkdir(path.dirname(target), { recursive: true });
  const tmp = `${target}.${process.pid}-${randomUUID()}.tmp`;
  try {
    await copyFile(file, tmp);
    await rename(tmp, target);
  } finally {
    await rm(tmp, { force: true });
  }
}

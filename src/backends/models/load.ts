import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isS3Uri, localArtifact } from '../artifacts/index.js';
import type { FeatureDef } from './columns.js';
import { ModelLoadError } from './errors.js';
import { LINEAR_FORMAT, linearModel } from './format.js';
import { LinearScorer } from './linear-scorer.js';
import { OnnxScorer } from './onnx-scorer.js';
import type { LoadedModel, ModelFormat, ModelTask } from './scorer.js';

import { ARTIFACT_FILES } from './artifact-files.js';

export { ARTIFACT_FILES };

export interface LoadModelOptions {
  /** The model spec this artifact must serve: its task, features present with the same types, and (multiclass) its classes. */
  spec?: { task: ModelTask; features: readonly FeatureDef[]; classes?: readonly string[] };
  /** Expected sha256 (hex) of the artifact bytes, e.g. from the registry; a mismatch is refused. */
  sha256?: string;
  /** Where an s3:// artifact is cached locally (default: `<RETRAIN_DATA_DIR>/artifacts/.s3-cache`). */
  cacheDir?: string;
}

/**
 * A `file://` URI or a plain path → absolute path. An s3:// URI has no local path (resolveArtifact
 * fetches it to the cache); other schemes are refused clearly.
 */
export function artifactPath(uri: string): string {
  if (uri.startsWith('file:')) return fileURLToPath(uri);
  if (isS3Uri(uri)) throw new ModelLoadError('unsupported', `artifact URI "${uri}" is in object storage, not a local path`);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) {
    throw new ModelLoadError('unsupported', `artifact URI "${uri}": only file://, s3:// URIs and paths are supported`);
  }
  return path.resolve(uri);
}

/** The URI to register for an artifact: a path as a file:// URI; an s3:// URI as it is. */
export function artifactUri(filePath: string): string {
  if (isS3Uri(filePath)) return filePath;
  return pathToFileURL(path.resolve(filePath)).href;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function sha256File(filePath: string): Promise<string> {
  return sha256Hex(await readFile(filePath));
}

/** The format a file name implies, or undefined. */
export function formatOfPath(filePath: string): ModelFormat | undefined {
  if (filePath.endsWith('.onnx')) return 'onnx';
  if (filePath.endsWith('.json')) return LINEAR_FORMAT;
  return undefined;
}

/**
 * Resolves an artifact URI to its file: a file as given, or a trainer output directory holding
 * model.json or model.onnx; an s3:// URI to its local copy in the cache, downloaded if needed and
 * checked against `sha256` (else the hash its content-addressed key names) before anything reads it.
 */
export async function resolveArtifact(uri: string, options: Pick<LoadModelOptions, 'sha256' | 'cacheDir'> = {}): Promise<{ path: string; format: ModelFormat }> {
  const target = isS3Uri(uri) ? await localArtifact(uri, options) : artifactPath(uri);
  const info = await stat(target).catch(() => undefined);
  if (!info) throw new ModelLoadError('not_found', `model artifact not found: ${target}`);
  if (info.isDirectory()) {
    for (const [format, file] of Object.entries(ARTIFACT_FILES) as [ModelFormat, string][]) {
      const candidate = path.join(target, file);
      if (await stat(candidate).then((s) => s.isFile(), () => false)) return { path: candidate, format };
    }
    throw new ModelLoadError('not_found', `no model.json or model.onnx in ${target}`);
  }
  const format = formatOfPath(target);
  if (!format) throw new ModelLoadError('unsupported', `${target}: expected a .json (${LINEAR_FORMAT}) or .onnx model file`);
  return { path: target, format };
}

/**
 * Loads and validates a model artifact. Everything that would make scoring fail later (unknown
 * format, malformed weights, ONNX inputs that are not the contract's, a task or features the
 * spec does not match, tampered bytes) is refused here with a message naming the file.
 */
export async function loadModel(uri: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const { path: file, format } = await resolveArtifact(uri, options);
  const bytes = await readFile(file);
  const sha256 = sha256Hex(bytes);
  if (options.sha256 && options.sha256.toLowerCase() !== sha256) {
    throw new ModelLoadError('hash_mismatch', `${file}: content hash ${sha256} does not match the registered ${options.sha256}; the artifact changed after registration`);
  }
  const model = format === 'onnx' ? await OnnxScorer.create(bytes, file, sha256, options.spec?.task, options.spec?.classes?.length) : parseLinear(bytes, file, sha256);
  if (options.spec) {
    try {
      checkCompatible(model, options.spec);
    } catch (err) {
      await model.close();
      throw err;
    }
  }
  return model;
}

function parseLinear(bytes: Uint8Array, file: string, sha256: string): LinearScorer {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (err) {
    throw new ModelLoadError('invalid', `${file}: not valid JSON (${(err as Error).message})`);
  }
  const format = (json as { format?: unknown } | null)?.format;
  if (format !== LINEAR_FORMAT) {
    throw new ModelLoadError('unsupported', `${file}: unsupported model format ${JSON.stringify(format)}, expected "${LINEAR_FORMAT}"`);
  }
  const parsed = linearModel.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new ModelLoadError('invalid', `${file}: invalid ${LINEAR_FORMAT} model: ${issues}`);
  }
  return new LinearScorer(parsed.data, file, sha256);
}

function checkCompatible(model: LoadedModel, spec: NonNullable<LoadModelOptions['spec']>): void {
  if (model.task !== spec.task) {
    throw new ModelLoadError('incompatible', `${model.path}: model task is ${model.task}, the spec expects ${spec.task}`);
  }
  if (spec.task === 'multiclass_classification' && spec.classes && model.classCount !== spec.classes.length) {
    throw new ModelLoadError('incompatible', `${model.path}: the model outputs ${model.classCount ?? 'no'} class probabilities, the spec declares ${spec.classes.length} classes (${spec.classes.join(', ')})`);
  }
  const named = model instanceof LinearScorer ? model.model.classes : undefined;
  if (named && spec.classes && named.some((name, i) => name !== spec.classes![i])) {
    throw new ModelLoadError('incompatible', `${model.path}: the model's classes are [${named.join(', ')}], the spec's [${spec.classes.join(', ')}] (same order: a label is a class index)`);
  }
  const byName = new Map(spec.features.map((f) => [f.name, f]));
  for (const f of model.features) {
    const declared = byName.get(f.name);
    if (!declared) throw new ModelLoadError('incompatible', `${model.path}: model reads feature "${f.name}", which the spec does not declare`);
    if (declared.type !== f.type) {
      throw new ModelLoadError('incompatible', `${model.path}: feature "${f.name}" is ${f.type} in the model but ${declared.type} in the spec`);
    }
  }
}

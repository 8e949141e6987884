import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ARTIFACT_FILES } from '../models/artifact-files.js';
import { LINEAR_FORMAT, linearModel } from '../models/format.js';
import type { ModelFormat } from '../models/scorer.js';
import { type MlflowClient, type MlflowModelVersion, mlflowQuote } from './mlflow-client.js';
import { RegistryError } from './types.js';

/**
 * The MLflow side of MlflowRegistry, run in the bridge's worker thread (asynchronous: fetch), each
 * operation one request of the calling thread. What is recorded where:
 *
 * - the model file: uploaded through the server's artifact proxy under a content-addressed path,
 *   inside a run of the experiment "retrain" (`<run>/artifacts/model/model.{json,onnx}`), the version's source;
 * - lineage and metrics: version tags `retrain.*` (TAG below), set in the one create call, so a
 *   version exists with all of them or not at all;
 * - the reference profile: an artifact of the same run (`<run>/artifacts/reference_profile.json`)
 *   named by the tag `retrain.reference_profile`, not a tag: profiles carry a bounded sample per
 *   feature (tens of kB) and MLflow caps tag values; its sha256 (a tag) is checked on read.
 */
export const TAG = {
  contentHash: 'retrain.content_hash',
  format: 'retrain.format',
  /** The artifact URI the product registered (a local file or s3://), absent for a version made outside the product. */
  artifactUri: 'retrain.artifact_uri',
  /** The model file inside MLflow's artifact store (mlflow-artifacts:/...). */
  mlflowArtifact: 'retrain.mlflow_artifact',
  metrics: 'retrain.metrics',
  datasetId: 'retrain.dataset_id',
  trainer: 'retrain.trainer',
  params: 'retrain.params',
  costUsd: 'retrain.cost_usd',
  workflowId: 'retrain.workflow_id',
  runId: 'retrain.run_id',
  idempotencyKey: 'retrain.idempotency_key',
  createdAt: 'retrain.created_at',
  referenceProfile: 'retrain.reference_profile',
  referenceProfileSha256: 'retrain.reference_profile_sha256',
  /** Set when the product adopted a version made outside it (first read): when it pinned the hash. */
  adoptedAt: 'retrain.adopted_at',
} as const;

const PROXY = 'mlflow-artifacts:';
/** The MLflow experiment holding the runs the product registers versions from. */
const EXPERIMENT = 'retrain';

export interface MlflowContext {
  client: MlflowClient;
  /** Local content-addressed copies of MLflow artifacts and profiles. */
  cacheDir: string;
}

/** One MLflow model version as the registry reads it: tags by key, the profile loaded. */
export interface VersionRecord {
  name: string;
  version: number;
  creationTimestamp: number;
  tags: Record<string, string>;
  referenceProfile: unknown;
  /** Local path of the model file for a version MLflow holds the only copy of (in the cache). */
  cachedArtifact: string | null;
}

export interface CreateVersionInput {
  name: string;
  /** Local file holding the artifact's bytes (already hashed by the calling thread). */
  file: string;
  format: ModelFormat;
  contentHash: string;
  /** JSON text of the reference profile, or null. */
  profile: string | null;
  tags: Record<string, string>;
}

const tagsOf = (mv: MlflowModelVersion): Record<string, string> => Object.fromEntries((mv.tags ?? []).map((t) => [t.key, t.value]));
const sha256 = (bytes: Uint8Array | string): string => createHash('sha256').update(bytes).digest('hex');

/** `mlflow-artifacts:/a/b` or `mlflow-artifacts://host/a/b` → `a/b` (the proxy's path). */
function proxyPath(uri: string): string {
  return uri.slice(PROXY.length).replace(/^\/\/[^/]*/, '').replace(/^\/+/, '');
}

export const MLFLOW_OPS = {
  /**
   * A new version: MLflow refuses a version whose source is not inside a run (or a logged model),
   * so the artifact goes into a run of the experiment "retrain" (tagged with the idempotency key,
   * and found again by it on a retry, so a retry after a crash reuses the run rather than leaving a
   * second one) under `model/`, the profile beside it, then the version is created from `model/`.
   */
  async createVersion(ctx: MlflowContext, input: CreateVersionInput): Promise<VersionRecord> {
    const { client } = ctx;
    await client.ensureRegisteredModel(input.name);
    const experiment = await client.ensureExperiment(EXPERIMENT);
    const key = input.tags[TAG.idempotencyKey];
    const reused = key ? (await client.searchRuns(experiment, `tags.\`${TAG.idempotencyKey}\` = '${mlflowQuote(key)}'`))[0] : undefined;
    const run = reused ?? (await client.createRun(experiment, `register ${input.name}`, { ...(key ? { [TAG.idempotencyKey]: key } : {}), 'retrain.model': input.name }));
    const root = proxyPath(run.artifact_uri);
    const file = `${root}/model/${ARTIFACT_FILES[input.format]}`;
    // Uploads are PUTs of the same bytes to the same path: a retry changes nothing.
    await client.uploadArtifact(file, await readFile(input.file));
    const tags: Record<string, string> = { ...input.tags, [TAG.mlflowArtifact]: `${PROXY}/${file}` };
    if (input.profile !== null) {
      const profilePath = `${root}/reference_profile.json`;
      await client.uploadArtifact(profilePath, Buffer.from(input.profile));
      tags[TAG.referenceProfile] = `${PROXY}/${profilePath}`;
      tags[TAG.referenceProfileSha256] = sha256(input.profile);
    }
    if (run.status !== 'FINISHED') await client.finishRun(run.run_id);
    const mv = await client.createModelVersion(input.name, `${PROXY}/${root}/model`, run.run_id, tags);
    return record(ctx, mv);
  },

  async describeVersion(ctx: MlflowContext, name: string, version: number): Promise<VersionRecord> {
    const mv = await ctx.client.getModelVersion(name, version);
    if (!mv) throw await missing(ctx, name, version);
    return record(ctx, mv);
  },

  /**
   * Every version of a registered model the product can use, by number. A version made outside the
   * product whose artifact is not a model the product reads (no model.json / model.onnx, not valid)
   * is left out here; asked for by number it is refused with the reason.
   */
  async listVersions(ctx: MlflowContext, name: string): Promise<VersionRecord[]> {
    const found = await ctx.client.searchModelVersions(`name = '${mlflowQuote(name)}'`);
    found.sort((a, b) => Number(a.version) - Number(b.version));
    const out: VersionRecord[] = [];
    for (const mv of found) {
      try {
        out.push(await record(ctx, mv));
      } catch (err) {
        if (!(err instanceof RegistryError)) throw err;
      }
    }
    return out;
  },

  /** The version registered under an idempotency key, in any model (the caller checks which). */
  async versionByKey(ctx: MlflowContext, key: string): Promise<VersionRecord | undefined> {
    const found = await ctx.client.searchModelVersions(`tags.\`${TAG.idempotencyKey}\` = '${mlflowQuote(key)}'`);
    found.sort((a, b) => Number(a.version) - Number(b.version));
    return found.length ? record(ctx, found[0]) : undefined;
  },

  /** Registered models under a prefix with their version count and newest number (models without versions left out). */
  async listModels(ctx: MlflowContext, prefix: string): Promise<Array<{ name: string; versionCount: number; latestVersion: number }>> {
    const out: Array<{ name: string; versionCount: number; latestVersion: number }> = [];
    for (const rm of await ctx.client.searchRegisteredModels(prefix)) {
      if (!rm.name.startsWith(prefix)) continue;
      const versions = (await ctx.client.searchModelVersions(`name = '${mlflowQuote(rm.name)}'`)).map((v) => Number(v.version));
      if (versions.length) out.push({ name: rm.name, versionCount: versions.length, latestVersion: Math.max(...versions) });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  },

  /**
   * Makes the registered model's champion/challenger/previous aliases what the product's store says
   * (`null`: no such alias). Converges: each set or delete is idempotent, and it reads MLflow first,
   * so running it again after a crash or a retry finishes what is left and changes nothing else.
   * Aliases other than these three (a team's own) are left alone.
   */
  async syncAliases(ctx: MlflowContext, name: string, want: Record<string, number | null>): Promise<{ changed: string[] }> {
    const rm = await ctx.client.getRegisteredModel(name);
    if (!rm) throw new RegistryError('unknown_model', `MLflow has no registered model "${name}"`);
    const current = new Map((rm.aliases ?? []).map((a) => [a.alias, Number(a.version)]));
    const changed: string[] = [];
    for (const [alias, version] of Object.entries(want)) {
      if ((current.get(alias) ?? null) === version) continue;
      if (version === null) await ctx.client.deleteAlias(name, alias);
      else await ctx.client.setAlias(name, alias, version);
      changed.push(alias);
    }
    return { changed };
  },

  /** The registered model's aliases as MLflow has them. */
  async mlflowAliases(ctx: MlflowContext, name: string): Promise<Record<string, number>> {
    const rm = await ctx.client.getRegisteredModel(name);
    return Object.fromEntries((rm?.aliases ?? []).map((a) => [a.alias, Number(a.version)]));
  },

  /**
   * The local copy of a version's model file that only MLflow holds, downloaded into the cache when
   * missing: written to a temporary file, checked against the pinned hash, renamed. A file changed
   * in MLflow since its hash was pinned is refused, naming where it is.
   */
  async fetchArtifact(ctx: MlflowContext, name: string, version: number): Promise<string> {
    const mv = await ctx.client.getModelVersion(name, version);
    if (!mv) throw await missing(ctx, name, version);
    const rec = await record(ctx, mv);
    if (rec.cachedArtifact === null) throw new RegistryError('invalid_input', `${name} v${version} keeps its artifact at ${rec.tags[TAG.artifactUri]}, not only in MLflow`);
    if (await isFile(rec.cachedArtifact)) return rec.cachedArtifact;
    const source = rec.tags[TAG.mlflowArtifact];
    const bytes = await ctx.client.downloadArtifact(proxyPath(source));
    if (!bytes) throw new RegistryError('artifact_missing', `${name} v${version}: artifact ${source} is missing in MLflow`);
    const actual = sha256(bytes);
    if (actual !== rec.tags[TAG.contentHash]) {
      throw new RegistryError('hash_mismatch', `${name} v${version}: artifact ${source} in MLflow has sha256 ${actual}, pinned ${rec.tags[TAG.contentHash]}; refusing to use a changed artifact`);
    }
    await writeAtomically(rec.cachedArtifact, bytes);
    return rec.cachedArtifact;
  },
};

/** unknown_model when MLflow has no such registered model (or one without versions), else unknown_version. */
async function missing(ctx: MlflowContext, name: string, version: number): Promise<RegistryError> {
  const rm = await ctx.client.getRegisteredModel(name);
  const any = rm ? (await ctx.client.searchModelVersions(`name = '${mlflowQuote(name)}'`)).length > 0 : false;
  if (!any) return new RegistryError('unknown_model', `unknown model "${name}" (no registered versions in MLflow)`);
  return new RegistryError('unknown_version', `model "${name}" has no version ${version} in MLflow`);
}

async function record(ctx: MlflowContext, mv: MlflowModelVersion): Promise<VersionRecord> {
  let tags = tagsOf(mv);
  if (!tags[TAG.contentHash] || !tags[TAG.format]) tags = await adopt(ctx, mv, tags);
  const cachedArtifact = tags[TAG.artifactUri]
    ? null
    : path.join(ctx.cacheDir, 'sha256', tags[TAG.contentHash], ARTIFACT_FILES[tags[TAG.format] as ModelFormat]);
  return {
    name: mv.name,
    version: Number(mv.version),
    creationTimestamp: Number(mv.creation_timestamp),
    tags,
    referenceProfile: tags[TAG.referenceProfile] ? await profile(ctx, tags[TAG.referenceProfile], tags[TAG.referenceProfileSha256]) : null,
    cachedArtifact,
  };
}

/**
 * A version made outside the product (someone's `mlflow.register_model`, or the REST API): on its
 * first read the product finds its model file (model.json or model.onnx in the version's artifact
 * directory, or the source itself when it is such a file), checks it is a model the product reads
 * (a retrain-linear/v1 JSON that parses, or an .onnx file; the full check against the model spec
 * comes when it is loaded to be evaluated), keeps a copy in the cache, and pins its sha256 and
 * format as version tags. From then on it is checked like any registered version: bytes changed in
 * MLflow after that are refused as hash_mismatch. Two processes adopting at once set the same tags.
 */
async function adopt(ctx: MlflowContext, mv: MlflowModelVersion, tags: Record<string, string>): Promise<Record<string, string>> {
  const label = `MLflow model "${mv.name}" version ${mv.version}`;
  const uri = await ctx.client.downloadUri(mv.name, Number(mv.version));
  let bytes: Buffer | undefined;
  let source: string;
  let format: ModelFormat | undefined;
  if (uri.startsWith(PROXY)) {
    const dir = proxyPath(uri);
    const listed = await ctx.client.listArtifacts(dir).catch(() => []);
    const names = new Set(listed.filter((f) => !f.is_dir).map((f) => path.posix.basename(f.path)));
    const file = (Object.entries(ARTIFACT_FILES) as Array<[ModelFormat, string]>).find(([, f]) => names.has(f));
    if (file) {
      format = file[0];
      source = `${dir}/${file[1]}`;
    } else if (/\.(json|onnx)$/.test(dir)) {
      format = dir.endsWith('.onnx') ? 'onnx' : LINEAR_FORMAT;
      source = dir;
    } else {
      throw new RegistryError('artifact_missing', `${label}: no model.json or model.onnx in its artifacts (${uri}); retrain serves retrain-linear/v1 JSON or ONNX models`);
    }
    bytes = await ctx.client.downloadArtifact(source);
    source = `${PROXY}/${source}`;
  } else if (uri.startsWith('file:') || uri.startsWith('/')) {
    throw new RegistryError('artifact_missing', `${label}: its artifacts are at ${uri}, a path on the MLflow server's disk; register it with the server's artifact proxy (mlflow server --artifacts-destination, mlflow-artifacts:/ URIs) so retrain can read it`);
  } else {
    throw new RegistryError('artifact_missing', `${label}: its artifacts are at ${uri}; retrain reads MLflow artifacts through the server's artifact proxy (mlflow-artifacts:/ URIs)`);
  }
  if (!bytes || !format) throw new RegistryError('artifact_missing', `${label}: artifact ${source} is missing in MLflow`);
  if (format === LINEAR_FORMAT) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw new RegistryError('invalid_input', `${label}: ${source} is not JSON; expected a ${LINEAR_FORMAT} model`);
    }
    const checked = linearModel.safeParse(parsed);
    if (!checked.success) throw new RegistryError('invalid_input', `${label}: ${source} is not a valid ${LINEAR_FORMAT} model: ${checked.error.issues[0]?.message}`);
  }
  const contentHash = sha256(bytes);
  await writeAtomically(path.join(ctx.cacheDir, 'sha256', contentHash, ARTIFACT_FILES[format]), bytes);
  const pinned = { [TAG.contentHash]: contentHash, [TAG.format]: format, [TAG.mlflowArtifact]: source, [TAG.adoptedAt]: new Date().toISOString() };
  // The hash tag last: a crash between the tags leaves a version that is simply adopted again.
  for (const key of [TAG.format, TAG.mlflowArtifact, TAG.adoptedAt, TAG.contentHash]) {
    await ctx.client.setModelVersionTag(mv.name, Number(mv.version), key, pinned[key]);
  }
  return { ...tags, ...pinned };
}

/** A reference profile artifact, from the cache (by its sha256) or MLflow (checked against it). */
async function profile(ctx: MlflowContext, uri: string, hash: string | undefined): Promise<unknown> {
  const cached = hash ? path.join(ctx.cacheDir, 'profiles', `${hash}.json`) : undefined;
  if (cached && (await isFile(cached))) return JSON.parse(await readFile(cached, 'utf8'));
  const bytes = await ctx.client.downloadArtifact(proxyPath(uri));
  if (!bytes) throw new RegistryError('artifact_missing', `reference profile ${uri} is missing in MLflow`);
  if (hash && sha256(bytes) !== hash) throw new RegistryError('hash_mismatch', `reference profile ${uri} changed in MLflow (sha256 ${sha256(bytes)}, registered ${hash})`);
  if (cached) await writeAtomically(cached, bytes);
  return JSON.parse(bytes.toString('utf8'));
}

async function isFile(file: string): Promise<boolean> {
  return stat(file).then((s) => s.isFile(), () => false);
}

async function writeAtomically(file: string, bytes: Uint8Array): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(temp, bytes);
  await rename(temp, file);
}

import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import { ModelLoadError } from '../models/errors.js';

/**
 * Model artifacts in S3-compatible object storage, through the AWS SDK for JavaScript v3 (loaded
 * on first use: a process that never meets an s3:// URI does not pay for it).
 *
 * Keys are content-addressed: `<prefix>/sha256/<hex>/<model.json|model.onnx>`, so the same bytes
 * always land on the same key (an upload retried after a crash finds its object and stops) and the
 * URI itself says which bytes it must hold. A download goes to a local cache keyed by sha256,
 * written to a temporary file and renamed once its hash is checked: a file in the cache is complete
 * and is what was asked for.
 */

export interface S3Location {
  bucket: string;
  key: string;
}

const S3_URI = /^s3:\/\/([^/\s]+)\/(\S+)$/;
/** The sha256 a content-addressed key names. */
const CONTENT_KEY = /(?:^|\/)sha256\/([0-9a-f]{64})\/[^/]+$/;

export function isS3Uri(uri: string): boolean {
  return uri.startsWith('s3://');
}

export function parseS3Uri(uri: string): S3Location {
  const m = S3_URI.exec(uri);
  if (!m) throw new ModelLoadError('unsupported', `artifact URI "${uri}": expected s3://bucket/key`);
  return { bucket: m[1], key: m[2] };
}

export function s3Uri(loc: S3Location): string {
  return `s3://${loc.bucket}/${loc.key}`;
}

/** The sha256 (hex) a content-addressed key carries, or undefined for another key. */
export function contentHashOfKey(key: string): string | undefined {
  return CONTENT_KEY.exec(key)?.[1];
}

export function contentKey(prefix: string, sha256: string, fileName: string): string {
  return [prefix, 'sha256', sha256, fileName].filter(Boolean).join('/');
}

/**
 * One client per endpoint, region and access key seen in the environment: the SDK reads
 * AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_S3), AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (or its
 * other credential sources); the region is AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1.
 * Path-style addressing (`endpoint/bucket/key`), which S3-compatible servers expect.
 */
const clients = new Map<string, Promise<S3Client>>();

export function s3Client(env: NodeJS.ProcessEnv = process.env): Promise<S3Client> {
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1';
  const id = [env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL ?? '', region, env.AWS_ACCESS_KEY_ID ?? '', env.AWS_PROFILE ?? ''].join('\n');
  let client = clients.get(id);
  if (!client) {
    // The lockfile pins an SDK that supports Node 20 (the product's floor): its notice that later
    // releases will not is for whoever upgrades the dependency, not for every operator's stderr.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
    client = import('@aws-sdk/client-s3').then(({ S3Client }) => new S3Client({ region, forcePathStyle: true, maxAttempts: 3 }));
    clients.set(id, client);
  }
  return client;
}

/** Closes the clients' sockets (tests, short CLI runs). */
export async function closeS3Clients(): Promise<void> {
  const all = [...clients.values()];
  clients.clear();
  for (const c of all) (await c.catch(() => undefined))?.destroy();
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.Code === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

function describeError(err: unknown): string {
  const e = err as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode;
  return `${e?.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${e?.message ?? String(err)}`;
}

/** An S3 failure other than a missing object (unreachable endpoint, refused credentials): retryable, and names the URI. */
export class ArtifactStoreError extends Error {
  override readonly name = 'ArtifactStoreError';
}

export interface PutResult {
  uri: string;
  sha256: string;
  /** False when an object with the same hash was already there (nothing uploaded). */
  uploaded: boolean;
}

/**
 * Uploads a local artifact file under its content-addressed key. Idempotent: an existing object
 * whose recorded sha256 is this one is left alone; the server checks the upload's own sha256
 * (x-amz-checksum-sha256), so a truncated transfer is refused rather than stored.
 */
export async function putArtifact(file: string, sha256: string, target: { bucket: string; prefix: string; fileName: string }): Promise<PutResult> {
  const { HeadObjectCommand, PutObjectCommand } = await import('@aws-sdk/client-s3');
  const client = await s3Client();
  const loc = { bucket: target.bucket, key: contentKey(target.prefix, sha256, target.fileName) };
  const uri = s3Uri(loc);
  try {
    const head = await client.send(new HeadObjectCommand({ Bucket: loc.bucket, Key: loc.key }));
    if (head.Metadata?.sha256 === sha256) return { uri, sha256, uploaded: false };
  } catch (err) {
    if (!isNotFound(err)) throw new ArtifactStoreError(`could not check ${uri}: ${describeError(err)}`);
  }
  const size = (await stat(file)).size;
  try {
    await client.send(
      new PutObjectCommand({
        Bucket: loc.bucket,
        Key: loc.key,
        Body: createReadStream(file),
        ContentLength: size,
        ChecksumSHA256: Buffer.from(sha256, 'hex').toString('base64'),
        Metadata: { sha256 },
        ContentType: target.fileName.endsWith('.json') ? 'application/json' : 'application/octet-stream',
      }),
    );
  } catch (err) {
    throw new ArtifactStoreError(`could not upload ${file} to ${uri}: ${describeError(err)}`);
  }
  return { uri, sha256, uploaded: true };
}

/** The cached copy of a content hash, `<cacheDir>/<sha256>/<file name>`. */
export function cachedPath(cacheDir: string, sha256: string, fileName: string): string {
  return path.join(cacheDir, sha256, fileName);
}

async function isFile(p: string): Promise<boolean> {
  return stat(p).then((s) => s.isFile(), () => false);
}

/**
 * The local copy of an s3:// artifact: from the cache when the hash its content-addressed key
 * names is there, else downloaded once, hashed while it streams, and renamed into the cache
 * only when the hash is the expected one. A missing object is `not_found`, other bytes than
 * expected `hash_mismatch` (both ModelLoadError naming the URI); an unreachable store is an
 * ArtifactStoreError.
 */
export async function fetchArtifact(uri: string, options: { cacheDir: string; sha256?: string }): Promise<string> {
  const loc = parseS3Uri(uri);
  const fileName = path.posix.basename(loc.key);
  const named = contentHashOfKey(loc.key);
  const expected = options.sha256?.toLowerCase() ?? named;
  if (named) {
    // A content-addressed URI names its bytes: a pin of other bytes cannot be met by it (nor by the
    // cache, which would hand back the pinned bytes under the wrong name).
    if (expected !== named) throw new ModelLoadError('hash_mismatch', `${uri}: the key names content hash ${named}, expected ${expected}`);
    const hit = cachedPath(options.cacheDir, named, fileName);
    if (await isFile(hit)) return hit;
  }
  // Another key (an object someone else named) is downloaded each time: only the download says
  // what it holds now.
  const { GetObjectCommand } = await import('@aws-sdk/client-s3');
  const client = await s3Client();
  await mkdir(options.cacheDir, { recursive: true });
  const tmp = path.join(options.cacheDir, `.download-${process.pid}-${randomUUID()}`);
  const hash = createHash('sha256');
  try {
    let body: NodeJS.ReadableStream;
    try {
      const res = await client.send(new GetObjectCommand({ Bucket: loc.bucket, Key: loc.key }));
      body = res.Body as NodeJS.ReadableStream;
    } catch (err) {
      if (isNotFound(err)) throw new ModelLoadError('not_found', `model artifact not found: ${uri} (no such object)`);
      throw new ArtifactStoreError(`could not download ${uri}: ${describeError(err)}`);
    }
    const hashing = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(body, hashing, createWriteStream(tmp, { flags: 'wx' }));
    } catch (err) {
      throw new ArtifactStoreError(`could not download ${uri}: ${describeError(err)}`);
    }
    const actual = hash.digest('hex');
    if (expected && actual !== expected) {
      throw new ModelLoadError('hash_mismatch', `${uri}: content hash ${actual} does not match the expected ${expected}; the stored object changed after registration`);
    }
    const final = cachedPath(options.cacheDir, actual, fileName);
    await mkdir(path.dirname(final), { recursive: true });
    await rename(tmp, final);
    return final;
  } finally {
    await rm(tmp, { force: true });
  }
}

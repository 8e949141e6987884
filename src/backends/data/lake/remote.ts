import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import type { LakeStoreSetting } from '../../../config/settings.js';
import { logger } from '../../../runtime/logger.js';
import { s3Client } from '../../artifacts/s3.js';
import type { LakeKind } from '../types.js';
import { isDataFileName, type LakeFile } from './files.js';

/**
 * The lake and dataset snapshots in S3-compatible object storage (RETRAIN_LAKE_STORE).
 *
 * Keys mirror the local layout: `<prefix>/lake/<model>/<kind>/date=YYYY-MM-DD/<file>.parquet` and
 * `<prefix>/datasets/<model>/<id>/{train,validation,holdout}.parquet, manifest.json`.
 *
 * DuckDB reads S3 only through its httpfs extension, which cannot be downloaded here and which no
 * registry package carries for this DuckDB version; so queries run on local copies: before a
 * query, the partitions its time range needs are listed (ListObjectsV2, one prefix per date) and
 * the objects missing from `<dataDir>/lake-cache` or changed (size or ETag) are downloaded. A
 * copy's ETag is kept beside it in a dot-file, which no lake listing shows.
 *
 * Writers never share a key: each file is first written to `<dataDir>/lake-outbox` under a name
 * with a UUID, then uploaded under the same relative key and moved into the cache. An upload that
 * fails leaves the file in the outbox; every later write, read and close tries again, and a retry
 * puts the same bytes under the same key, so no row is written twice or lost.
 */

export class LakeStoreError extends Error {
  override readonly name = 'LakeStoreError';
}

/** What the cache did, for tests and benchmarks. */
export interface LakeStoreStats {
  listRequests: number;
  downloads: number;
  downloadedBytes: number;
  reused: number;
  uploads: number;
}

const DOWNLOAD_CONCURRENCY = 8;
const PARTITION_CONCURRENCY = 4;
/** A cached copy missing from a listing is dropped only when older than this (see syncPartition). */
const PRUNE_GRACE_MS = 10 * 60_000;
/** After a failed upload, writes do not try the outbox again for this long (an unreachable store must not slow every batch). */
const OUTBOX_RETRY_MS = 5_000;

export class RemoteLake {
  readonly stats: LakeStoreStats = { listRequests: 0, downloads: 0, downloadedBytes: 0, reused: 0, uploads: 0 };
  readonly cacheDir: string;
  readonly outboxDir: string;
  private readonly bucket: string;
  private readonly prefix: string;
  private outboxRetryAt = 0;
  private flushing: Promise<void> | undefined;

  constructor(
    readonly setting: Extract<LakeStoreSetting, { kind: 's3' }>,
    dataDir: string,
  ) {
    this.bucket = setting.bucket;
    this.prefix = setting.prefix;
    this.cacheDir = path.join(dataDir, 'lake-cache');
    this.outboxDir = path.join(dataDir, 'lake-outbox');
  }

  /** `RETRAIN_LAKE_STORE=s3://bucket/prefix`, as an error names it. */
  get where(): string {
    return `RETRAIN_LAKE_STORE=s3://${this.bucket}${this.prefix ? `/${this.prefix}` : ''}`;
  }

  key(...parts: string[]): string {
    return [this.prefix, ...parts].filter(Boolean).join('/');
  }

  private async client(): Promise<S3Client> {
    return s3Client();
  }

  private fail(what: string, err: unknown): LakeStoreError {
    return new LakeStoreError(`lake store ${this.where}: could not ${what}: ${describe(err)}`);
  }

  // ---- reads -------------------------------------------------------------------------------

  /**
   * The cached copies of one table's files in [fromDate, toDate], oldest partition first, after
   * bringing those partitions up to date with the store. Without a fromDate the store's partition
   * list says which dates exist.
   */
  async listFiles(model: string, kind: LakeKind, range: { fromDate?: string; toDate?: string } = {}): Promise<LakeFile[]> {
    await this.flushOutbox({ force: true, quiet: true });
    const dates = range.fromDate && range.toDate ? datesBetween(range.fromDate, range.toDate) : (await this.partitions(model, kind)).filter((d) => (!range.fromDate || d >= range.fromDate) && (!range.toDate || d <= range.toDate));
    // Partitions are listed and fetched side by side: on a 7-day range the LIST round trips, not the bytes, are the wait.
    const perDate: LakeFile[][] = new Array(dates.length);
    let next = 0;
    const work = async () => {
      for (let i = next++; i < dates.length; i = next++) perDate[i] = await this.syncPartition(model, kind, dates[i]);
    };
    await Promise.all(Array.from({ length: Math.min(PARTITION_CONCURRENCY, dates.length) }, work));
    return perDate.flat();
  }

  /** Dates that have a folder under the table's prefix (ListObjectsV2 with a delimiter). */
  private async partitions(model: string, kind: LakeKind): Promise<string[]> {
    const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
    const client = await this.client();
    const base = `${this.key('lake', model, kind)}/`;
    const dates: string[] = [];
    let token: string | undefined;
    do {
      this.stats.listRequests++;
      const page = await client
        .send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: base, Delimiter: '/', ContinuationToken: token }))
        .catch((err: unknown) => Promise.reject(this.fail(`list ${base}`, err)));
      for (const p of page.CommonPrefixes ?? []) {
        const m = /date=(\d{4}-\d{2}-\d{2})\/$/.exec(p.Prefix ?? '');
        if (m) dates.push(m[1]);
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return dates.sort();
  }

  /** Lists one partition and makes its cached folder match it: downloads what is missing or changed, drops what the store no longer has. */
  private async syncPartition(model: string, kind: LakeKind, date: string): Promise<LakeFile[]> {
    const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
    const client = await this.client();
    const partition = `date=${date}`;
    const base = `${this.key('lake', model, kind, partition)}/`;
    const objects: { name: string; size: number; etag: string }[] = [];
    const listedAt = Date.now();
    let token: string | undefined;
    do {
      this.stats.listRequests++;
      const page = await client
        .send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: base, ContinuationToken: token }))
        .catch((err: unknown) => Promise.reject(this.fail(`list ${base}`, err)));
      for (const o of page.Contents ?? []) {
        const name = (o.Key ?? '').slice(base.length);
        if (name.includes('/') || !isDataFileName(name)) continue;
        objects.push({ name, size: Number(o.Size ?? 0), etag: o.ETag ?? '' });
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);

    const dir = path.join(this.cacheDir, model, kind, partition);
    const quarantined = path.join(this.cacheDir, model, 'quarantine', kind, partition);
    const listed = new Set(objects.map((o) => o.name));
    // Copies of objects the store no longer has must not be read. Only old ones: a file uploaded by
    // this data dir's other process after our LIST, which a concurrent reader may have just listed, stays.
    for (const name of await readdirOrEmpty(dir)) {
      if (!isDataFileName(name) || listed.has(name)) continue;
      const copy = path.join(dir, name);
      const stat = await fs.stat(copy).catch(() => undefined);
      if (stat && stat.mtimeMs < listedAt - PRUNE_GRACE_MS) await Promise.all([fs.rm(copy, { force: true }), fs.rm(etagFile(copy), { force: true })]);
    }
    const files: (LakeFile | undefined)[] = new Array(objects.length);
    let next = 0;
    const work = async () => {
      for (let i = next++; i < objects.length; i = next++) {
        const o = objects[i];
        // A file this data dir quarantined stays out of its reads (the same bytes would fail the same check).
        if (await isFile(path.join(quarantined, o.name))) continue;
        const local = path.join(dir, o.name);
        const stat = await fs.stat(local).catch(() => undefined);
        const cachedEtag = stat ? await fs.readFile(etagFile(local), 'utf8').catch(() => undefined) : undefined;
        if (stat && stat.size === o.size && cachedEtag === o.etag) {
          this.stats.reused++;
          files[i] = { path: local, relative: path.join(kind, partition, o.name), bytes: stat.size, mtimeMs: stat.mtimeMs, date };
          continue;
        }
        await this.download(`${base}${o.name}`, local, o.etag);
        const fresh = await fs.stat(local);
        files[i] = { path: local, relative: path.join(kind, partition, o.name), bytes: fresh.size, mtimeMs: fresh.mtimeMs, date };
      }
    };
    await Promise.all(Array.from({ length: Math.min(DOWNLOAD_CONCURRENCY, objects.length) }, work));
    return files.filter((f): f is LakeFile => f !== undefined);
  }

  /** GET into a temp file beside the target, then rename: a cached file is always a whole object. */
  private async download(key: string, target: string, etag: string): Promise<void> {
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    const client = await this.client();
    await fs.mkdir(path.dirname(target), { recursive: true });
    const tmp = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}-${randomUUID()}.download`);
    try {
      const res = await client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key })).catch((err: unknown) => Promise.reject(this.fail(`download ${key}`, err)));
      await pipeline(res.Body as NodeJS.ReadableStream, createWriteStream(tmp, { flags: 'wx' })).catch((err: unknown) => Promise.reject(this.fail(`download ${key}`, err)));
      await fs.rename(tmp, target);
      await writeAtomically(etagFile(target), res.ETag ?? etag);
      this.stats.downloads++;
      this.stats.downloadedBytes += Number(res.ContentLength ?? 0);
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  // ---- writes ------------------------------------------------------------------------------

  /**
   * Uploads every file left in the outbox (by this process or one that stopped before its upload).
   * `force` ignores the back-off after a failure; `quiet` rethrows instead of logging.
   */
  async flushOutbox(options: { force?: boolean; quiet?: boolean } = {}): Promise<void> {
    if (!options.force && Date.now() < this.outboxRetryAt) return;
    // One flush at a time per process: two would upload the same files twice over.
    while (this.flushing) await this.flushing;
    const run = (async () => {
      const files = await outboxFiles(this.outboxDir);
      for (const file of files) await this.uploadOutboxFile(file);
    })();
    this.flushing = run.finally(() => (this.flushing = undefined)).catch(() => undefined);
    try {
      await run;
      this.outboxRetryAt = 0;
    } catch (err) {
      this.outboxRetryAt = Date.now() + OUTBOX_RETRY_MS;
      if (options.quiet) throw err;
      logger().warn({ err: (err as Error).message }, 'lake outbox not flushed; retrying later');
    }
  }

  private async uploadOutboxFile(file: string): Promise<void> {
    const relative = path.relative(this.outboxDir, file);
    if (relative.startsWith('..')) throw new Error(`${file} is not under the lake outbox ${this.outboxDir}`);
    const key = this.key('lake', ...relative.split(path.sep));
    const etag = await this.putIdempotent(file, key).catch((err: unknown) => {
      // Another process of this data dir uploaded and moved it meanwhile.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    });
    if (etag === undefined) return;
    const cached = path.join(this.cacheDir, relative);
    await fs.mkdir(path.dirname(cached), { recursive: true });
    await fs.rename(file, cached).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    await writeAtomically(etagFile(cached), etag);
  }

  /**
   * PUT unless the key already holds these bytes (same sha256 in its metadata): a retried upload
   * finds its own object. The server checks the body against x-amz-checksum-sha256, so a torn
   * transfer is refused, not stored. Returns the object's ETag.
   */
  async putIdempotent(file: string, key: string): Promise<string> {
    const { HeadObjectCommand, PutObjectCommand } = await import('@aws-sdk/client-s3');
    const client = await this.client();
    const sha256 = await sha256OfFile(file);
    try {
      const head = await client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      if (head.Metadata?.sha256 === sha256 && head.ETag) return head.ETag;
    } catch (err) {
      if (!isNotFound(err)) throw this.fail(`check ${key}`, err);
    }
    const size = (await fs.stat(file)).size;
    try {
      const put = await client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: createReadStream(file),
          ContentLength: size,
          ChecksumSHA256: Buffer.from(sha256, 'hex').toString('base64'),
          Metadata: { sha256 },
        }),
      );
      this.stats.uploads++;
      return put.ETag ?? '';
    } catch (err) {
      throw this.fail(`upload ${key}`, err);
    }
  }

  // ---- dataset snapshots ---------------------------------------------------------------------

  /** Uploads a finished dataset folder: the data files first, manifest.json last (its presence means the snapshot is whole). */
  async uploadDataset(model: string, datasetId: string, dir: string, fileNames: string[]): Promise<void> {
    for (const name of fileNames) await this.putIdempotent(path.join(dir, name), this.key('datasets', model, datasetId, name));
    await this.putIdempotent(path.join(dir, 'manifest.json'), this.key('datasets', model, datasetId, 'manifest.json'));
  }

  /** The snapshot's manifest text from the store, or undefined when it has none (not built, or not finished uploading). */
  async datasetManifest(model: string, datasetId: string): Promise<string | undefined> {
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    const client = await this.client();
    const key = this.key('datasets', model, datasetId, 'manifest.json');
    try {
      const res = await client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return await (res.Body as { transformToString(): Promise<string> }).transformToString();
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw this.fail(`read ${key}`, err);
    }
  }

  /** Downloads the named files of a snapshot into `dir` (which must not hold them yet). */
  async downloadDatasetFiles(model: string, datasetId: string, dir: string, fileNames: string[]): Promise<void> {
    for (const name of fileNames) await this.download(this.key('datasets', model, datasetId, name), path.join(dir, name), '');
    for (const name of fileNames) await fs.rm(etagFile(path.join(dir, name)), { force: true });
  }
}

export function etagFile(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.etag`);
}

/** YYYY-MM-DD dates from `from` to `to`, inclusive. */
export function datesBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let ms = Date.parse(`${from}T00:00:00Z`), end = Date.parse(`${to}T00:00:00Z`); ms <= end; ms += 86_400_000) out.push(new Date(ms).toISOString().slice(0, 10));
  return out;
}

async function outboxFiles(root: string): Promise<string[]> {
  const found: string[] = [];
  for (const model of await readdirOrEmpty(root)) {
    for (const kind of await readdirOrEmpty(path.join(root, model))) {
      for (const partition of (await readdirOrEmpty(path.join(root, model, kind))).filter((p) => p.startsWith('date='))) {
        const dir = path.join(root, model, kind, partition);
        for (const name of (await readdirOrEmpty(dir)).filter(isDataFileName).sort()) found.push(path.join(dir, name));
      }
    }
  }
  return found;
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return [];
    throw err;
  }
}

async function isFile(p: string): Promise<boolean> {
  return fs.stat(p).then(
    (s) => s.isFile(),
    () => false,
  );
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}-${randomUUID()}.tmp`;
  await fs.writeFile(tmp, text);
  await fs.rename(tmp, file);
}

export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.Code === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

function describe(err: unknown): string {
  const e = err as { name?: string; message?: string; code?: string; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode;
  const message = e?.message || e?.code || String(err);
  return `${e?.name ?? 'Error'}${status ? ` (HTTP ${status})` : ''}: ${message}`;
}

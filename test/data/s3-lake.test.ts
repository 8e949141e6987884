import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DeleteObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { LakeDataBackend } from '../../src/backends/data/lake/index.js';
import { BuiltinTrainingBackend } from '../../src/backends/training/index.js';
import type { LakeStoreSetting } from '../../src/config/settings.js';
import { ThreadSink, labelTuple, predictionTuple } from '../../src/serving/lake-sink.js';
import { freePort } from '../helpers/free-port.js';
import { useS3 } from '../helpers/s3.js';
import { DAY, T0, testSpec } from './helpers.js';

/**
 * The lake and datasets in S3 (RETRAIN_LAKE_STORE), against a real S3 server (versitygw): two
 * gateway writers with their own data dirs log at the same time; a third data dir reads every row
 * through the monitor's and the dataset builder's read path; a fourth trains on the dataset the
 * third built; the cache fetches only the partitions a time range needs and re-uses them.
 */
const s3 = useS3({ bucket: 'retrain-lake' });
const PREFIX = 'team/lake';
const spec = testSpec();
const dirs: string[] = [];
const backends: LakeDataBackend[] = [];

function dataDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'lake-s3-'));
  dirs.push(dir);
  return dir;
}

function store(): LakeStoreSetting {
  return { kind: 's3', bucket: s3().bucket, prefix: PREFIX };
}

function backend(dir = dataDir()): LakeDataBackend {
  const b = new LakeDataBackend({ dataDir: dir, threads: 1, store: store() });
  backends.push(b);
  return b;
}

/** Prediction tuples as a gateway logs them: replica `replica`, rows i in [from, to), one an hour from T0. */
function tuples(replica: string, from: number, to: number): unknown[][] {
  const rows: unknown[][] = [];
  for (let i = from; i < to; i++) {
    rows.push(predictionTuple(`${replica}-r${i}`, T0 + i * 3_600_000, 'v1', 'champion', `e${i % 7}`, i % 2, (i % 100) / 100, 3, { tenure: i, spend: i * 1.5, plan: ['basic', 'pro', 'team'][i % 3] }, ['tenure', 'spend', 'plan']));
  }
  return rows;
}

async function keys(prefix: string): Promise<string[]> {
  const out = await s3().client.send(new ListObjectsV2Command({ Bucket: s3().bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key ?? '');
}

describe('data lake in S3 (RETRAIN_LAKE_STORE)', () => {
  const saved = process.env.RETRAIN_LAKE_STORE;
  before(() => {
    // The gateway's writer thread reads the setting from the environment, as a replica does.
    process.env.RETRAIN_LAKE_STORE = `s3://${s3().bucket}/${PREFIX}`;
  });
  after(async () => {
    for (const b of backends) await b.close();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    if (saved === undefined) delete process.env.RETRAIN_LAKE_STORE;
    else process.env.RETRAIN_LAKE_STORE = saved;
  });

  it('two gateway replicas log at once, each from its own data dir; a third data dir reads every row', async () => {
    const replicas = [new ThreadSink({ dataDir: dataDir(), specs: [spec] }), new ThreadSink({ dataDir: dataDir(), specs: [spec] })];
    try {
      // 10 days of hourly predictions from each replica, in batches written concurrently; labels from replica b.
      const writes: Promise<number>[] = [];
      for (let day = 0; day < 10; day++) {
        writes.push(replicas[0].write('predictions', spec.name, tuples('a', day * 24, day * 24 + 24)));
        writes.push(replicas[1].write('predictions', spec.name, tuples('b', day * 24, day * 24 + 24)));
      }
      const labels = [];
      for (let i = 0; i < 240; i++) labels.push(labelTuple(`a-r${i}`, i % 3 === 0 ? 1 : 0, T0 + i * 3_600_000 + 60_000), labelTuple(`b-r${i}`, i % 2, T0 + i * 3_600_000 + 60_000));
      writes.push(replicas[1].write('labels', spec.name, labels));
      const written = await Promise.all(writes);
      assert.equal(written.reduce((a, n) => a + n, 0), 2 * 240 + 480);
    } finally {
      for (const r of replicas) await r.close();
    }
    const objects = await keys(`${PREFIX}/lake/${spec.name}/predictions/`);
    assert.equal(objects.length, 20, `one object per batch, never overwritten: ${objects.join(', ')}`);
    for (const d of dirs) assert.deepEqual(existsSync(path.join(d, 'lake-outbox')) ? listTree(path.join(d, 'lake-outbox')) : [], [], 'nothing left in an outbox');

    const reader = backend();
    const window = await reader.readWindow(spec, { from: new Date(T0), to: new Date(T0 + 10 * DAY), variant: 'all' });
    assert.equal(window.rowCount, 480);
    const values = [...(window.columns.tenure as Float64Array)].sort((x, y) => x - y);
    assert.deepEqual(values, [...Array(240).keys()].flatMap((i) => [i, i]), 'every row of both replicas, with its content');
    const matured = await reader.maturedLabels(spec, { from: new Date(T0), to: new Date(T0 + 8 * DAY), asOf: new Date(T0 + 10 * DAY) });
    assert.equal(matured.count, 2 * 192, 'every prediction of both replicas joined to its label');
    assert.equal(matured.labels.reduce((a, l) => a + l, 0), 64 + 96);
  });

  it('a dataset built in one data dir is trained on from another (no shared disk), and a rebuild elsewhere reuses the stored one', async () => {
    const control = backend();
    const asOf = new Date(T0 + 10 * DAY);
    const built = await control.buildDataset(spec, { asOf, source: 'feedback' });
    assert.ok(built.rowCounts.train > 0 && built.rowCounts.holdout > 0, JSON.stringify(built.rowCounts));
    const stored = await keys(`${PREFIX}/datasets/${spec.name}/${built.datasetId}/`);
    assert.deepEqual(stored.map((k) => path.posix.basename(k)).sort(), ['holdout.parquet', 'manifest.json', 'train.parquet', 'validation.parquet']);

    // The training worker's host has its own disk: the control worker's folder is not there.
    rmSync(built.datasetDir, { recursive: true });
    const trainingDir = dataDir();
    const training = backend(trainingDir);
    const local = await training.localDataset(spec, { datasetId: built.datasetId, datasetDir: built.datasetDir });
    assert.equal(local, path.join(trainingDir, 'datasets', spec.name, built.datasetId));
    const result = await new BuiltinTrainingBackend().train({ spec, datasetDir: local, outputDir: path.join(trainingDir, 'artifacts', 'run-1'), runId: 'run-1' }, { onProgress: () => {}, signal: new AbortController().signal });
    assert.ok(result.artifactUri.startsWith('file://') && Number.isFinite(result.metrics.roc_auc), JSON.stringify(result.metrics));

    // A retried build on another control worker finds the same id and the stored snapshot, not a second one.
    const again = await backend().buildDataset(spec, { asOf, source: 'feedback' });
    assert.equal(again.datasetId, built.datasetId);
    assert.equal(again.reused, true);
    assert.equal(again.contentHash, built.contentHash);
    assert.equal((await keys(`${PREFIX}/datasets/${spec.name}/`)).length, 4);

    // A build that stopped between its local rename and its upload: the next build here uploads it.
    const retried = backends[backends.length - 1];
    for (const key of stored) await s3().client.send(new DeleteObjectCommand({ Bucket: s3().bucket, Key: key }));
    assert.equal((await retried.buildDataset(spec, { asOf, source: 'feedback' })).reused, true);
    assert.deepEqual((await keys(`${PREFIX}/datasets/${spec.name}/${built.datasetId}/`)).sort(), [...stored].sort());

    // Stored bytes that no longer match the manifest are refused, naming the store, and leave nothing behind.
    await s3().client.send(new PutObjectCommand({ Bucket: s3().bucket, Key: `${PREFIX}/datasets/${spec.name}/${built.datasetId}/train.parquet`, Body: 'not the snapshot' }));
    const elsewhere = dataDir();
    await assert.rejects(backend(elsewhere).localDataset(spec, { datasetId: built.datasetId, datasetDir: built.datasetDir }), /RETRAIN_LAKE_STORE=s3:\/\/retrain-lake\/team\/lake: its files hash to sha256:[0-9a-f]+, the manifest says/);
    assert.deepEqual(listTree(path.join(elsewhere, 'datasets')), []);
  });

  it('fetches only the partitions a time range needs and re-uses unchanged copies; a new object is fetched alone', async () => {
    const dir = dataDir();
    const reader = backend(dir);
    const day3 = { from: new Date(T0 + 3 * DAY), to: new Date(T0 + 4 * DAY), variant: 'all' as const };
    assert.equal((await reader.readWindow(spec, day3)).rowCount, 48);
    const cached = listTree(path.join(dir, 'lake-cache', spec.name, 'predictions'));
    assert.deepEqual([...new Set(cached.map((f) => path.dirname(f)))], ['date=2024-01-04'], 'only the day asked for');
    assert.equal(reader.layout.remote!.stats.downloads, 2);

    assert.equal((await reader.readWindow(spec, day3)).rowCount, 48);
    assert.equal(reader.layout.remote!.stats.downloads, 2, 'nothing downloaded again');
    assert.equal(reader.layout.remote!.stats.reused, 2);

    // Another writer adds a file to that day: the next read fetches that one only.
    const objectsBefore = await keys(`${PREFIX}/lake/${spec.name}/predictions/date=2024-01-04/`);
    const writer = backend();
    await writer.appendPredictions(spec, [
      { request_id: 'late-1', ts: new Date(T0 + 3 * DAY + 60_000), model_version: 'v1', variant: 'champion', entity_id: 'e', features: { tenure: 1, spend: 1, plan: 'pro' }, prediction: 1, score: 0.9, latency_ms: 2 },
    ]);
    assert.equal((await reader.readWindow(spec, day3)).rowCount, 49);
    assert.equal(reader.layout.remote!.stats.downloads, 3);

    // An object deleted from the store: its (old) cached copy is dropped, not read.
    const lateKey = (await keys(`${PREFIX}/lake/${spec.name}/predictions/date=2024-01-04/`)).find((k) => !objectsBefore.includes(k))!;
    await s3().client.send(new DeleteObjectCommand({ Bucket: s3().bucket, Key: lateKey }));
    const copy = path.join(dir, 'lake-cache', spec.name, 'predictions', 'date=2024-01-04', path.posix.basename(lateKey));
    const anHourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(copy, anHourAgo, anHourAgo);
    assert.equal((await reader.readWindow(spec, day3)).rowCount, 48);
    assert.equal(existsSync(copy), false);
  });

  it('an unreachable store is one error naming RETRAIN_LAKE_STORE; a write meanwhile waits in the outbox and lands once', async () => {
    const dir = dataDir();
    const lake = backend(dir);
    const endpoint = process.env.AWS_ENDPOINT_URL;
    process.env.AWS_ENDPOINT_URL = `http://127.0.0.1:${await freePort()}`; // nothing listens there
    try {
      await assert.rejects(lake.readWindow(spec, { from: new Date(T0), to: new Date(T0 + DAY) }), (err: Error) => {
        assert.match(err.message, /^lake store RETRAIN_LAKE_STORE=s3:\/\/retrain-lake\/team\/lake: could not list team\/lake\/lake\/churn\/predictions\/date=2024-01-01\//);
        return true;
      });
      const written = await lake.appendPredictions(spec, [
        { request_id: 'offline-1', ts: new Date(T0 + 5 * DAY), model_version: 'v1', variant: 'champion', entity_id: 'e', features: { tenure: 1, spend: 1, plan: 'pro' }, prediction: 1, score: 0.9, latency_ms: 2 },
      ]);
      assert.equal(written.rowsWritten, 1);
      assert.equal(listTree(path.join(dir, 'lake-outbox')).length, 1, 'kept on disk until the store answers');
    } finally {
      process.env.AWS_ENDPOINT_URL = endpoint;
    }
    const day5 = { from: new Date(T0 + 5 * DAY), to: new Date(T0 + 6 * DAY), variant: 'all' as const };
    assert.equal((await lake.readWindow(spec, day5)).rowCount, 49, 'the outbox is flushed before the read');
    assert.deepEqual(listTree(path.join(dir, 'lake-outbox')), []);
    assert.equal((await backend().readWindow(spec, day5)).rowCount, 49, 'and another data dir sees the row once');
  });
});

/** Files under a folder, relative, skipping dot-files (temp files, ETags). */
function listTree(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.startsWith('.'))
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
    .sort();
}

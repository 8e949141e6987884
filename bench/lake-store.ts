/**
 * The lake in S3 (RETRAIN_LAKE_STORE) against the local lake, on the same rows: a 7-day drift
 * check's read (readWindow, every variant) from the local Parquet lake, and from the store through
 * a fresh data dir's cache (cold: list + download every partition the range needs) and a warm one
 * (list, ETags match, nothing downloaded). Writes are the gateway's: 1,000-row batches through
 * appendPredictions (local rename vs outbox + upload). The S3 server is a real versitygw on
 * loopback (test/helpers/s3.ts), so the figures are a lower bound of what a network adds.
 *
 *   npx tsx bench/lake-store.ts [--days 7] [--files-per-day 24] [--rows-per-file 1000] [--reps 5]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LakeDataBackend } from '../src/backends/data/lake/index.js';
import type { PredictionRow } from '../src/backends/data/types.js';
import { closeS3Clients } from '../src/backends/artifacts/index.js';
import { model } from '../src/config/schema.js';
import { createLogger, setLogger } from '../src/runtime/logger.js';
import { startS3Server } from '../test/helpers/s3.js';

const args = process.argv.slice(2);
const opt = (name: string, def: number): number => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const DAYS = opt('--days', 7);
const FILES_PER_DAY = opt('--files-per-day', 24);
const ROWS_PER_FILE = opt('--rows-per-file', 1000);
const REPS = opt('--reps', 5);
const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);
setLogger(createLogger({ level: 'warn' }));

const features = [...Array.from({ length: 10 }, (_, i) => ({ name: `x${i}`, type: 'numerical' as const })), { name: 'plan', type: 'categorical' as const }];
const spec = model.parse({ name: 'bench', task: 'binary_classification', features, label: { name: 'y', delay: '1h' } });

function batch(day: number, file: number): PredictionRow[] {
  const rows: PredictionRow[] = [];
  const start = T0 + day * DAY + file * (DAY / FILES_PER_DAY);
  for (let r = 0; r < ROWS_PER_FILE; r++) {
    const f: Record<string, number | string> = { plan: ['a', 'b', 'c'][r % 3] };
    for (let i = 0; i < 10; i++) f[`x${i}`] = Math.sin(r * (i + 1) + day) * 100;
    rows.push({ request_id: `d${day}-f${file}-r${r}`, ts: new Date(start + r), model_version: 'v1', variant: 'champion', entity_id: null, features: f, prediction: r % 2, score: (r % 97) / 97, latency_ms: 2 });
  }
  return rows;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

const server = await startS3Server({ bucket: 'bench-lake' });
Object.assign(process.env, server.env);
const dirs: string[] = [];
const dir = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'bench-lake-store-'));
  dirs.push(d);
  return d;
};
const store = { kind: 's3' as const, bucket: server.bucket, prefix: 'bench' };
const local = new LakeDataBackend({ dataDir: dir(), threads: 2 });
const writer = new LakeDataBackend({ dataDir: dir(), threads: 2, store });
const opened: LakeDataBackend[] = [local, writer];
try {
  const writeLocal: number[] = [];
  const writeS3: number[] = [];
  for (let day = 0; day < DAYS; day++) {
    for (let file = 0; file < FILES_PER_DAY; file++) {
      const rows = batch(day, file);
      writeLocal.push(await time(() => local.appendPredictions(spec, rows)));
      writeS3.push(await time(() => writer.appendPredictions(spec, rows)));
    }
  }
  const range = { from: new Date(T0), to: new Date(T0 + DAYS * DAY), variant: 'all' as const };
  const total = DAYS * FILES_PER_DAY * ROWS_PER_FILE;
  const check = async (b: LakeDataBackend) => {
    const r = await b.readWindow(spec, range);
    if (r.rowCount !== total) throw new Error(`read ${r.rowCount} rows, expected ${total}`);
  };

  await check(local); // the schema checks of a first read, as every reader pays once
  const localMs: number[] = [];
  for (let i = 0; i < REPS; i++) localMs.push(await time(() => check(local)));

  const cold: number[] = [];
  let stats = { downloads: 0, downloadedBytes: 0, listRequests: 0 };
  for (let i = 0; i < Math.min(REPS, 3); i++) {
    const reader = new LakeDataBackend({ dataDir: dir(), threads: 2, store });
    opened.push(reader);
    cold.push(await time(() => check(reader)));
    stats = { ...reader.layout.remote!.stats };
  }
  const warmReader = opened[opened.length - 1];
  const warm: number[] = [];
  for (let i = 0; i < REPS; i++) warm.push(await time(() => check(warmReader)));

  const f = (ms: number) => `${ms.toFixed(0)} ms`;
  console.log(`lake-store bench: ${total.toLocaleString()} predictions (${DAYS} days x ${FILES_PER_DAY} files x ${ROWS_PER_FILE} rows, 11 features), versitygw on loopback`);
  console.log(`  write a ${ROWS_PER_FILE}-row batch    local ${f(median(writeLocal))}   S3 (outbox + PUT) ${f(median(writeS3))}   (medians of ${writeLocal.length})`);
  console.log(`  7-day read, local lake       ${f(median(localMs))}   (median of ${REPS})`);
  console.log(`  7-day read, S3 cold cache    ${f(median(cold))}   (${stats.listRequests} LIST, ${stats.downloads} GET, ${(stats.downloadedBytes / 2 ** 20).toFixed(1)} MB; median of ${cold.length})`);
  console.log(`  7-day read, S3 warm cache    ${f(median(warm))}   (${DAYS} LIST, 0 GET; median of ${REPS})`);
} finally {
  for (const b of opened) await b.close();
  await closeS3Clients();
  await server.stop();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
}

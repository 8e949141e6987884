import { randomUUID } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { LakeKind } from '../types.js';
import { isDataFileName, type LakeFile } from './files.js';
import type { RemoteLake } from './remote.js';

export { isDataFileName, type LakeFile } from './files.js';

/**
 * Where things live on disk:
 *   <dataDir>/lake/<model>/{predictions,labels,training,serving_errors}/date=YYYY-MM-DD/<time>-<uuid>.parquet
 *   <dataDir>/lake/<model>/quarantine/<kind>/date=.../<file> + <file>.reason.json
 *   <dataDir>/datasets/<model>/<datasetId>/{train,validation,holdout}.parquet + manifest.json
 * Partitions are by UTC date of the row's own time (ts, or label_ts for labels).
 *
 * With a lake store (RETRAIN_LAKE_STORE, remote.ts) the same tree lives in object storage: writes
 * go to <dataDir>/lake-outbox (uploaded, then moved into the cache), reads list the store and run
 * on the copies under <dataDir>/lake-cache, where quarantined files go too.
 */

export const DAY_MS = 86_400_000;

export class LakeLayout {
  constructor(
    readonly dataDir: string,
    readonly remote?: RemoteLake,
  ) {}

  /** Where this process writes new lake files: the lake itself, or the outbox of the lake store. */
  get lakeDir(): string {
    return this.remote ? this.remote.outboxDir : path.join(this.dataDir, 'lake');
  }

  modelDir(model: string): string {
    return path.join(this.lakeDir, model);
  }

  kindDir(model: string, kind: LakeKind): string {
    return path.join(this.modelDir(model), kind);
  }

  partitionDir(model: string, kind: LakeKind, date: string): string {
    return path.join(this.kindDir(model, kind), `date=${date}`);
  }

  quarantineDir(model: string): string {
    return path.join(this.remote ? path.join(this.remote.cacheDir, model) : this.modelDir(model), 'quarantine');
  }

  datasetsDir(model: string): string {
    return path.join(this.dataDir, 'datasets', model);
  }

  /** Spill space for DuckDB when a sort or join outgrows memory. */
  get scratchDir(): string {
    return path.join(this.dataDir, 'tmp', 'duckdb');
  }

  /**
   * Data files of one table, oldest partition first, optionally pruned to partitions within
   * [fromDate, toDate] (inclusive, YYYY-MM-DD). Hidden names (temp files being written) are skipped.
   */
  async listFiles(model: string, kind: LakeKind, range: { fromDate?: string; toDate?: string } = {}): Promise<LakeFile[]> {
    if (this.remote) return this.remote.listFiles(model, kind, range);
    const root = this.kindDir(model, kind);
    const partitions = (await readdirOrEmpty(root)).filter((name) => /^date=\d{4}-\d{2}-\d{2}$/.test(name)).sort();
    const files: LakeFile[] = [];
    for (const partition of partitions) {
      const date = partition.slice(5);
      if (range.fromDate && date < range.fromDate) continue;
      if (range.toDate && date > range.toDate) continue;
      const names = (await readdirOrEmpty(path.join(root, partition))).filter(isDataFileName).sort();
      for (const name of names) {
        const full = path.join(root, partition, name);
        const stat = await fs.stat(full).catch(() => undefined); // quarantined by another process meanwhile
        if (!stat?.isFile()) continue;
        files.push({ path: full, relative: path.join(kind, partition, name), bytes: stat.size, mtimeMs: stat.mtimeMs, date });
      }
    }
    return files;
  }
}

/** A name that sorts by write time and never collides across processes: 20240115T103000123Z-<uuid>.parquet. */
export function newDataFileName(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:.]/g, '');
  return `${stamp}-${randomUUID()}.parquet`;
}

/** The hidden name a file is written under before it is renamed into view. */
export function tempNameFor(finalPath: string): string {
  return path.join(path.dirname(finalPath), `.${path.basename(finalPath)}.${process.pid}.tmp`);
}

/** UTC date (YYYY-MM-DD) of an instant in epoch milliseconds. */
export function utcDate(ms: number): string {
  return new Date(Math.floor(ms / DAY_MS) * DAY_MS).toISOString().slice(0, 10);
}

/** Partition dates that can hold rows with time in [from, to). */
export function datesForRange(from: Date, to: Date): { fromDate: string; toDate: string } {
  return { fromDate: utcDate(from.getTime()), toDate: utcDate(Math.max(from.getTime(), to.getTime() - 1)) };
}

async function readdirOrEmpty(dir: string): Promise<string[]> {
  try {
    return await fs.readdir(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

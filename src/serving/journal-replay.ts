import { rmSync } from 'node:fs';
import type { Logger } from '../runtime/logger.js';
import { claimOrphanJournals, readJournalDir, type JournalRecord } from './journal.js';
import type { LakeLog } from './lake-log.js';
import { LOG_TABLES, rowKey, type LakeSink, type LogRow, type LogTable } from './lake-sink.js';

/**
 * Replay at start: the journals of gateway processes that died (kill -9, OOM, power loss) hold
 * rows that may never have reached the lake. Each claimed journal's rows are checked against the
 * lake (the sink's filterNew: a batch written just before the kill is in the lake but was never
 * marked retired) and the missing ones are handed to this gateway's lake log, which journals them
 * again in its own journal before the old directory is deleted: a crash during replay loses nothing.
 */
export interface ReplayResult {
  journals: number;
  /** Rows handed to the lake log (not in the lake yet). */
  replayed: number;
  /** Rows found already in the lake and skipped. */
  alreadyInLake: number;
  corrupt: number;
  tornBytes: number;
  /** Every record read, in order, with the instance it came from (live counts are rebuilt from them). */
  records: { fromInstance: string; records: JournalRecord[] }[];
}

const CHUNK = 20_000;

export async function replayOrphanJournals(options: {
  root: string;
  ownId: string;
  sink: Required<Pick<LakeSink, 'filterNew'>>;
  lakeLog: LakeLog;
  /** Flushes this gateway's own journal (the replayed rows are in it once this returns). */
  flushOwn: () => void;
  models: ReadonlySet<string>;
  log: Logger;
}): Promise<ReplayResult> {
  const result: ReplayResult = { journals: 0, replayed: 0, alreadyInLake: 0, corrupt: 0, tornBytes: 0, records: [] };
  // A replay that died between journaling its rows and deleting the old directory leaves the rows
  // in two journals: both are claimed now, and the second copy must not be queued again.
  const queued = new Set<string>();
  for (const claim of claimOrphanJournals(options.root, options.ownId)) {
    const contents = readJournalDir(claim.dir);
    result.corrupt += contents.corrupt;
    result.tornBytes += contents.tornBytes;
    try {
      for (const [key, rows] of groupLakeRows(contents.records)) {
        const [table, model] = key.split('\u0000') as [LogTable, string];
        // A model no longer served: its rows go to the lake log anyway, which dead-letters what the lake refuses.
        const notInLake = options.models.has(model) ? await filterInChunks(options.sink, table, model, rows) : rows;
        const fresh = notInLake.filter((row) => {
          const key = `${model}\u0000${table}\u0000${rowKey(table, row)}`;
          if (queued.has(key)) return false;
          queued.add(key);
          return true;
        });
        result.alreadyInLake += rows.length - fresh.length;
        result.replayed += fresh.length;
        for (const row of fresh) options.lakeLog.append(table, model, row);
      }
      options.flushOwn();
      rmSync(claim.dir, { recursive: true, force: true });
      result.journals++;
      result.records.push({ fromInstance: claim.fromInstance, records: contents.records });
    } catch (err) {
      // Left in place under our name: the next start after this process ends claims it again.
      options.log.error({ err: (err as Error).message, dir: claim.dir }, 'journal replay failed: could not check the lake for rows already written; the journal is kept for the next start');
    }
  }
  if (result.journals > 0 || result.corrupt > 0) {
    const { records: _records, ...summary } = result;
    options.log.info(summary, 'replayed the journals of gateway processes that did not stop cleanly');
  }
  return result;
}

function groupLakeRows(records: JournalRecord[]): Map<string, LogRow[]> {
  const groups = new Map<string, LogRow[]>();
  for (const r of records) {
    if (!LOG_TABLES.includes(r.kind)) continue;
    const key = `${r.kind}\u0000${r.model}`;
    let rows = groups.get(key);
    if (!rows) groups.set(key, (rows = []));
    rows.push(r.row);
  }
  return groups;
}

async function filterInChunks(sink: Required<Pick<LakeSink, 'filterNew'>>, table: LogTable, model: string, rows: LogRow[]): Promise<LogRow[]> {
  const out: LogRow[] = [];
  for (let i = 0; i < rows.length; i += CHUNK) for (const r of await sink.filterNew(table, model, rows.slice(i, i + CHUNK))) out.push(r);
  return out;
}

import { parentPort, workerData } from 'node:worker_threads';
import { LakeDataBackend } from '../backends/data/lake/backend.js';
import { Duck, sql } from '../backends/data/lake/duck.js';
import { datesForRange } from '../backends/data/lake/layout.js';
import type { ModelSpec } from '../config/schema.js';
import { rowKey, writeRows, type LogRow, type LogTable } from './lake-sink.js';

/** The lake writer thread of ThreadSink: one DuckDB instance, one write at a time, replies by id. */
const port = parentPort;
if (!port) throw new Error('lake-sink-worker must run in a worker thread');
const { dataDir, specs, threads } = workerData as { dataDir: string; specs: ModelSpec[]; threads: number };
const bySpec = new Map(specs.map((s) => [s.name, s]));
const backend = new LakeDataBackend({ dataDir, threads });
// Only journal replay reads (at start); opened on first use.
const reader = new Duck({ scratchDir: backend.layout.scratchDir, threads });

interface Message {
  id?: number;
  op?: 'close' | 'existing';
  table?: LogTable;
  model?: string;
  rows?: LogRow[];
}

let chain = Promise.resolve();
port.on('message', (m: Message) => {
  if (m.op === 'close') {
    chain = chain.then(async () => {
      await backend.close();
      await reader.close();
      port.close();
    });
    return;
  }
  chain = chain.then(async () => {
    try {
      const spec = bySpec.get(m.model ?? '');
      if (!spec) throw Object.assign(new Error(`unknown model ${m.model}`), { nonRetryable: true });
      const rows = m.rows ?? [];
      if (m.op === 'existing') {
        port.postMessage({ id: m.id, ok: true, keys: await existingKeys(spec.name, m.table ?? 'predictions', rows) });
        return;
      }
      port.postMessage({ id: m.id, ok: true, rows: await writeRows(backend, spec, m.table ?? 'predictions', rows) });
    } catch (err) {
      port.postMessage({ id: m.id, ok: false, message: (err as Error).message, nonRetryable: Boolean((err as { nonRetryable?: boolean }).nonRetryable) });
    }
  });
});

/**
 * Keys (rowKey) of the given rows that the lake already holds. Reads only the partitions and the
 * time range the rows span: predictions and errors by ts, labels by label_ts (their partition is
 * the arrival).
 */
async function existingKeys(model: string, table: LogTable, rows: LogRow[]): Promise<string[]> {
  if (rows.length === 0) return [];
  const labels = table === 'labels';
  const tsColumn = labels ? 'label_ts' : 'ts';
  const times = rows.map((r) => (labels ? (r[2] as number) : (r[1] as number)));
  const from = Math.min(...times) - 1;
  const to = Math.max(...times) + 1;
  const files = await backend.layout.listFiles(model, table, datesForRange(new Date(from), new Date(to + 1)));
  if (files.length === 0) return [];
  const wanted = new Set(rows.map((r) => rowKey(table, r)));
  const select = labels ? 'request_id, label, epoch_ms(label_ts)::DOUBLE' : 'request_id, variant';
  return reader.with(async (connection) => {
    const result = await connection.runAndReadAll(
      `SELECT DISTINCT ${select} FROM ${sql.parquet(files.map((f) => f.path))} WHERE ${tsColumn} >= ${sql.ts(from)} AND ${tsColumn} <= ${sql.ts(to)}`,
    );
    const keys: string[] = [];
    for (const row of result.getRowsJS()) {
      const key = labels ? rowKey(table, [row[0], Number(row[1]), Number(row[2])]) : rowKey(table, [row[0], 0, 0, row[1]]);
      if (wanted.has(key)) keys.push(key);
    }
    return keys;
  });
}

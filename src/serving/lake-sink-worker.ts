import { parentPort, workerData } from 'node:worker_threads';
import { LakeDataBackend } from '../backends/data/lake/backend.js';
import type { ModelSpec } from '../config/schema.js';
import { toLabelRow, toPredictionRow, type LogRow } from './lake-sink.js';

/** The lake writer thread of ThreadSink: one DuckDB instance, one write at a time, replies by id. */
const port = parentPort;
if (!port) throw new Error('lake-sink-worker must run in a worker thread');
const { dataDir, specs, threads } = workerData as { dataDir: string; specs: ModelSpec[]; threads: number };
const bySpec = new Map(specs.map((s) => [s.name, s]));
const backend = new LakeDataBackend({ dataDir, threads });

let chain = Promise.resolve();
port.on('message', (m: { id?: number; op?: 'close'; table?: 'predictions' | 'labels'; model?: string; rows?: LogRow[] }) => {
  if (m.op === 'close') {
    chain = chain.then(async () => {
      await backend.close();
      port.close();
    });
    return;
  }
  chain = chain.then(async () => {
    try {
      const spec = bySpec.get(m.model ?? '');
      if (!spec) throw Object.assign(new Error(`unknown model ${m.model}`), { nonRetryable: true });
      const rows = m.rows ?? [];
      const result =
        m.table === 'predictions'
          ? await backend.appendPredictions(spec, rows.map((t) => toPredictionRow(spec, t)))
          : await backend.appendLabels(spec, rows.map(toLabelRow));
      port.postMessage({ id: m.id, ok: true, rows: result.rowsWritten });
    } catch (err) {
      port.postMessage({ id: m.id, ok: false, message: (err as Error).message, nonRetryable: Boolean((err as { nonRetryable?: boolean }).nonRetryable) });
    }
  });
});

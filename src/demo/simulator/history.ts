import type { AppendResult, DataBackend } from '../../backends/data/types.js';
import type { ModelSpec } from '../../config/schema.js';
import { generateHistory, type HistoryOptions } from './generator.js';

/** Generates a labelled history and appends it to the lake's training table, in day-sized chunks. */
export async function writeHistory(data: DataBackend, spec: ModelSpec, options: HistoryOptions = {}): Promise<AppendResult & { positives: number }> {
  const rows = generateHistory(spec, options);
  const total: AppendResult & { positives: number } = { rowsWritten: 0, rowsWithMissingFeatures: 0, partitions: [], files: [], positives: 0 };
  const chunk = Math.max(1, options.rowsPerDay ?? 2_000) * 7;
  for (let i = 0; i < rows.length; i += chunk) {
    const part = rows.slice(i, i + chunk);
    const r = await data.appendTraining(spec, part);
    total.rowsWritten += r.rowsWritten;
    total.rowsWithMissingFeatures += r.rowsWithMissingFeatures;
    total.partitions.push(...r.partitions);
    total.files.push(...r.files);
  }
  for (const r of rows) total.positives += r.label;
  return total;
}

import type { Command } from 'commander';
import { DataInputError, IMPORT_KINDS, type ImportKind, type LakeKind } from '../../backends/data/types.js';
import { requireModel } from '../models.js';
import { configOption } from '../options.js';

/** `retrain data import`: CSV, Parquet or JSON Lines into the lake, checked against the model's features. */
export function registerDataCommands(program: Command): void {
  program
    .command('data')
    .description('the Parquet lake')
    .command('import <model> <file>')
    .description('append a CSV, Parquet or JSON Lines file to the lake; a file that does not match the features is refused whole')
    .requiredOption('--kind <kind>', `what the file holds: ${IMPORT_KINDS.join(', ')}`)
    .action(async (model: string, file: string, opts: { kind: string }) => {
      // An unknown model is refused before the heavy modules load.
      const options = configOption(program);
      const { spec } = await requireModel(options, model);
      // Loaded on use, not at every start (see main.ts).
      const { createLakeBackend } = await import('../../backends/data/lake/backend.js');
      const { ConfigError } = await import('../../config/load.js');
      const { runtimeSettings } = await import('../../config/settings.js');
      const { emit } = await import('../output.js');
      if (!IMPORT_KINDS.includes(opts.kind as ImportKind)) throw new ConfigError('--kind', [`expected ${IMPORT_KINDS.join(', ')}, got "${opts.kind}"`]);
      const lake = createLakeBackend({ dataDir: runtimeSettings().dataDir });
      try {
        const result = await lake.importFile(spec, opts.kind as LakeKind, file);
        emit(options, result, () => `imported ${result.rowsWritten} ${opts.kind} rows into ${result.partitions.length} partition(s); ${result.rowsWithMissingFeatures} rows with missing features`);
      } catch (err) {
        if (err instanceof DataInputError) throw new ConfigError(file, [err.message]);
        throw err;
      } finally {
        await lake.close();
      }
    });
}

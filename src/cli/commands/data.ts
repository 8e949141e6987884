import type { Command } from 'commander';
import { IMPORT_KINDS, type ImportKind, type LakeKind } from '../../backends/data/types.js';
import type { GlobalOptions } from '../options.js';
import { requireModel } from '../models.js';
import { configOption } from '../options.js';

/** `retrain data import`: CSV, Parquet or JSON Lines into the lake, checked against the model's features. */
export function registerDataCommands(program: Command): void {
  let columnsHelp = '';
  const data = program
    .command('data')
    .description('the Parquet lake')
    // Only for `--help`: the columns each kind needs, from the lake's own column lists and the config.
    .hook('preSubcommand', async () => {
      if (process.argv.includes('--help') || process.argv.includes('-h')) columnsHelp = await importColumnsHelp(configOption(program));
    });
  data
    .command('import <model> <file>')
    .description('append a CSV, Parquet or JSON Lines file to the lake; a file that does not match the features is refused whole, a file imported before is not imported again')
    .requiredOption('--kind <kind>', `what the file holds: ${IMPORT_KINDS.join(', ')}`)
    .option('--again', 'import a file whose content was imported before (its rows are appended a second time)')
    .addHelpText('after', () => columnsHelp)
    .action(async (model: string, file: string, opts: { kind: string; again?: boolean }) => {
      // An unknown model is refused before the heavy modules load.
      const options = configOption(program);
      const { spec } = await requireModel(options, model);
      // Loaded on use, not at every start (see main.ts).
      const { stat, readFile } = await import('node:fs/promises');
      const path = await import('node:path');
      const { DataInputError } = await import('../../backends/data/types.js');
      const { lakeColumns } = await import('../../backends/data/lake/columns.js');
      const { ConfigError } = await import('../../config/load.js');
      const { runtimeSettings } = await import('../../config/settings.js');
      const { emit, BadInputError } = await import('../output.js');
      const { fileSha256, findImport, recordImport } = await import('../import-log.js');
      if (!IMPORT_KINDS.includes(opts.kind as ImportKind)) throw new ConfigError('--kind', [`expected ${IMPORT_KINDS.join(', ')}, got "${opts.kind}"`]);
      const kind = opts.kind as ImportKind;
      const dataDir = runtimeSettings().dataDir;
      const absolute = path.resolve(file);
      const size = (await stat(absolute).catch(() => undefined))?.size;
      if (size === undefined) throw new BadInputError(`cannot import ${file}: file not found`);
      // An empty file has no header: the CSV reader would name its one imagined column "column0".
      const blank = size === 0 || (size < 4096 && (await readFile(absolute, 'utf8')).trim() === '');
      if (blank) {
        const columns = lakeColumns(spec, kind).map((c) => c.name + (c.optional ? '?' : ''));
        throw new BadInputError(`cannot import ${file}: the file is empty; a ${kind} file for ${spec.name} needs the columns ${columns.join(', ')} (see retrain data import --help)`);
      }
      const sha256 = await fileSha256(absolute);
      const before = await findImport(dataDir, spec.name, kind, sha256);
      if (before && !opts.again) {
        const same = before.file === absolute ? 'was imported' : `has the same content as ${before.file}, imported`;
        emit(options, { model: spec.name, kind, file: absolute, imported: false, alreadyImported: before }, () =>
          `already imported: ${file} ${same} as ${kind} at ${before.at} (${before.rows} rows); nothing was imported (--again imports it a second time)`,
        );
        return;
      }
      const { createLakeBackend } = await import('../../backends/data/lake/backend.js');
      const lake = createLakeBackend({ dataDir });
      try {
        const result = await lake.importFile(spec, kind as LakeKind, absolute);
        if (result.rowsWritten > 0) await recordImport(dataDir, spec.name, { sha256, kind, file: absolute, rows: result.rowsWritten, at: new Date().toISOString() });
        emit(options, { ...result, imported: result.rowsWritten > 0 }, () =>
          result.rowsWritten === 0
            ? `${file} has a header but no rows: nothing was imported`
            : `imported ${result.rowsWritten} ${kind} rows into ${result.partitions.length} partition(s); ${result.rowsWithMissingFeatures} rows with missing features`,
        );
      } catch (err) {
        // The importer's message names the file already.
        if (err instanceof DataInputError) throw new BadInputError(err.message);
        throw err;
      } finally {
        await lake.close();
      }
    });
}

/**
 * The help's list of columns: per kind in general (the features and the label by role), and for
 * each model of the config by name when the config loads. A column marked ? may be left out.
 */
export async function importColumnsHelp(options: GlobalOptions): Promise<string> {
  const { lakeColumns } = await import('../../backends/data/lake/columns.js');
  type Spec = Parameters<typeof lakeColumns>[0];
  const list = (spec: Spec, kind: ImportKind) => lakeColumns(spec, kind).map((c) => c.name + (c.optional ? '?' : '')).join(', ');
  const generic = { name: 'any', features: [{ name: '<every feature>', type: 'numerical' }], label: { name: '<the label>' } } as unknown as Spec;
  const lines = [
    '',
    'Columns (a header row naming them, any order; a file with a column missing or one more is refused; ? = may be left out):',
    ...IMPORT_KINDS.map((k) => `  ${k.padEnd(12)} ${list(generic, k)}`),
  ];
  try {
    const { configPath, loadConfig } = await import('../../config/load.js');
    const config = loadConfig(options.config);
    for (const spec of config.models) {
      lines.push('', `For ${spec.name} (${configPath(options.config)}):`, ...IMPORT_KINDS.map((k) => `  ${k.padEnd(12)} ${list(spec, k)}`));
    }
  } catch {
    lines.push('', 'The columns of each model are listed here when its config (retrain.yaml, --config) loads.');
  }
  return `${lines.join('\n')}\n`;
}

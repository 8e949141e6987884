import path from 'node:path';
import type { Command } from 'commander';
import { ledgerEntries, listModels, showModel } from '../../backends/registry/queries.js';
import { RegistryError } from '../../backends/registry/types.js';
import { SqliteRegistry } from '../../backends/registry/sqlite.js';
import { runtimeSettings } from '../../config/settings.js';
import { emit, RefusedError } from '../output.js';
import { configOption } from '../options.js';

function withRegistry<T>(use: (registry: SqliteRegistry) => T): T {
  const registry = new SqliteRegistry({ path: path.join(runtimeSettings().dataDir, 'registry.db') });
  try {
    return use(registry);
  } catch (err) {
    if (err instanceof RegistryError) throw new RefusedError(err.message);
    throw err;
  } finally {
    registry.close();
  }
}

const metricText = (m: Record<string, number | null>) =>
  Object.entries(m)
    .filter(([, v]) => typeof v === 'number')
    .map(([k, v]) => `${k} ${(v as number).toFixed(4)}`)
    .join(', ');

/** `retrain models list|show` and `retrain ledger`: the registry, read-only. */
export function registerRegistryCommands(program: Command): void {
  const models = program.command('models').description('model versions and aliases in the registry');
  models
    .command('list')
    .description('every model with its champion, challenger and previous versions')
    .action(() => {
      const options = configOption(program);
      const rows = withRegistry((r) => listModels(r));
      emit(options, rows, () =>
        rows.length === 0
          ? 'no models registered yet'
          : rows.map((m) => `${m.model.padEnd(24)} champion ${m.champion ?? '-'}  challenger ${m.challenger ?? '-'}  previous ${m.previous ?? '-'}  (${m.versionCount} versions)`).join('\n'),
      );
    });
  models
    .command('show <model> [version]')
    .description('versions of a model (or one version) with metrics, dataset, cost and who made it')
    .action((model: string, version?: string) => {
      const options = configOption(program);
      const detail = withRegistry((r) => showModel(r, model));
      const versions = version === undefined ? detail.versions : detail.versions.filter((v) => String(v.version) === version || v.aliases.includes(version as never));
      if (version !== undefined && versions.length === 0) throw new RefusedError(`model ${model} has no version ${version}`);
      emit(options, version === undefined ? detail : versions[0], () =>
        [
          `${model}: champion ${detail.aliases.champion ?? '-'}, challenger ${detail.aliases.challenger ?? '-'}, previous ${detail.aliases.previous ?? '-'}; spend ${detail.month} $${detail.spendThisMonth.toFixed(2)}`,
          ...versions.map((v) => `  v${v.version}${v.aliases.length ? ` [${v.aliases.join(', ')}]` : ''} ${v.createdAt} ${v.format} ${v.datasetId ?? ''} $${v.costUsd.toFixed(2)}\n      ${metricText(v.metrics)}\n      ${v.artifactUri}`),
        ].join('\n'),
      );
    });

  program
    .command('ledger [model]')
    .description('the append-only promotion ledger: every alias move, who, why, metrics before and after')
    .option('--limit <n>', 'entries', (v) => Number.parseInt(v, 10), 50)
    .action((model: string | undefined, opts: { limit: number }) => {
      const options = configOption(program);
      const entries = withRegistry((r) => ledgerEntries(r, { model, limit: opts.limit }));
      emit(options, entries, () =>
        entries.length === 0
          ? 'the ledger is empty'
          : entries.map((e) => `${e.at} ${e.model} ${e.action} ${e.fromVersion ?? '-'} → ${e.toVersion ?? '-'} by ${e.actor}: ${e.reason}`).join('\n'),
      );
    });
}

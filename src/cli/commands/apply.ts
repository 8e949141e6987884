import type { Command } from 'commander';
import { configOption } from '../options.js';
import { withClient } from '../temporal-client.js';

const MARK = { create: '+', update: '~', delete: '-', unchanged: '=' } as const;

export function registerApplyCommand(program: Command): void {
  program
    .command('apply')
    .description('make the Temporal Schedules match the model file (one monitor per model), printing the diff')
    .option('--dry-run', 'show the diff, change nothing')
    .option('--no-prune', 'keep managed schedules of models no longer in the file')
    .action(async (opts: { dryRun?: boolean; prune: boolean }) => {
      // Loaded on use, not at every start (see main.ts).
      const { loadConfig } = await import('../../config/load.js');
      const { runtimeSettings } = await import('../../config/settings.js');
      const { desiredSchedules, reconcileSchedules } = await import('../../schedules/reconcile.js');
      const { emit } = await import('../output.js');
      const options = configOption(program);
      const config = loadConfig(options.config);
      const changes = await withClient((client) => reconcileSchedules(client, desiredSchedules(config, runtimeSettings()), { dryRun: opts.dryRun, prune: opts.prune }));
      emit(options, changes, () =>
        [...changes.map((c) => `${MARK[c.change]} ${c.scheduleId}: ${c.change}${c.change === 'unchanged' ? '' : ` (${c.summary})`}`), opts.dryRun ? '(dry run: nothing changed)' : ''].filter(Boolean).join('\n'),
      );
    });
}

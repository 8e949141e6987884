import type { Command } from 'commander';
import { loadConfig } from '../../config/load.js';
import { runtimeSettings } from '../../config/settings.js';
import { connectClient } from '../../runtime/connection.js';
import { desiredSchedules, reconcileSchedules } from '../../schedules/reconcile.js';
import { emit } from '../output.js';
import { configOption } from '../options.js';

const MARK = { create: '+', update: '~', delete: '-', unchanged: '=' } as const;

export function registerApplyCommand(program: Command): void {
  program
    .command('apply')
    .description('make the Temporal Schedules match the model file (one monitor per model), printing the diff')
    .option('--dry-run', 'show the diff, change nothing')
    .option('--no-prune', 'keep managed schedules of models no longer in the file')
    .action(async (opts: { dryRun?: boolean; prune: boolean }) => {
      const options = configOption(program);
      const config = loadConfig(options.config);
      const client = await connectClient(undefined, '4s');
      try {
        const changes = await reconcileSchedules(client, desiredSchedules(config, runtimeSettings()), { dryRun: opts.dryRun, prune: opts.prune });
        emit(options, changes, () =>
          [...changes.map((c) => `${MARK[c.change]} ${c.scheduleId}: ${c.change}${c.change === 'unchanged' ? '' : ` (${c.summary})`}`), opts.dryRun ? '(dry run: nothing changed)' : ''].filter(Boolean).join('\n'),
        );
      } finally {
        await client.connection.close();
      }
    });
}

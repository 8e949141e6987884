import type { Command } from 'commander';
import { configOption } from '../options.js';

export function registerConfigCommands(program: Command): void {
  program
    .command('validate')
    .description('check the model file and print what it declares')
    .action(async () => {
      // Loaded on use, not at every start (see main.ts).
      const { configPath, loadConfig } = await import('../../config/load.js');
      const { emit } = await import('../output.js');
      const options = configOption(program);
      const config = loadConfig(options.config);
      emit(options, config, () =>
        [
          `${configPath(options.config)}: valid (${config.models.length} model${config.models.length === 1 ? '' : 's'}, time profile ${config.timeProfile})`,
          ...config.models.map(
            (m) =>
              `  ${m.name}: ${m.task}, ${m.features.length} features, trainer ${m.trainer.backend}, monitor ${m.monitor.cron ?? `every ${m.monitor.every}`}, rollout ${m.rollout.steps.map((s) => `${s.weight}%${s.duration ? `/${s.duration}` : ''}`).join(' → ')}`,
          ),
        ].join('\n'),
      );
    });
}

import type { Command } from 'commander';
import { configPath, loadConfig } from '../../config/load.js';
import { emit } from '../output.js';
import { configOption } from '../options.js';

export function registerConfigCommands(program: Command): void {
  program
    .command('validate')
    .description('check the model file and print what it declares')
    .action(() => {
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

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { requireModel } from '../models.js';
import { configOption } from '../options.js';

async function time(value: string, flag: string): Promise<Date> {
  const t = new Date(value);
  if (Number.isNaN(t.getTime())) {
    const { ConfigError } = await import('../../config/load.js');
    throw new ConfigError(flag, [`${flag} "${value}": expected a time such as 2026-03-01 or 2026-03-01T12:00:00Z`]);
  }
  return t;
}

/**
 * `retrain backtest <model>`: the monitor's decisions replayed over the lake's history (no Temporal),
 * with every decision's inputs, a summary per trigger and an HTML report; `--set` tries other
 * settings without editing the file.
 */
export function registerBacktestCommand(program: Command): void {
  program
    .command('backtest <model>')
    .description("replay the monitor's checks over the lake's history and print every decision it would have taken (no Temporal needed)")
    .requiredOption('--from <time>', 'first check, e.g. 2026-03-01')
    .requiredOption('--to <time>', 'last check')
    .option('--every <duration>', 'time between checks', '1h')
    .option('--set <path=value>', 'override a setting of the model, e.g. triggers.drift.action=retrain (repeatable)', (v: string, all: string[]) => [...all, v], [] as string[])
    .action(async (modelName: string, opts: { from: string; to: string; every: string; set: string[] }) => {
      // An unknown model is refused before the heavy modules load.
      const options = configOption(program);
      const { config, spec } = await requireModel(options, modelName);
      // Loaded on use, not at every start (see main.ts).
      const { openBackends } = await import('../../activities/backends.js');
      const { backtest } = await import('../../monitoring/backtest.js');
      const { runtimeSettings } = await import('../../config/settings.js');
      const { renderBacktestReport } = await import('../../reports/backtest-report.js');
      const { createLogger } = await import('../../runtime/logger.js');
      const { emit } = await import('../output.js');
      const settings = runtimeSettings();
      const backends = openBackends({ config, settings, logger: createLogger({ level: 'warn', name: 'backtest' }) });
      const tty = Boolean(process.stderr.isTTY) && !options.json;
      try {
        const result = await backtest(backends, spec, {
          from: await time(opts.from, '--from'),
          to: await time(opts.to, '--to'),
          every: opts.every,
          set: opts.set,
          onProgress: tty ? (done, total) => process.stderr.write(`\rreplaying check ${done} of ${total}…`) : undefined,
        });
        if (tty) process.stderr.write('\r\x1b[2K');
        const file = path.join(settings.dataDir, 'reports', spec.name, 'backtests', `${result.from.replace(/[:.]/g, '-')}_${result.to.replace(/[:.]/g, '-')}.html`);
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(file, renderBacktestReport(result));
        emit(options, { ...result, reportPath: file }, () =>
          [
            ...result.decisions.filter((d) => d.fired.length > 0).map((d) => `${d.at}  ${d.action.replace('_', ' ').padEnd(11)} ${d.fired.map((f) => `${f.kind}: ${f.reason}`).join('; ')}`),
            '',
            `${result.decisions.length} checks from ${result.from} to ${result.to} every ${result.every}; ${result.pipelines} pipeline(s) would have started`,
            ...Object.entries(result.summary).map(([kind, s]) => `  ${kind}: fired on ${s.fired} check(s), started ${s.started}`),
            `report: ${file}`,
          ].join('\n'),
        );
      } finally {
        await backends.close();
      }
    });
}

import type { Command } from 'commander';
import { requireModel } from '../models.js';
import { configOption } from '../options.js';
import { onShutdownSignal } from '../shutdown.js';

/**
 * `retrain report <model>`: a monitor check now, on this machine's lake and registry, written as
 * the same HTML report the scheduled checks leave; `retrain serve-reports` serves them all.
 */
export function registerReportCommands(program: Command): void {
  program
    .command('report <model>')
    .description("measure drift, performance and label shift now and write the HTML report (no Temporal needed)")
    .action(async (modelName: string) => {
      // An unknown model is refused before the heavy modules load.
      const options = configOption(program);
      const { config, spec } = await requireModel(options, modelName);
      // Loaded on use, not at every start (see main.ts).
      const { monitorActivities } = await import('../../activities/monitor.js');
      const { openBackends } = await import('../../activities/backends.js');
      const { runtimeSettings } = await import('../../config/settings.js');
      const { createLogger } = await import('../../runtime/logger.js');
      const { emit } = await import('../output.js');
      const settings = runtimeSettings();
      const logger = createLogger({ level: 'warn', name: 'report' });
      const backends = openBackends({ config, settings, logger });
      const tty = Boolean(process.stderr.isTTY) && !options.json;
      if (tty) process.stderr.write(`checking ${spec.name} over the last ${spec.data.monitorWindow}…`);
      try {
        const check = await monitorActivities(backends).checkModel({ ref: { model: spec.name }, asOf: new Date().toISOString() });
        if (tty) process.stderr.write('\r\x1b[2K');
        emit(options, check, () =>
          [
            `${check.model}: ${check.window.rows} predictions in ${check.window.from} → ${check.window.to}`,
            `  drift ${check.drift.verdict}: ${check.drift.drifted.map((d) => `${d.feature} (${d.metric} ${d.score.toFixed(3)} vs ${d.threshold})`).join(', ') || 'no feature drifted'}`,
            check.performance ? `  ${check.performance.metric} ${check.performance.value.toFixed(4)} on ${check.performance.labels} matured labels` : '  no matured labels in the window',
            check.reportPath ? `  report: ${check.reportPath}\n  served at ${check.reportUrl} (by retrain serve-reports)` : '  the report could not be written (see the warning above)',
          ].join('\n'),
        );
      } finally {
        await backends.close();
      }
    });

  program
    .command('serve-reports')
    .description('serve the HTML reports (the links in the Temporal UI point here)')
    .option('--port <port>', 'port (default $RETRAIN_REPORTS_PORT or 8092)')
    .option('--host <host>', 'address to bind', '127.0.0.1')
    .action(async (opts: { port?: string; host: string }) => {
      const { portOption } = await import('../../config/port.js');
      const { runtimeSettings } = await import('../../config/settings.js');
      const { buildReportServer } = await import('../../reports/server.js');
      const settings = runtimeSettings();
      const port = portOption(opts.port, settings.reportsPort);
      const app = await buildReportServer({ dataDir: settings.dataDir });
      const url = await app.listen({ port, host: opts.host });
      process.stdout.write(`\n  Reports           ${url}/reports\n  From              ${settings.dataDir}/reports\n\n`);
      onShutdownSignal(() => app.close(), { what: 'the reports server' });
    });
}

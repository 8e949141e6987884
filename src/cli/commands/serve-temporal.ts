import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import type { RunningDevServer } from '../../runtime/dev-server.js';
import { configOption, type GlobalOptions } from '../options.js';

/** `retrain dev` (what `npm run dev` runs) and `retrain worker`. */
export function registerProcessCommands(program: Command): void {
  program
    .command('dev')
    .description('start the embedded Temporal server with its web UI, the worker and the gateway; with timeProfile demo, the guided tour (Ctrl-C stops everything)')
    .option('--no-demo', 'do not seed models, apply schedules or send simulated traffic')
    .action(async (opts: { demo: boolean }) => runDev(configOption(program), opts.demo));

  program
    .command('worker')
    .description('run the worker against the Temporal server named by TEMPORAL_ADDRESS / the envconfig profile')
    .option('--queues <queues>', 'task queues to serve: control, training or both', 'control,training')
    .action(async (opts: { queues: string }) => {
      // Loaded on use, not at every start (see main.ts).
      const { ConfigError } = await import('../../config/load.js');
      const queues = opts.queues.split(',').map((q) => q.trim());
      const unknown = queues.filter((q) => q !== 'control' && q !== 'training');
      if (unknown.length > 0 || queues.length === 0) throw new ConfigError('--queues', [`expected control, training or both, got "${opts.queues}"`]);
      const { onShutdownSignal, processContext, startWorkerProcess } = await import('../../processes.js');
      const ctx = processContext({ configFile: configOption(program).config, name: 'worker' });
      const { workers, done } = await startWorkerProcess(ctx, undefined, queues as Array<'control' | 'training'>);
      onShutdownSignal(async () => {
        for (const w of workers) w.shutdown();
        await done;
      }, ctx.logger);
      await done;
    });

  program
    .command('bundle <file>')
    .description('build the workflow bundle ahead; workers given RETRAIN_WORKFLOW_BUNDLE=<file> then start without bundling')
    .action(async (file: string) => {
      const { bundleWorkflows } = await import('../../worker.js');
      const bundle = await bundleWorkflows();
      await writeFile(file, bundle.code);
      process.stdout.write(`wrote ${file} (${Math.round(bundle.code.length / 1024)} KiB); start workers with RETRAIN_WORKFLOW_BUNDLE=${file}\n`);
    });
}

async function runDev(options: GlobalOptions, demo: boolean): Promise<void> {
  const { runDemo } = await import('../../demo/run-demo.js');
  const { startGateway } = await import('../../serving/index.js');
  const { buildReportServer } = await import('../../reports/server.js');
  const { startCodecServer } = await import('../../security/codec-server.js');
  const { payloadCodecFromEnv } = await import('../../security/payload-codec.js');
  const { onShutdownSignal, processContext, startWorkerProcess } = await import('../../processes.js');
  const { externalServerConfigured, temporalTarget } = await import('../../runtime/connection.js');
  const { startDevServer } = await import('../../runtime/dev-server.js');
  const ctx = processContext({ configFile: options.config, name: 'dev' });
  let server: RunningDevServer | undefined;
  let target = temporalTarget();
  const encrypted = payloadCodecFromEnv() !== undefined;
  if (externalServerConfigured()) {
    ctx.logger.info({ address: target.address, namespace: target.namespace }, 'Using the Temporal server from the environment; starting none');
  } else {
    // With payload encryption on, the UI decodes through the codec server started below.
    const uiCodecEndpoint = encrypted ? `http://127.0.0.1:${ctx.settings.codecPort}/codec` : undefined;
    server = await startDevServer({ dataDir: ctx.settings.dataDir, port: ctx.settings.temporalPort, uiPort: ctx.settings.uiPort, uiCodecEndpoint });
    ctx.logger.info({ binary: server.tool.description, database: server.dbFile }, 'Temporal dev server started');
    target = temporalTarget({ address: server.address, namespace: server.namespace });
  }
  let started: Awaited<ReturnType<typeof startWorkerProcess>>;
  try {
    started = await startWorkerProcess(ctx, target);
  } catch (err) {
    await server?.stop(); // never leave an orphaned server behind
    throw err;
  }
  const { workers, done, backends, client } = started;
  // The gateway's control plane needs a token; in dev one is made up unless the user set one.
  process.env.RETRAIN_ADMIN_TOKEN ||= randomBytes(18).toString('base64url');
  const gateway = await startGateway({ config: ctx.config, settings: ctx.settings, logger: ctx.logger.child({ component: 'gateway' }) });
  const reports = await buildReportServer({ dataDir: ctx.settings.dataDir });
  const reportsUrl = `${await reports.listen({ port: ctx.settings.reportsPort, host: '127.0.0.1' })}/reports`;
  const codec = encrypted ? await startCodecServer({ port: ctx.settings.codecPort, logger: ctx.logger, uiOrigins: server?.uiUrl ? [server.uiUrl] : undefined }) : undefined;
  const lines = [
    '',
    '  retrain is running',
    server?.uiUrl ? `  Temporal web UI   ${server.uiUrl}/namespaces/${target.namespace}/workflows` : `  Temporal server   ${target.address} (external)`,
    `  Temporal gRPC     ${target.address}`,
    `  Gateway           ${gateway.url}  (POST /v1/models/<model>/predict; admin token in RETRAIN_ADMIN_TOKEN)`,
    `  Reports           ${reportsUrl}  (a drift report per monitor check, one per run)`,
    codec ? `  Codec server      ${codec.endpoint}  (payloads are encrypted; the web UI decodes through it)` : '',
    ctx.settings.metricsPort ? `  Worker metrics    http://localhost:${ctx.settings.metricsPort}/metrics` : '',
    `  Data directory    ${ctx.settings.dataDir}`,
    `  Models            ${ctx.config.models.map((m) => m.name).join(', ')}`,
    '',
    '  Next: `npx retrain runs list`, `npx retrain status <model>`; Ctrl-C stops everything.',
    '',
  ].filter((l) => l !== '');
  process.stdout.write(`${lines.join('\n')}\n`);
  const stopDemo = new AbortController();
  if (demo && ctx.config.timeProfile === 'demo') {
    const say = (line: string) => process.stdout.write(`» ${line}\n`);
    runDemo({ backends, client, gatewayUrl: gateway.url, say, signal: stopDemo.signal }).catch((err) => ctx.logger.error({ err }, 'The demo stopped'));
  }
  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      stopDemo.abort();
      for (const w of workers) w.shutdown();
      await done.catch(() => undefined);
      await gateway.close();
      await reports.close();
      await codec?.close();
      await server?.stop();
    })());
  onShutdownSignal(stopAll, ctx.logger);
  try {
    await done; // resolves on shutdown, rejects if a worker fails
  } finally {
    await stopAll();
  }
}

import type { Command } from 'commander';
import { writeFile } from 'node:fs/promises';
import type { RuntimeSettings } from '../../config/settings.js';
import type { ProcessContext } from '../../processes.js';
import type { PortNeed, RunningDevServer } from '../../runtime/dev-server.js';
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
      const { onShutdownSignal, startWorkerProcess } = await import('../../processes.js');
      // Before the Temporal Runtime is installed: once it is, a refusal would not end the process.
      // The metrics port first (a local fact), then whose server this is.
      const { runtimeSettings } = await import('../../config/settings.js');
      const { portProblems } = await import('../../runtime/dev-server.js');
      const problems = await portProblems([metricsPort(runtimeSettings())]);
      if (problems.length > 0) throw new ConfigError('environment', problems);
      await refuseOtherStack(runtimeSettings().dataDir);
      const ctx = await contextOrPortError(configOption(program), 'worker');
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

/**
 * A worker joining a server it did not start is refused when that server is another data
 * directory's `npm run dev` stack (exit 2; see stack-guard.ts).
 */
async function refuseOtherStack(dataDir: string): Promise<void> {
  const { ConfigError } = await import('../../config/load.js');
  const { connectClient, temporalTarget } = await import('../../runtime/connection.js');
  const { joinProblem } = await import('../stack-guard.js');
  const to = temporalTarget();
  const client = await connectClient(to);
  try {
    const problem = await joinProblem(client.connection, to, dataDir);
    if (problem) throw new ConfigError('environment', [problem]);
  } finally {
    await client.connection.close();
  }
}

/** The worker's Prometheus endpoint, bound as the Temporal Runtime is installed (dev and worker). */
function metricsPort(settings: RuntimeSettings): PortNeed {
  return { port: settings.metricsPort, host: process.env.RETRAIN_METRICS_HOST ?? '127.0.0.1', what: "the worker's Prometheus metrics", envVar: 'RETRAIN_METRICS_PORT', alternative: '0 to turn them off' };
}

/** Every port `dev` will bind, with what needs it and the variable that moves it. */
function devPorts(settings: RuntimeSettings, options: { startsServer: boolean; encrypted: boolean }): PortNeed[] {
  const loopback = '127.0.0.1';
  const needs: PortNeed[] = [];
  if (options.startsServer) {
    needs.push(
      {
        port: settings.temporalPort,
        host: loopback,
        what: "the Temporal dev server's gRPC frontend",
        envVar: 'RETRAIN_TEMPORAL_PORT',
        alternative: `set TEMPORAL_ADDRESS=${loopback}:${settings.temporalPort} to use the server listening there instead of starting one`,
      },
      { port: settings.uiPort, host: loopback, what: 'the Temporal web UI', envVar: 'RETRAIN_UI_PORT' },
    );
  }
  needs.push(
    { port: settings.gatewayPort, host: loopback, what: 'the gateway', envVar: 'RETRAIN_GATEWAY_PORT' },
    { port: settings.reportsPort, host: loopback, what: 'the reports server', envVar: 'RETRAIN_REPORTS_PORT' },
    metricsPort(settings),
  );
  if (options.encrypted) needs.push({ port: settings.codecPort, host: loopback, what: 'the codec server', envVar: 'RETRAIN_CODEC_PORT' });
  return needs;
}

/**
 * The process context; the Runtime binds the Prometheus port as it is installed, and the core's
 * "Address already in use" names neither the port nor the variable: this line does.
 */
async function contextOrPortError(options: GlobalOptions, name: string): Promise<ProcessContext> {
  const { ConfigError } = await import('../../config/load.js');
  const { runtimeSettings } = await import('../../config/settings.js');
  const { processContext } = await import('../../processes.js');
  try {
    return processContext({ configFile: options.config, name });
  } catch (err) {
    if (!/prometheus[^]*address already in use/i.test((err as Error).message)) throw err;
    const { portInUseLine } = await import('../../runtime/dev-server.js'); // here only: it loads the SDK's testing package
    throw new ConfigError('environment', [portInUseLine(metricsPort(runtimeSettings()))]);
  }
}

async function runDev(options: GlobalOptions, demo: boolean): Promise<void> {
  // What the port check needs first, so a refusal comes before the heavy modules load.
  const { payloadCodecFromEnv } = await import('../../security/payload-codec.js');
  const { ConfigError } = await import('../../config/load.js');
  const { runtimeSettings } = await import('../../config/settings.js');
  const { externalServerConfigured, temporalTarget } = await import('../../runtime/connection.js');
  const { portInUseLine, portProblems, startDevServer } = await import('../../runtime/dev-server.js');
  const encrypted = payloadCodecFromEnv() !== undefined;
  // Only TEMPORAL_ADDRESS (or a profile) attaches dev to a server it did not start. Every port is
  // checked before anything starts: a dev server that cannot bind its port would otherwise be
  // "started" while the SDK finds another one there, and this worker would serve that server.
  const external = externalServerConfigured();
  const needs = devPorts(runtimeSettings(), { startsServer: !external, encrypted });
  const problems = await portProblems(needs);
  if (problems.length > 0) throw new ConfigError('environment', problems);
  // A server it does not start may be another data directory's dev stack; checked before the Runtime is installed.
  if (external) await refuseOtherStack(runtimeSettings().dataDir);
  const { runDemo } = await import('../../demo/run-demo.js');
  const { startGateway } = await import('../../serving/index.js');
  const { buildReportServer } = await import('../../reports/server.js');
  const { startCodecServer } = await import('../../security/codec-server.js');
  const { onShutdownSignal, startWorkerProcess } = await import('../../processes.js');

  const ctx = await contextOrPortError(options, 'dev');
  let server: RunningDevServer | undefined;
  let serverLog: string | undefined;
  let target = temporalTarget();
  if (external) {
    ctx.logger.info({ address: target.address, namespace: target.namespace }, 'Using the Temporal server from the environment; starting none');
  } else {
    // With payload encryption on, the UI decodes through the codec server started below.
    const uiCodecEndpoint = encrypted ? `http://127.0.0.1:${ctx.settings.codecPort}/codec` : undefined;
    // The server's own output (banner, JSON warnings) goes to a log file, not into the narration.
    const { resolveTemporalTool } = await import('../../runtime/temporal-binaries.js');
    const { serverLogged } = await import('../server-log.js');
    const resolved = resolveTemporalTool('cli');
    const logged = serverLogged(resolved, ctx.settings.dataDir);
    serverLog = logged.logFile;
    server = await startDevServer({ dataDir: ctx.settings.dataDir, port: ctx.settings.temporalPort, uiPort: ctx.settings.uiPort, uiCodecEndpoint, tool: logged.tool });
    ctx.logger.info({ binary: resolved.description, database: server.dbFile, log: serverLog }, 'Temporal dev server started');
    target = temporalTarget({ address: server.address, namespace: server.namespace });
  }
  if (server) {
    // This server is this data directory's: a worker of another data directory is refused (stack-guard.ts).
    const { recordDevDataDir } = await import('../stack-guard.js');
    const { connectClient } = await import('../../runtime/connection.js');
    const client = await connectClient(target);
    try {
      await recordDevDataDir(client.connection, target.namespace, ctx.settings.dataDir);
    } catch (err) {
      await server.stop();
      throw err;
    } finally {
      await client.connection.close();
    }
  }
  let started: Awaited<ReturnType<typeof startWorkerProcess>>;
  try {
    started = await startWorkerProcess(ctx, target);
  } catch (err) {
    await server?.stop(); // never leave an orphaned server behind
    throw err;
  }
  const { workers, done, backends, client } = started;
  let gateway: Awaited<ReturnType<typeof startGateway>> | undefined;
  let reports: Awaited<ReturnType<typeof buildReportServer>> | undefined;
  let codec: Awaited<ReturnType<typeof startCodecServer>> | undefined;
  const stopDemo = new AbortController();
  let stopping: Promise<void> | undefined;
  const stopAll = () =>
    (stopping ??= (async () => {
      stopDemo.abort();
      for (const w of workers) w.shutdown();
      await done.catch(() => undefined);
      await gateway?.close();
      await reports?.close();
      await codec?.close();
      await server?.stop();
    })());
  let reportsUrl: string;
  let admin: { token: string; file?: string };
  try {
    // The gateway's control plane needs a token; in dev one is made up unless the user set one, and
    // kept in the data directory, where every `retrain` command run with this data directory finds it.
    const { devAdminToken } = await import('../admin-token.js');
    admin = devAdminToken(ctx.settings.dataDir);
    process.env.RETRAIN_ADMIN_TOKEN = admin.token;
    gateway = await startGateway({ config: ctx.config, settings: ctx.settings, logger: ctx.logger.child({ component: 'gateway' }) });
    reports = await buildReportServer({ dataDir: ctx.settings.dataDir });
    reportsUrl = `${await reports.listen({ port: ctx.settings.reportsPort, host: '127.0.0.1' })}/reports`;
    codec = encrypted ? await startCodecServer({ port: ctx.settings.codecPort, logger: ctx.logger, uiOrigins: server?.uiUrl ? [server.uiUrl] : undefined }) : undefined;
  } catch (err) {
    // Something bound a port after the check (a race): stop what started, so the process ends, and say which port.
    await stopAll();
    const code = (err as NodeJS.ErrnoException).code;
    const need = code === 'EADDRINUSE' ? needs.find((n) => n.port === (err as { port?: number }).port) : undefined;
    throw need ? new ConfigError('environment', [portInUseLine(need)]) : err;
  }
  const { pipelinesQuery, uiWorkflowsUrl } = await import('../ui-links.js');
  const uiUrl = server?.uiUrl;
  const pipelinesLink = uiUrl ? (model?: string) => uiWorkflowsUrl(uiUrl, target.namespace, pipelinesQuery({ model })) : undefined;
  const lines = [
    '',
    '  retrain is running',
    uiUrl ? `  Temporal web UI   ${uiWorkflowsUrl(uiUrl, target.namespace)}` : `  Temporal server   ${target.address} (external)`,
    ...(pipelinesLink ? [`  Pipelines only    ${pipelinesLink()}`, ...ctx.config.models.map((m) => `    ${m.name.padEnd(15)} ${pipelinesLink(m.name)}`)] : []),
    `  Temporal gRPC     ${target.address}`,
    `  Gateway           ${gateway.url}  (POST /v1/models/<model>/predict; admin token ${admin.file ? `in ${admin.file}, found there by the CLI` : 'from RETRAIN_ADMIN_TOKEN'})`,
    `  Reports           ${reportsUrl}  (a drift report per monitor check, one per run)`,
    codec ? `  Codec server      ${codec.endpoint}  (payloads are encrypted; the web UI decodes through it)` : '',
    ctx.settings.metricsPort ? `  Worker metrics    http://localhost:${ctx.settings.metricsPort}/metrics` : '',
    `  Data directory    ${ctx.settings.dataDir}`,
    serverLog ? `  Temporal log      ${serverLog}` : '',
    `  Models            ${ctx.config.models.map((m) => m.name).join(', ')}`,
    '',
    '  Next: `npx retrain runs list`, `npx retrain status <model>`; Ctrl-C stops everything.',
    '',
  ].filter((l) => l !== '');
  process.stdout.write(`${lines.join('\n')}\n`);
  if (demo && ctx.config.timeProfile === 'demo') {
    const say = (line: string) => process.stdout.write(`» ${line}\n`);
    runDemo({ backends, client, gatewayUrl: gateway.url, say, signal: stopDemo.signal, pipelinesLink }).catch((err) => ctx.logger.error({ err }, 'The demo stopped'));
  }
  onShutdownSignal(stopAll, ctx.logger);
  try {
    await done; // resolves on shutdown, rejects if a worker fails
  } finally {
    await stopAll();
  }
}

import type { Command } from 'commander';
import type { RuntimeSettings } from '../../config/settings.js';
import type { PortNeed, RunningDevServer } from '../../runtime/dev-server.js';
import { configOption, type GlobalOptions } from '../options.js';
import { contextOrPortError, metricsPort, refuseOtherStack } from '../process-start.js';
import { onShutdownSignal } from '../shutdown.js';
import { withClient } from '../temporal-client.js';

/** `retrain dev` (what `npm run dev` runs): a whole stack on this machine, and with timeProfile demo the guided tour. */
export function registerDevCommand(program: Command): void {
  program
    .command('dev')
    .description('start the embedded Temporal server with its web UI, the worker and the gateway; with timeProfile demo, the guided tour (Ctrl-C stops everything)')
    .option('--no-demo', 'do not seed models, apply schedules or send simulated traffic')
    .action(async (opts: { demo: boolean }) => runDev(configOption(program), opts.demo));
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
  const { startWorkerProcess } = await import('../../processes.js');

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
    const devTarget = target;
    try {
      await withClient((client) => recordDevDataDir(client.connection, devTarget.namespace, ctx.settings.dataDir), { target: devTarget, connectTimeout: '10s' });
    } catch (err) {
      await server.stop(); // never leave an orphaned server behind
      throw err;
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
  onShutdownSignal(stopAll, { logger: ctx.logger });
  try {
    await done; // resolves on shutdown, rejects if a worker fails
  } finally {
    await stopAll();
  }
}

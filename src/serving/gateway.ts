import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import type { DataBackend } from '../backends/data/types.js';
import type { RetrainConfig } from '../config/schema.js';
import type { RuntimeSettings } from '../config/settings.js';
import { createLogger, type Logger } from '../runtime/logger.js';
import { modelRuntime, type ServingContext } from './context.js';
import { DeploymentStore } from './deployment-store.js';
import { Deployments } from './deployments.js';
import { installErrorHandling } from './errors.js';
import type { FeedbackIndexOptions } from './feedback-index.js';
import { LakeLog, type LakeLogOptions } from './lake-log.js';
import { InProcessSink, rowObject, ThreadSink, type LakeSink } from './lake-sink.js';
import type { LiveMetricsOptions } from './live-metrics.js';
import { GatewayMetrics } from './metrics.js';
import { controlPlane } from './plugins/control-plane.js';
import { dataPlane } from './plugins/data-plane.js';
import { healthPlugin } from './plugins/health.js';

export interface GatewayOptions {
  /** The models to serve (the config's `models`). */
  config: Pick<RetrainConfig, 'models'>;
  /** Root data folder: serving.db and the lake live here. */
  dataDir: string;
  logger?: Logger;
  /** Write logged rows through this backend on the request thread; default: a lake writer thread over dataDir. */
  data?: DataBackend;
  /** Control-plane token; default process.env.RETRAIN_ADMIN_TOKEN. Unset/empty → the control plane answers 503. */
  adminToken?: string;
  /** Request body limit in bytes (default 1 MiB); larger bodies get 413. */
  bodyLimitBytes?: number;
  lakeLog?: Omit<LakeLogOptions, 'deadLetterDir'> & { deadLetterDir?: string };
  feedbackIndex?: FeedbackIndexOptions;
  liveMetrics?: LiveMetricsOptions;
  /** Node process metrics on /metrics (default true). */
  defaultMetrics?: boolean;
}

export interface Gateway {
  app: FastifyInstance;
  ctx: ServingContext;
  /** Stops accepting requests, waits for those in flight and for shadow scoring, flushes the lake log, closes everything. */
  close(): Promise<void>;
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** Builds the gateway (not listening yet): restores the deployment from serving.db and registers the plugins. */
export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const log = (options.logger ?? createLogger({ name: 'gateway' })).child({ component: 'gateway' });
  const bodyLimit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT;
  const specs = options.config.models;
  const liveOptions: Required<LiveMetricsOptions> = {
    fineMs: 60_000,
    fineRetentionMs: 3 * 3_600_000,
    coarseMs: 3_600_000,
    retentionMs: 8 * 86_400_000,
    ...options.liveMetrics,
  };

  const sink: LakeSink = options.data ? new InProcessSink(options.data, specs) : new ThreadSink({ dataDir: options.dataDir, specs });
  if (sink instanceof ThreadSink) sink.start();
  let lakeLog: LakeLog | undefined = undefined;
  const metrics = new GatewayMetrics(() => {
    const out = [];
    for (const s of specs) for (const table of ['predictions', 'labels'] as const) out.push({ model: s.name, table, rows: lakeLog?.pending(table, s.name) ?? 0 });
    return out;
  }, options.defaultMetrics ?? true);
  lakeLog = new LakeLog(
    sink,
    {
      deadLetterDir: path.join(options.dataDir, 'serving', 'dead-letter'),
      describe: (table, model, row) => rowObject(specs.find((s) => s.name === model), table, row),
      ...options.lakeLog,
    },
    {
      logged: (table, model, rows) => metrics.logged(model, table, rows),
      failed: (table, model) => metrics.flushFailed(model, table),
      dropped: (table, model, rows, reason) => metrics.dropped(model, table, rows, reason),
    },
    log,
  );

  const store = new DeploymentStore(path.join(options.dataDir, 'serving.db'));
  const deployments = new Deployments(new Map(specs.map((s) => [s.name, s])), store, log);
  const adminToken = options.adminToken !== undefined ? options.adminToken : process.env.RETRAIN_ADMIN_TOKEN;
  const ctx: ServingContext = {
    models: new Map(specs.map((s) => [s.name, modelRuntime(s, liveOptions, options.feedbackIndex ?? {})])),
    deployments,
    store,
    lakeLog,
    metrics,
    log,
    adminToken: adminToken ? adminToken : undefined,
    background: new Set(),
    liveOptions,
    closing: false,
  };

  let app: FastifyInstance | undefined;
  try {
    await deployments.restore();
    // Fastify's own per-request logger is off: a child logger per request costs more than the prediction.
    app = Fastify({ logger: false, bodyLimit, return503OnClosing: true, forceCloseConnections: 'idle' });
    installJsonParser(app);
    installErrorHandling(app, bodyLimit, log);
    app.addHook('onClose', async () => {
      ctx.closing = true;
      await Promise.allSettled([...ctx.background]);
      await ctx.lakeLog.close();
      await sink.close();
      await deployments.close();
      store.close();
    });
    await app.register(dataPlane, { ctx });
    await app.register(controlPlane, { ctx, prefix: '/v1/admin' });
    await app.register(healthPlugin, { ctx });
    await app.ready();
  } catch (err) {
    if (app) await app.close().catch(() => undefined);
    else {
      await sink.close().catch(() => undefined);
      await deployments.close();
      store.close();
    }
    throw err;
  }
  if (!ctx.adminToken) log.warn('RETRAIN_ADMIN_TOKEN is not set: the control plane (/v1/admin) refuses every request');
  const ready = app;
  return { app: ready, ctx, close: () => ready.close() };
}

/** Fastify's JSON parser (prototype poisoning refused), except that an empty body is "no body" (POST .../promote with a JSON content type). */
function installJsonParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser(['application/json', 'text/plain']); // JSON only: anything else is a clear 415
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    const c = text.charCodeAt(0);
    // Only a body that starts with whitespace can be blank: no trim() copy on every request.
    if (text.length === 0 || ((c === 32 || c === 9 || c === 10 || c === 13) && text.trim() === '')) return done(null, undefined);
    parse(request, text, done);
  });
}

export interface StartGatewayOptions {
  config: Pick<RetrainConfig, 'models'>;
  settings: Pick<RuntimeSettings, 'dataDir' | 'gatewayPort'>;
  logger?: Logger;
  /** Default settings.gatewayPort (8080); 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1 (use 0.0.0.0 to serve other hosts). */
  host?: string;
  adminToken?: string;
}

export interface RunningGateway extends Gateway {
  url: string;
}

/** Creates the gateway and listens; what `retrain serve` runs. */
export async function startGateway(options: StartGatewayOptions): Promise<RunningGateway> {
  const logger = options.logger ?? createLogger({ name: 'gateway' });
  const gateway = await createGateway({ config: options.config, dataDir: options.settings.dataDir, logger, adminToken: options.adminToken });
  const host = options.host ?? '127.0.0.1';
  try {
    await gateway.app.listen({ port: options.port ?? options.settings.gatewayPort, host });
  } catch (err) {
    await gateway.close();
    throw err;
  }
  const address = gateway.app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  logger.info({ url, models: options.config.models.map((m) => m.name), dataDir: options.settings.dataDir }, 'Gateway listening');
  return { ...gateway, url };
}

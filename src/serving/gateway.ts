import path from 'node:path';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyInstance } from 'fastify';
import type { DataBackend } from '../backends/data/types.js';
import type { RetrainConfig } from '../config/schema.js';
import { type GatewaySettings, type RuntimeSettings, runtimeSettings } from '../config/settings.js';
import { createLogger, type Logger } from '../runtime/logger.js';
import { adminGuard } from './auth.js';
import { modelRuntime, type ServingContext } from './context.js';
import type { DeploymentStore } from './deployment-store.js';
import { Deployments } from './deployments.js';
import { openDeploymentStore } from './open-deployment-store.js';
import { HttpError, installErrorHandling } from './errors.js';
import type { FeedbackIndexOptions } from './feedback-index.js';
import { Journal } from './journal.js';
import { replayOrphanJournals } from './journal-replay.js';
import { LakeLog, type LakeLogMark, type LakeLogOptions } from './lake-log.js';
import { InProcessSink, LOG_TABLES, rowObject, ThreadSink, type LakeSink } from './lake-sink.js';
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
  /** Where the deployment is kept (default: by the settings, RETRAIN_DEPLOYMENT_URL / RETRAIN_REGISTRY_URL, else <dataDir>/serving.db); the gateway closes it. */
  deploymentStore?: DeploymentStore;
  logger?: Logger;
  /** Write logged rows through this backend on the request thread; default: a lake writer thread over dataDir. */
  data?: DataBackend;
  /** Control-plane token; default process.env.RETRAIN_ADMIN_TOKEN. Unset/empty → the control plane answers 503. */
  adminToken?: string;
  /** Token POST feedback must carry; default process.env.RETRAIN_FEEDBACK_TOKEN. Unset/empty → feedback is open. */
  feedbackToken?: string;
  /** Timeouts and rate limits (defaults: GATEWAY_DEFAULTS; `retrain serve` takes them from the RETRAIN_GATEWAY_* settings). */
  limits?: Partial<GatewayLimits>;
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

export interface GatewayLimits extends GatewaySettings {
  /** JSON bodies nested deeper than this are refused before they are parsed. */
  maxJsonDepth: number;
}

export const GATEWAY_DEFAULTS: GatewayLimits = { requestTimeoutMs: 30_000, feedbackPerMinute: 6_000, adminFailuresPerMinute: 10, maxJsonDepth: 32, journal: true, journalFsyncMs: 1_000 };

/** Builds the gateway (not listening yet): restores the deployment from serving.db and registers the plugins. */
export async function createGateway(options: GatewayOptions): Promise<Gateway> {
  const log = (options.logger ?? createLogger({ name: 'gateway' })).child({ component: 'gateway' });
  const bodyLimit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT;
  const limits: GatewayLimits = { ...GATEWAY_DEFAULTS, ...options.limits };
  const feedbackToken = options.feedbackToken !== undefined ? options.feedbackToken : process.env.RETRAIN_FEEDBACK_TOKEN;
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
  // The journal needs a sink that can tell which replayed rows the lake already has.
  const journal =
    limits.journal && sink.filterNew
      ? new Journal<LakeLogMark>(
          { root: path.join(options.dataDir, 'serving', 'journal'), fsyncMs: limits.journalFsyncMs, log },
          () => lakeLog!.mark(),
          (segment) => lakeLog!.settledSince(segment.mark),
        )
      : undefined;
  const metrics = new GatewayMetrics(() => {
    const out = [];
    for (const s of specs) for (const table of LOG_TABLES) out.push({ model: s.name, table, rows: lakeLog?.pending(table, s.name) ?? 0 });
    return out;
  }, options.defaultMetrics ?? true);
  lakeLog = new LakeLog(
    sink,
    {
      deadLetterDir: path.join(options.dataDir, 'serving', 'dead-letter'),
      describe: (table, model, row) => rowObject(specs.find((s) => s.name === model), table, row),
      journal,
      ...options.lakeLog,
    },
    {
      logged: (table, model, rows) => metrics.logged(model, table, rows),
      failed: (table, model) => metrics.flushFailed(model, table),
      dropped: (table, model, rows, reason) => metrics.dropped(model, table, rows, reason),
    },
    log,
  );

  const store = options.deploymentStore ?? openDeploymentStore(options.dataDir, runtimeSettings().storage);
  const deployments = new Deployments(new Map(specs.map((s) => [s.name, s])), store, log);
  const adminToken = options.adminToken !== undefined ? options.adminToken : process.env.RETRAIN_ADMIN_TOKEN;
  const ctx: ServingContext = {
    models: new Map(specs.map((s) => [s.name, modelRuntime(s, liveOptions, options.feedbackIndex ?? {})])),
    deployments,
    store,
    lakeLog,
    journal,
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
    if (journal) {
      await replayOrphanJournals({
        root: path.dirname(journal.dir),
        ownId: journal.instanceId,
        sink: sink as Required<Pick<LakeSink, 'filterNew'>>,
        lakeLog,
        flushOwn: () => journal.flush(),
        models: new Set(specs.map((s) => s.name)),
        log,
      });
    }
    // Fastify's own per-request logger is off: a child logger per request costs more than the prediction.
    // A request (headers and body) must arrive within requestTimeoutMs, or Node answers 408 and closes
    // the socket: a client dribbling a body cannot hold a connection forever. Node checks on an
    // interval, so the limit holds to within a quarter of itself.
    const checkEvery = Math.max(100, Math.min(30_000, Math.floor(limits.requestTimeoutMs / 4)));
    app = Fastify({
      logger: false,
      bodyLimit,
      return503OnClosing: true,
      forceCloseConnections: 'idle',
      requestTimeout: limits.requestTimeoutMs,
      http: { requestTimeout: limits.requestTimeoutMs, headersTimeout: Math.min(60_000, limits.requestTimeoutMs), connectionsCheckingInterval: checkEvery },
    });
    installJsonParser(app, limits.maxJsonDepth);
    installErrorHandling(app, bodyLimit, log);
    app.addHook('onClose', async () => {
      ctx.closing = true;
      await Promise.allSettled([...ctx.background]);
      await ctx.lakeLog.close();
      // Everything queued is now in the lake or the dead-letter folder: the journal has done its job.
      journal?.close(true);
      await sink.close();
      await deployments.close();
      store.close();
    });
    await app.register(dataPlane, { ctx, feedbackToken: feedbackToken || undefined, feedbackPerMinute: limits.feedbackPerMinute });
    await app.register(async (scope) => {
      // Requests with a missing or wrong admin token count against the client's budget (429 beyond,
      // before the token is even compared); requests with the right token are never limited.
      const check = adminGuard(ctx.adminToken);
      await scope.register(rateLimit, { global: false });
      scope.addHook(
        'onRequest',
        scope.rateLimit({
          max: limits.adminFailuresPerMinute,
          timeWindow: 60_000,
          allowList: (request) => {
            try {
              check(request.headers.authorization);
              return true;
            } catch {
              return false;
            }
          },
          errorResponseBuilder: (_request, context) =>
            new HttpError(429, 'rate_limited', `too many requests without a valid admin token from this client: at most ${context.max} a minute; retry in ${context.after}`),
        }),
      );
      await scope.register(controlPlane, { ctx, prefix: '/v1/admin' });
    });
    await app.register(async (scope) => {
      // /readyz answers anyone: what failed, not where (restore and lake errors can name files on disk).
      scope.addHook('preSerialization', async (request, _reply, payload: unknown) => (request.routeOptions.url === '/readyz' ? publicReadiness(payload) : payload));
      await scope.register(healthPlugin, { ctx });
    });
    await app.ready();
  } catch (err) {
    if (app) await app.close().catch(() => undefined);
    else {
      journal?.close(false);
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

/**
 * Fastify's JSON parser (prototype poisoning refused), except that an empty body is "no body" (POST
 * .../promote with a JSON content type), and a body nested deeper than `maxDepth` is refused before
 * parsing: 800 KB of "[[[[..." cost JSON.parse 140-180 ms of CPU; the scan stops at the first
 * bracket past the limit (~1 µs) and costs a valid 200 KB batch ~0.5 ms (JSON.parse: ~3 ms).
 */
function installJsonParser(app: FastifyInstance, maxDepth: number): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser(['application/json', 'text/plain']); // JSON only: anything else is a clear 415
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    const c = text.charCodeAt(0);
    // Only a body that starts with whitespace can be blank: no trim() copy on every request.
    if (text.length === 0 || ((c === 32 || c === 9 || c === 10 || c === 13) && text.trim() === '')) return done(null, undefined);
    if (nestedDeeperThan(text, maxDepth)) {
      return done(new HttpError(400, 'invalid_json', `request body is nested deeper than ${maxDepth} levels of arrays and objects`), undefined);
    }
    parse(request, text, done);
  });
}

/**
 * Whether the brackets of `text` nest deeper than `limit`, strings skipped (a bracket inside a
 * string is not structure). Linear: strings are skipped with indexOf, each run of backslashes
 * before a quote is looked at once. Malformed text is left to JSON.parse to refuse.
 */
export function nestedDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      let end = text.indexOf('"', i + 1);
      while (end !== -1) {
        let k = end - 1;
        while (text.charCodeAt(k) === 92) k--;
        if ((end - 1 - k) % 2 === 0) break; // an even run of backslashes: the quote is not escaped
        end = text.indexOf('"', end + 1);
      }
      if (end === -1) return false;
      i = end + 1;
      continue;
    }
    if (c === 91 || c === 123) {
      if (++depth > limit) return true;
    } else if (c === 93 || c === 125) depth--;
    i++;
  }
  return false;
}

/**
 * The unauthenticated /readyz answer without file paths: a champion that failed to load at start
 * is reported as such (restoreFailed), and the lake writer's failure without its cause. The causes
 * stay on the authenticated GET /v1/admin/models/:model/deployment and in the gateway's log.
 */
function publicReadiness(payload: unknown): unknown {
  if (!isRecord(payload)) return payload;
  const out: Record<string, unknown> = { ...payload };
  if (isRecord(payload.models)) {
    out.models = Object.fromEntries(
      Object.entries(payload.models).map(([name, m]) => {
        if (!isRecord(m) || !('errors' in m)) return [name, m];
        const { errors: _errors, ...rest } = m;
        return [name, { ...rest, restoreFailed: true }];
      }),
    );
  }
  if (Array.isArray(payload.problems)) {
    const problems = payload.problems.map((p: unknown) => {
      if (typeof p !== 'string') return p;
      if (p.startsWith('lake writer:')) return 'lake writer: last write failed; retrying (the cause is in the gateway log)';
      const m = /^(.*?): no champion loaded/s.exec(p);
      return m ? `${m[1]}: no champion loaded${p.length > m[0].length ? ` (it did not load at start: GET /v1/admin/models/${m[1]}/deployment has the cause)` : ''}` : p;
    });
    out.problems = problems;
    out.message = problems.join('; ');
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export interface StartGatewayOptions {
  config: Pick<RetrainConfig, 'models'>;
  settings: Pick<RuntimeSettings, 'dataDir' | 'gatewayPort'> & Partial<Pick<RuntimeSettings, 'gateway'>>;
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
  const gateway = await createGateway({ config: options.config, dataDir: options.settings.dataDir, logger, adminToken: options.adminToken, limits: options.settings.gateway });
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

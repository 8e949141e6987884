import path from 'node:path';
import { z } from 'zod';
import { ConfigError, formatPath } from './load.js';
import { PORT_EXPECTED, portOf } from './port.js';

/**
 * Process settings from the environment (not the model file): where data lives and which ports
 * to use. Temporal connection settings are separate: @temporalio/envconfig reads those.
 */
/** A port variable reads as a `--port` flag does (config/port.ts). */
const port = z.string().refine((v) => portOf(v) !== undefined, PORT_EXPECTED).transform((v) => portOf(v) as number);
/** A connection URL, from the environment only (it may carry a password; the YAML file never does). */
const postgresUrl = z.string().regex(/^postgres(ql)?:\/\/\S+$/, 'expected a postgres:// or postgresql:// connection URL');

/** `s3://bucket` or `s3://bucket/prefix`: where model artifacts are kept (backends/artifacts). */
const ARTIFACT_STORE = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(?:\/([^\s]*))?$/;

const settingsSchema = z.object({
  RETRAIN_DATA_DIR: z.string().min(1).default('.data'),
  RETRAIN_METRICS_PORT: port.default(9464),
  RETRAIN_TEMPORAL_PORT: port.default(7233),
  RETRAIN_UI_PORT: port.default(8233),
  RETRAIN_GATEWAY_PORT: port.default(8080),
  RETRAIN_CODEC_PORT: port.default(8091),
  RETRAIN_REPORTS_PORT: port.default(8092),
  RETRAIN_REPORTS_URL: z.url().optional(),
  RETRAIN_GATEWAY_URL: z.url({ protocol: /^https?$/, error: "expected an http(s) URL such as http://gateway:8080" }).optional(),
  RETRAIN_LOG_LEVEL: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
  RETRAIN_CONTROL_QUEUE: z.string().min(1).default('retrain-control'),
  RETRAIN_TRAINING_QUEUE: z.string().min(1).default('retrain-training'),
  RETRAIN_GATEWAY_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(1_000).max(3_600_000).default(30_000),
  RETRAIN_GATEWAY_FEEDBACK_RATE: z.coerce.number().int().min(0).default(6_000),
  RETRAIN_GATEWAY_ADMIN_FAILURES: z.coerce.number().int().min(1).default(10),
  RETRAIN_GATEWAY_JOURNAL: z.enum(['on', 'off']).default('on'),
  RETRAIN_GATEWAY_JOURNAL_FSYNC_MS: z.coerce.number().int().min(0).max(60_000).default(1_000),
  RETRAIN_REGISTRY_URL: postgresUrl.optional(),
  /** An MLflow tracking server keeps the model versions and aliases (not MLFLOW_TRACKING_URI: a data scientist's shell often sets that to a local ./mlruns). */
  RETRAIN_MLFLOW_TRACKING_URI: z.url({ protocol: /^https?$/, error: 'expected the http(s) URL of an MLflow tracking server, such as http://mlflow:5000' }).optional(),
  RETRAIN_MLFLOW_MODEL_PREFIX: z.string().regex(/^[\w./-]*$/, 'expected letters, digits and . _ / - (prepended to each model name in MLflow)').default(''),
  RETRAIN_DEPLOYMENT_URL: postgresUrl.optional(),
  RETRAIN_DEPLOYMENT_POLL_MS: z.coerce.number().int().min(50).max(60_000).default(1_000),
  RETRAIN_ARTIFACT_STORE: z
    .string()
    .regex(ARTIFACT_STORE, 'expected s3://bucket or s3://bucket/prefix (a bucket name of 3-63 lower-case letters, digits, dots and hyphens); unset keeps artifacts as local files')
    .optional(),
  RETRAIN_LAKE_STORE: z
    .string()
    .regex(ARTIFACT_STORE, 'expected s3://bucket or s3://bucket/prefix (a bucket name of 3-63 lower-case letters, digits, dots and hyphens); unset keeps the lake and datasets as local Parquet under the data dir')
    .optional(),
});

export interface RuntimeSettings {
  /** Root of every file the product writes: lake, datasets, registry, Temporal's database. */
  dataDir: string;
  metricsPort: number;
  gatewayPort: number;
  /** Where workers and CLIs reach the gateway when a model's `serving.url` does not say (another host or container: `RETRAIN_GATEWAY_URL`). */
  gatewayUrl: string;
  codecPort: number;
  /** Where `retrain serve-reports` (started by `npm run dev`) listens, and the base URL links use. */
  reportsPort: number;
  reportsUrl: string;
  /** Ports of the embedded dev server (gRPC and web UI) started by `npm run dev`. */
  temporalPort: number;
  uiPort: number;
  logLevel: z.infer<typeof settingsSchema>['RETRAIN_LOG_LEVEL'];
  taskQueues: { control: string; training: string };
  gateway: GatewaySettings;
  storage: StorageSettings;
  /** Where model artifacts are kept: local files (default), or an S3 bucket (RETRAIN_ARTIFACT_STORE=s3://bucket/prefix). */
  artifactStore: ArtifactStoreSetting;
  /**
   * Where the lake (predictions, labels, training, serving errors) and dataset snapshots are kept:
   * Parquet under the data dir (default), or an S3 bucket (RETRAIN_LAKE_STORE=s3://bucket/prefix),
   * read through a cache of the partitions a query needs under `<dataDir>/lake-cache`.
   */
  lakeStore: LakeStoreSetting;
}

/**
 * `file`: artifacts stay where trainers write them, under `<dataDir>/artifacts` (registered as
 * file:// URIs). `s3`: they are uploaded under a content-addressed key below `prefix` and
 * registered as s3:// URIs; the endpoint, region and credentials are the AWS SDK's environment
 * (AWS_ENDPOINT_URL, AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, ...).
 */
export type ArtifactStoreSetting = { kind: 'file' } | { kind: 's3'; bucket: string; prefix: string };
/** Same shape: `<prefix>/lake/...` and `<prefix>/datasets/...` never meet the artifacts' `<prefix>/sha256/...`, so one URL may serve both. */
export type LakeStoreSetting = ArtifactStoreSetting;

/**
 * Where shared state lives. The embedded default is SQLite under the data dir; a PostgreSQL URL
 * moves it to a server that several workers, CLIs and gateway replicas share.
 */
export interface StorageSettings {
  /**
   * `postgres` when RETRAIN_REGISTRY_URL is set (registry, aliases, ledger, spend, monitor state, violations).
   * `mlflow` when RETRAIN_MLFLOW_TRACKING_URI is set: versions and aliases in MLflow's Model Registry,
   * the rest in the product's store (PostgreSQL at RETRAIN_REGISTRY_URL when set, else SQLite).
   */
  registry: 'sqlite' | 'postgres' | 'mlflow';
  registryUrl?: string;
  mlflowTrackingUri?: string;
  /** Prepended to a model's name for its registered model in MLflow. */
  mlflowModelPrefix: string;
  /** The gateway's deployment state: RETRAIN_DEPLOYMENT_URL, else the registry's PostgreSQL URL, else `<dataDir>/serving.db`. */
  deployments: 'sqlite' | 'postgres';
  deploymentsUrl?: string;
  /** How often a gateway replica checks the shared deployment for another replica's change. */
  deploymentPollMs: number;
}

/** Limits of `retrain serve` that an operator may want to change. */
export interface GatewaySettings {
  /** A request (headers and body) must arrive within this; slower ones are answered 408 and closed. */
  requestTimeoutMs: number;
  /** POST feedback requests per client address per minute; 0 = unlimited. */
  feedbackPerMinute: number;
  /** Requests with a missing or wrong admin token per client address per minute before 429. */
  adminFailuresPerMinute: number;
  /** Journal each logged row before answering, replayed into the lake at start (RETRAIN_GATEWAY_JOURNAL=off turns it off). */
  journal: boolean;
  /** fdatasync interval of the journal (power loss); 0 = after every write. */
  journalFsyncMs: number;
}

export function runtimeSettings(env: NodeJS.ProcessEnv = process.env): RuntimeSettings {
  const parsed = settingsSchema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      'environment',
      parsed.error.issues.map((i) => `${formatPath(i.path)}: ${i.message} (got ${JSON.stringify(masked(String(i.path[0]), env[String(i.path[0])]))})`),
    );
  }
  const s = parsed.data;
  return {
    dataDir: path.resolve(s.RETRAIN_DATA_DIR),
    metricsPort: s.RETRAIN_METRICS_PORT,
    gatewayPort: s.RETRAIN_GATEWAY_PORT,
    gatewayUrl: (s.RETRAIN_GATEWAY_URL ?? `http://127.0.0.1:${s.RETRAIN_GATEWAY_PORT}`).replace(/\/+$/, ''),
    codecPort: s.RETRAIN_CODEC_PORT,
    reportsPort: s.RETRAIN_REPORTS_PORT,
    reportsUrl: (s.RETRAIN_REPORTS_URL ?? `http://localhost:${s.RETRAIN_REPORTS_PORT}/reports`).replace(/\/+$/, ''),
    temporalPort: s.RETRAIN_TEMPORAL_PORT,
    uiPort: s.RETRAIN_UI_PORT,
    logLevel: s.RETRAIN_LOG_LEVEL,
    taskQueues: { control: s.RETRAIN_CONTROL_QUEUE, training: s.RETRAIN_TRAINING_QUEUE },
    gateway: {
      requestTimeoutMs: s.RETRAIN_GATEWAY_REQUEST_TIMEOUT_MS,
      feedbackPerMinute: s.RETRAIN_GATEWAY_FEEDBACK_RATE,
      adminFailuresPerMinute: s.RETRAIN_GATEWAY_ADMIN_FAILURES,
      journal: s.RETRAIN_GATEWAY_JOURNAL === 'on',
      journalFsyncMs: s.RETRAIN_GATEWAY_JOURNAL_FSYNC_MS,
    },
    storage: {
      registry: s.RETRAIN_MLFLOW_TRACKING_URI ? 'mlflow' : s.RETRAIN_REGISTRY_URL ? 'postgres' : 'sqlite',
      registryUrl: s.RETRAIN_REGISTRY_URL,
      mlflowTrackingUri: s.RETRAIN_MLFLOW_TRACKING_URI?.replace(/\/+$/, ''),
      mlflowModelPrefix: s.RETRAIN_MLFLOW_MODEL_PREFIX,
      deployments: (s.RETRAIN_DEPLOYMENT_URL ?? s.RETRAIN_REGISTRY_URL) ? 'postgres' : 'sqlite',
      deploymentsUrl: s.RETRAIN_DEPLOYMENT_URL ?? s.RETRAIN_REGISTRY_URL,
      deploymentPollMs: s.RETRAIN_DEPLOYMENT_POLL_MS,
    },
    artifactStore: artifactStoreSetting(s.RETRAIN_ARTIFACT_STORE),
    lakeStore: artifactStoreSetting(s.RETRAIN_LAKE_STORE),
  };
}

function artifactStoreSetting(value: string | undefined): ArtifactStoreSetting {
  const m = value === undefined ? null : ARTIFACT_STORE.exec(value);
  if (!m) return { kind: 'file' };
  return { kind: 's3', bucket: m[1], prefix: (m[2] ?? '').replace(/^\/+|\/+$/g, '') };
}

/** A connection URL's password never reaches an error message or a log. */
function masked(name: string, value: string | undefined): string | undefined {
  return (name.endsWith('_URL') || name.endsWith('_URI')) && value ? value.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@') : value;
}

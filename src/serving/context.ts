import type { ModelSpec } from '../config/schema.js';
import type { Logger } from '../runtime/logger.js';
import type { DeploymentStore } from './deployment-store.js';
import type { Deployments } from './deployments.js';
import { FeedbackIndex, type FeedbackIndexOptions } from './feedback-index.js';
import type { Journal } from './journal.js';
import type { LakeLog, LakeLogMark } from './lake-log.js';
import { LiveMetrics, type LiveMetricsOptions } from './live-metrics.js';
import type { GatewayMetrics } from './metrics.js';
import { buildSchemas, type ModelSchemas } from './validation.js';

/** Everything a served model needs per request, built once at start. */
export interface ModelRuntime {
  spec: ModelSpec;
  /** Feature names in spec order: the order of features in logged row tuples. */
  featureNames: string[];
  schemas: ModelSchemas;
  live: LiveMetrics;
  index: FeedbackIndex;
  /** A feature whose value keys the sticky split when the request has no entity_id (serving.entityKey). */
  entityFeature?: string;
  /** Multiclass: each class name as a JSON string, in label order, for the hand-built answer. */
  classJson?: string[];
}

/** What the gateway's plugins share. */
export interface ServingContext {
  models: Map<string, ModelRuntime>;
  deployments: Deployments;
  store: DeploymentStore;
  lakeLog: LakeLog;
  /** Write-ahead journal of logged rows (undefined when off): flush() before answering. */
  journal?: Journal<LakeLogMark>;
  metrics: GatewayMetrics;
  log: Logger;
  /** Undefined when RETRAIN_ADMIN_TOKEN is unset: the control plane then refuses everything (503). */
  adminToken?: string;
  /** Shadow scoring still running after its response was sent; awaited by close(). */
  background: Set<Promise<void>>;
  liveOptions: Required<LiveMetricsOptions>;
  /** True once close() started: /readyz answers 503 so a load balancer stops sending traffic. */
  closing: boolean;
}

export function modelRuntime(spec: ModelSpec, live: LiveMetricsOptions, index: FeedbackIndexOptions): ModelRuntime {
  const key = spec.serving.entityKey;
  return {
    spec,
    featureNames: spec.features.map((f) => f.name),
    schemas: buildSchemas(spec),
    live: new LiveMetrics(spec.task, live),
    index: new FeedbackIndex(index),
    entityFeature: key && key !== 'entity_id' ? key : undefined,
    ...(spec.task === 'multiclass_classification' && spec.classes ? { classJson: spec.classes.map((c) => JSON.stringify(c)) } : {}),
  };
}

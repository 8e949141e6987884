/** The inference gateway: data plane, control plane, health and metrics, over Fastify. */
export { createGateway, startGateway, DEFAULT_BODY_LIMIT, type Gateway, type GatewayOptions, type RunningGateway, type StartGatewayOptions } from './gateway.js';
export { bucketOf, inChallengerShare, BUCKETS } from './routing.js';
export { MAX_INSTANCES, type PredictInstance, type FeedbackItem } from './validation.js';
export type { LiveVariantMetrics } from './live-metrics.js';
export type { DeploymentRecord, Role } from './deployment-store.js';

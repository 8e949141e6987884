import type { RetrainConfig } from '../config/schema.js';
import type { RuntimeSettings } from '../config/settings.js';
import { LogAndWebhookNotifier } from '../backends/notify/notifier.js';
import type { Logger } from '../runtime/logger.js';
import type { PipelineActivities } from './contracts.js';
import { notifyActivities } from './notify.js';

export interface ActivityContext {
  config: RetrainConfig;
  settings: RuntimeSettings;
  logger: Logger;
}

/** The activity implementations the worker registers, each a thin adapter over one backend. */
export function buildActivities(ctx: ActivityContext): Partial<PipelineActivities> {
  return {
    ...notifyActivities(new LogAndWebhookNotifier(ctx.logger.child({ component: 'notify' }), ctx.config.notify.webhookUrl)),
  };
}

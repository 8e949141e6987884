import { ApplicationFailure } from '@temporalio/activity';
import { ServingError } from '../backends/serving/gateway-client.js';
import type { Backends } from './backends.js';
import type { PipelineActivities } from './contracts.js';
import { afterEffect } from './fault-points.js';

function servingFailure(err: unknown): never {
  if (err instanceof ServingError && !err.retryable) throw ApplicationFailure.nonRetryable(err.message, 'ServingRefused');
  throw err;
}

/** Traffic moves through the serving backend; each call is idempotent (it sets a state, it does not add). */
export function servingActivities(b: Backends): Pick<PipelineActivities, 'setTraffic' | 'liveMetrics'> {
  return {
    async setTraffic({ model, challengerVersion, weight, shadow, run }) {
      b.specs.require(model);
      const serving = b.servingFor(model);
      try {
        if (weight === 0 && !shadow) {
          await serving.rollback(model);
          afterEffect('setTraffic:rollback', model);
          return;
        }
        const deployed = b.registry.aliases(model).challenger === challengerVersion;
        if (!deployed) {
          b.registry.registerChallenger(model, challengerVersion, { actor: 'retrain', reason: 'canary', workflowId: run.workflowId, runId: run.runId, idempotencyKey: `${run.runId}:challenger` });
          afterEffect('setTraffic:registry', model);
        }
        const version = b.registry.getVersion(model, challengerVersion);
        // The whole intended state (version, weight, shadow): repeating it changes nothing.
        await serving.deployChallenger(model, { version: challengerVersion, artifactUri: version.artifactUri, weight, shadow });
        afterEffect('setTraffic:gateway', model);
      } catch (err) {
        return servingFailure(err);
      }
    },

    async liveMetrics({ model, sinceIso }) {
      b.specs.require(model);
      try {
        return await b.servingFor(model).liveMetrics(model, new Date(sinceIso));
      } catch (err) {
        return servingFailure(err);
      }
    },
  };
}

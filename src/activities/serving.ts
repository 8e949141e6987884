import { ApplicationFailure } from '@temporalio/activity';
import { ServingError } from '../backends/serving/gateway-client.js';
import type { DriftProfile } from '../drift/profile.js';
import type { Backends } from './backends.js';
import { canaryEvidenceFrom, EVIDENCE_SCORE_BINS } from './canary-evidence.js';
import type { PipelineActivities } from './contracts.js';
import { afterEffect } from './fault-points.js';
import { refOf } from './spec-catalog.js';

function servingFailure(err: unknown): never {
  if (err instanceof ServingError && !err.retryable) throw ApplicationFailure.nonRetryable(err.message, 'ServingRefused');
  throw err;
}

/**
 * Traffic moves through the serving backend; each call is idempotent (it sets a state, it does not
 * add). The canary's evidence is read from the lake, where every gateway replica logs (journaled
 * before it answers), so it survives a gateway restart and adds up across replicas.
 */
export function servingActivities(b: Backends): Pick<PipelineActivities, 'setTraffic' | 'liveMetrics' | 'canaryEvidence'> {
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

    async canaryEvidence(input) {
      const spec = b.specs.resolve(refOf(input));
      const { champion, challenger } = input.versions;
      const other = input.stage === 'shadow' ? 'shadow' : 'challenger';
      const served = await b.data.servedEvidence(spec, {
        from: new Date(input.fromIso),
        to: new Date(input.asOfIso),
        asOf: new Date(input.asOfIso),
        versions: { champion: String(champion), [other]: String(challenger) },
        scoreBins: EVIDENCE_SCORE_BINS,
      });
      const calibration = (version: number) => (b.registry.getVersion(spec.name, version).referenceProfile as DriftProfile | null)?.calibration;
      return canaryEvidenceFrom(served, spec, input.stage, { champion: calibration(champion), challenger: calibration(challenger) });
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

import { ServingError } from '../backends/serving/gateway-client.js';
import type { DriftProfile } from '../drift/profile.js';
import { preTrafficSettings } from '../config/rollout.js';
import { buildSyntheticRequests, judgePreTraffic, wholeCheckFailure } from '../serving/synthetic-requests.js';
import type { Backends } from './backends.js';
import { canaryEvidenceFrom, EVIDENCE_SCORE_BINS } from './canary-evidence.js';
import type { PipelineActivities } from './contracts.js';
import { afterEffect } from './fault-points.js';
import { refOf } from './spec-catalog.js';

/**
 * Traffic moves through the serving backend; each call is idempotent (it sets a state, it does not
 * add). The canary's evidence is read from the lake, where every gateway replica logs (journaled
 * before it answers), so it survives a gateway restart and adds up across replicas.
 */
export function servingActivities(b: Backends): Pick<PipelineActivities, 'setTraffic' | 'liveMetrics' | 'canaryEvidence' | 'preTrafficChecks'> {
  /** The run's challenger in the registry (one ledger entry per run, whoever asks first). */
  const registerChallenger = (model: string, challengerVersion: number, run: { workflowId: string; runId: string }) => {
    if (b.registry.aliases(model).challenger === challengerVersion) return;
    b.registry.registerChallenger(model, challengerVersion, { actor: 'retrain', reason: 'canary', workflowId: run.workflowId, runId: run.runId, idempotencyKey: `${run.runId}:challenger` });
    afterEffect('setTraffic:registry', model);
  };
  return {
    async setTraffic({ model, challengerVersion, weight, shadow, run }) {
      b.specs.require(model);
      const serving = b.servingFor(model);
      if (weight === 0 && !shadow) {
        await serving.rollback(model);
        afterEffect('setTraffic:rollback', model);
        return;
      }
      registerChallenger(model, challengerVersion, run);
      const version = b.registry.getVersion(model, challengerVersion);
      // The whole intended state (version, weight, shadow): repeating it changes nothing.
      await serving.deployChallenger(model, { version: challengerVersion, artifactUri: version.artifactUri, weight, shadow });
      afterEffect('setTraffic:gateway', model);
    },

    /**
     * The challenger is staged on the gateway with no traffic (weight 0, no mirror: the split never
     * picks it), then scores the synthetic requests alone; the gateway logs none of them as traffic.
     * A gateway that refuses to load the version is a failed check, not an error of the run.
     */
    async preTrafficChecks(input) {
      const spec = b.specs.resolve(refOf(input));
      const { champion, challenger } = input.versions;
      const settings = preTrafficSettings(spec.rollout, spec.serving.backend);
      const profileOf = (version: number) => b.registry.getVersion(spec.name, version).referenceProfile as DriftProfile | null | undefined;
      const own = profileOf(challenger);
      const profile = own ?? profileOf(champion);
      const { requests, leftOut } = buildSyntheticRequests(spec, profile, { maxPerCategory: settings.maxRequests });
      const base = { version: challenger, profile: own ? 'challenger' : profile ? 'champion' : 'none', budgetMs: settings.latencyBudgetMs, at: new Date().toISOString() } as const;
      const cut = Object.values(leftOut).reduce((a, n) => a + n, 0);
      const serving = b.servingFor(spec.name);
      try {
        registerChallenger(spec.name, challenger, input.run);
        const version = b.registry.getVersion(spec.name, challenger);
        await serving.deployChallenger(spec.name, { version: challenger, artifactUri: version.artifactUri, weight: 0, shadow: false });
      } catch (err) {
        if (err instanceof ServingError && !err.retryable) return wholeCheckFailure({ category: 'deployment', label: `v${challenger} on the gateway`, reason: `the gateway refused to stage v${challenger}: ${err.message}` }, { ...base, requests, leftOut: cut });
        throw err;
      }
      let answers;
      try {
        answers = await serving.scoreSynthetic(spec.name, { variant: 'challenger', version: challenger, instances: requests.map((r) => ({ features: r.features })) }, settings.latencyBudgetMs);
      } catch (err) {
        // A gateway that cannot answer within four times the budget per row is over the budget.
        if (err instanceof ServingError && err.timedOut) return wholeCheckFailure({ category: 'latency', label: 'synthetic requests', reason: `${err.message} (latency budget ${settings.latencyBudgetMs} ms a request)` }, { ...base, requests, leftOut: cut });
        throw err;
      }
      return judgePreTraffic(requests, answers, { ...base, task: spec.task, leftOut: cut });
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
      return b.servingFor(model).liveMetrics(model, new Date(sinceIso));
    },
  };
}

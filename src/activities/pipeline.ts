import path from 'node:path';
import { Context } from '@temporalio/activity';
import { promoteChampion } from '../backends/champion-moves.js';
import { DATASET_FILES, DataInputError } from '../backends/data/types.js';
import { RegistryError } from '../backends/registry/types.js';
import { evaluate, type EvaluationResult } from '../backends/training/index.js';
import type { Backends } from './backends.js';
import type { Evaluation, Metrics, PipelineActivities, SliceComparison } from './contracts.js';
import { reportWriter } from './reports.js';
import { afterEffect } from './fault-points.js';
import { refOf } from './spec-catalog.js';

const finite = (m: Record<string, number | null>): Metrics => Object.fromEntries(Object.entries(m).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1])));

export function pipelineActivities(b: Backends): Omit<PipelineActivities, 'trainChallenger' | 'notify' | 'setTraffic' | 'liveMetrics' | 'canaryEvidence' | 'preTrafficChecks'> {
  const reports = reportWriter(b);
  return {
    async resolveSpec(ref) {
      return b.specs.resolve(ref);
    },

    writeRunReport: (input) => {
      b.specs.require(input.model);
      return reports.pipeline(input);
    },

    async estimateRunCost(input) {
      const spec = b.specs.resolve(refOf(input));
      // The model's own history is the best estimate; the configured figure covers the first run.
      const recent = b.registry.listVersions(spec.name).slice(-5).map((v) => v.costUsd).filter((c) => c > 0);
      const estimatedCostUsd = recent.length ? recent.reduce((a, c) => a + c, 0) / recent.length : spec.budget.estimatedCostPerRun;
      const now = new Date();
      const own = { monthSpendUsd: b.registry.monthlySpend(spec.name, now), monthlyCapUsd: spec.budget.monthlyCap, capScope: 'model' as const };
      const sharedCap = b.config.budget.monthlyCap;
      if (sharedCap === undefined) return { estimatedCostUsd, ...own };
      // The budget with the least room binds: a run fits only if it fits both.
      const shared = { monthSpendUsd: b.registry.monthlySpend(undefined, now), monthlyCapUsd: sharedCap, capScope: 'all_models' as const };
      const room = (x: typeof own | typeof shared) => x.monthlyCapUsd - x.monthSpendUsd;
      return { estimatedCostUsd, ...(room(shared) < room(own) ? shared : own) };
    },

    async buildDataset(input) {
      const spec = b.specs.resolve(refOf(input));
      const asOf = input.asOf;
      // What the person who reads the failure can do about refused input (the protocol makes it final).
      const result = await b.data.buildDataset(spec, { asOf: new Date(asOf) }).catch((err: unknown) => {
        throw err instanceof DataInputError ? new DataInputError(`${err.message}; import training data with \`retrain data import\` or wait for matured labels`, err.details) : err;
      });
      if (result.rowCounts.train === 0 || result.rowCounts.holdout === 0) {
        throw new DataInputError(
          `dataset ${result.datasetId} for ${spec.name} has ${result.rowCounts.train} training and ${result.rowCounts.holdout} holdout rows; import training data (retrain data import) or wait for matured labels`,
        );
      }
      for (const q of result.quarantined) Context.current().log.warn('Quarantined a lake file', { file: q.file, reason: q.reason });
      return { datasetId: result.datasetId, datasetDir: result.datasetDir, rowCounts: result.rowCounts };
    },

    async evaluateCandidates(input): Promise<Evaluation> {
      const spec = b.specs.resolve(refOf(input));
      const { dataset, challengerVersion } = input;
      const holdout = path.join(await b.data.localDataset(spec, dataset), DATASET_FILES.holdout);
      const slices = spec.gates.slices.map((s) => s.feature);
      const score = async (version: number): Promise<EvaluationResult> => {
        const v = b.registry.getVersion(spec.name, version);
        // Same scoring path as the gateway, on the same holdout, with the registered hash checked.
        return evaluate(await b.registry.verifyArtifact(spec.name, version), holdout, spec, { slices, sha256: v.contentHash });
      };
      const challenger = await score(challengerVersion);
      const champion = b.registry.resolve(spec.name, 'champion');
      const championResult = champion && champion.version !== challengerVersion ? await score(champion.version) : undefined;
      return {
        challenger: { version: challengerVersion, metrics: finite(challenger.metrics) },
        champion: championResult && champion ? { version: champion.version, metrics: finite(championResult.metrics) } : undefined,
        slices: championResult ? compareSlices(spec.gates.metric, challenger, championResult) : [],
      };
    },

    async recordSpend({ model, costUsd, idempotencyKey }) {
      b.specs.require(model);
      b.registry.recordSpend(model, costUsd, { idempotencyKey, note: 'training run' });
      afterEffect('recordSpend', model);
    },

    async promote({ model, version, actor, reason, run, evaluation }) {
      b.specs.require(model);
      // Serving first, then the registry (backends/champion-moves.ts). Both steps name the version
      // and the registry's takes the run's key, so a retry after a lost completion finds it done.
      const ctx = {
        actor,
        reason,
        workflowId: run.workflowId,
        runId: run.runId,
        idempotencyKey: `${run.runId}:promote`,
        metricsBefore: evaluation.champion?.metrics,
        metricsAfter: evaluation.challenger.metrics,
      };
      await promoteChampion({ registry: b.registry, serving: b.servingFor(model) }, model, version, ctx, { from: 'challenger', afterServing: () => afterEffect('promote:serving', model) });
      afterEffect('promote:registry', model);
    },

    async discardChallenger({ model, version, reason, run }) {
      b.specs.require(model);
      const aliases = b.registry.aliases(model);
      if (aliases.challenger !== version) return; // never registered as challenger, or already cleared
      b.registry.clearChallenger(model, { actor: 'retrain', reason, workflowId: run.workflowId, runId: run.runId, idempotencyKey: `${run.runId}:discard` });
      afterEffect('discardChallenger', model);
    },

    async checkDeployable(input) {
      const spec = b.specs.resolve(refOf(input));
      // An unknown version is a RegistryError, which the error protocol makes final.
      const version = b.registry.getVersion(spec.name, input.version);
      if (b.registry.aliases(spec.name).champion === version.version) return `v${version.version} is already the champion of ${spec.name}: nothing to deploy`;
      try {
        await b.registry.verifyArtifact(spec.name, version.version);
      } catch (err) {
        if (err instanceof RegistryError && (err.code === 'artifact_missing' || err.code === 'hash_mismatch')) return `v${version.version} cannot be deployed: ${err.message}`;
        throw err;
      }
      return null;
    },
  };
}

/** Per slice value with enough rows in both evaluations: the gate metric of each model. */
function compareSlices(metric: string, challenger: EvaluationResult, champion: EvaluationResult): SliceComparison[] {
  const out: SliceComparison[] = [];
  for (const slice of challenger.slices) {
    const theirs = champion.slices.find((s) => s.feature === slice.feature);
    for (const value of slice.values) {
      const other = theirs?.values.find((v) => v.value === value.value);
      const a = value.metrics[metric];
      const c = other?.metrics[metric];
      if (typeof a === 'number' && typeof c === 'number') out.push({ feature: slice.feature, value: value.value, samples: value.count, challenger: a, champion: c });
    }
  }
  return out;
}

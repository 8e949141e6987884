import type { FeatureColumns } from '../backends/models/columns.js';
import type { ColumnPredictions, FeatureRow, LoadedModel, Prediction } from '../backends/models/index.js';
import type { ModelSpec } from '../config/schema.js';
import { blendPrediction, type BlendWeights } from '../learning/blend.js';
import { onlineBase } from '../learning/online-version.js';
import { CoalescingScorer } from './scoring.js';

/** The roles `learnedChampion` composes (a subset of deployments.ts's LoadedRole, to keep the import one way). */
export interface ServedRole {
  version: string;
  artifactUri: string;
  sha256: string;
  model: LoadedModel;
  scorer: CoalescingScorer;
  versionJson: string;
}

/**
 * What answers the champion's share of traffic for a model with `learning: online | hybrid`: the
 * online copy alone, or the blend of the batch champion and the copy. Undefined (the batch champion
 * serves) in batch mode, before the first online step, and when the copy grew from another champion
 * (a promotion happened and the learner has not restarted from the new one yet).
 * It keeps the champion's version: the lake, the monitor and the canary judge "the champion", and the
 * online copy is part of it; GET deployment names the copy.
 */
export function learnedChampion(spec: ModelSpec, champion: ServedRole | undefined, online: ServedRole | undefined): ServedRole | undefined {
  if (spec.learning.mode === 'batch' || !champion || !online || onlineBase(online.version) !== champion.version) return undefined;
  const model = spec.learning.mode === 'online' ? online.model : new BlendedModel(champion.model, online.model, spec.learning.weights);
  return { version: champion.version, artifactUri: champion.artifactUri, sha256: champion.sha256, versionJson: champion.versionJson, model, scorer: new CoalescingScorer(model) };
}

/** Seed 002's hybrid as a model: both score every row, then `blendPrediction`. Owns neither model. */
export class BlendedModel implements LoadedModel {
  readonly format;
  readonly task;
  readonly features;
  readonly path;
  readonly sha256;
  readonly threshold;
  readonly classCount;

  constructor(
    private readonly batch: LoadedModel,
    private readonly online: LoadedModel,
    private readonly weights: BlendWeights,
  ) {
    this.format = batch.format;
    this.task = batch.task;
    this.features = batch.features;
    this.path = batch.path;
    this.sha256 = batch.sha256;
    this.threshold = batch.threshold;
    this.classCount = batch.classCount;
  }

  async predict(rows: readonly FeatureRow[]): Promise<Prediction[]> {
    const [a, b] = await Promise.all([this.batch.predict(rows), this.online.predict(rows)]);
    return a.map((p, i) => blendPrediction(p, b[i], this.weights, this.task, this.threshold));
  }

  async predictColumns(columns: FeatureColumns, rowCount?: number): Promise<ColumnPredictions> {
    const [a, b] = await Promise.all([this.batch.predictColumns(columns, rowCount), this.online.predictColumns(columns, rowCount)]);
    const n = a.scores.length;
    const k = this.classCount ?? 0;
    const out: ColumnPredictions = { predictions: new Float64Array(n), scores: new Float64Array(n) };
    if (k > 0) out.probabilities = new Float64Array(n * k);
    for (let i = 0; i < n; i++) {
      const row = (r: ColumnPredictions): Prediction => ({ prediction: r.predictions[i], score: r.scores[i], probabilities: k > 0 ? Array.from(r.probabilities!.subarray(i * k, (i + 1) * k)) : undefined });
      const p = blendPrediction(row(a), row(b), this.weights, this.task, this.threshold);
      out.predictions[i] = p.prediction;
      out.scores[i] = p.score;
      if (k > 0) out.probabilities!.set(p.probabilities!, i * k);
    }
    return out;
  }

  async close(): Promise<void> {
    // The batch champion and the online copy are roles of their own, closed when they retire.
  }
}

import type { Prediction } from '../backends/models/scorer.js';

export interface BlendWeights {
  batch: number;
  online: number;
}

/**
 * Seed 002's hybrid: the batch champion is the stable core, the online copy the quick responder.
 * Classifiers blend probabilities (then the champion's threshold, or the argmax, decides), so the
 * answer stays a calibrated probability; regression blends the values.
 */
export function blendPrediction(batch: Prediction, online: Prediction, weights: BlendWeights, task: 'binary_classification' | 'multiclass_classification' | 'regression', threshold = 0.5): Prediction {
  if (task === 'regression') {
    const value = weights.batch * batch.prediction + weights.online * online.prediction;
    return { prediction: value, score: value };
  }
  if (task === 'binary_classification') {
    const score = weights.batch * batch.score + weights.online * online.score;
    return { prediction: score >= threshold ? 1 : 0, score };
  }
  const a = batch.probabilities ?? [];
  const b = online.probabilities ?? [];
  const probabilities = a.map((v, i) => weights.batch * v + weights.online * (b[i] ?? 0));
  let best = 0;
  for (let i = 1; i < probabilities.length; i++) if (probabilities[i] > probabilities[best]) best = i;
  return { prediction: best, score: probabilities[best], probabilities };
}

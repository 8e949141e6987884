import type { FeatureColumns } from '../backends/models/columns.js';
import { encode, sigmoid } from '../backends/models/encode.js';
import { weightCount, type LinearModel } from '../backends/models/format.js';

/**
 * An online copy of a `retrain-linear/v1` model that learns one labelled example at a time.
 *
 * The step is normalised least-mean-squares: w ← w − η·r·x / (‖x‖² + 1), with x the encoded row
 * (standardised numbers, one-hot categories) and r the gradient of the loss in the model's output
 * (p − y for logistic and softmax, ŷ − y for linear). Normalising by the row's squared norm makes
 * the step scale-free: one example moves its own output by exactly η of its error, whatever its
 * feature scale, so `learningRate` is a bound on how far one label can swing the model, which is
 * what an operator needs to reason about poisoned or noisy feedback. Class weights the batch
 * model was trained with (`training.classWeights`) weight the steps the same way, so the online
 * copy keeps the batch model's calibration target.
 *
 * Prequential: each example is scored before it is learned, so `learn` also reports how the
 * model did on data it had not seen (the figure `bench:learning` compares).
 */
export interface OnlineStepOptions {
  /** η: the fraction of its own error one example can correct (0 < η ≤ 1). */
  learningRate: number;
  /** Weight decay per step (0 = none). */
  l2: number;
}

export interface LearnReport {
  /** Examples that updated the model. */
  applied: number;
  /** Examples refused: a label that is not finite, or not a class of this model. */
  skipped: number;
  /** Classification: examples the model got right before learning them. */
  correct: number;
  /** Sum of the loss before each step (log loss, or squared error for regression). */
  lossSum: number;
}

export class OnlineLinearLearner {
  private readonly weights: Float64Array;
  /** One bias (binary, regression) or one per class (multiclass). */
  private readonly biases: Float64Array;
  private readonly classes: number;
  private readonly perClass: number;
  private readonly classWeights?: { negative: number; positive: number };
  /** Steps taken since the base model (carried across snapshots). */
  updates: number;

  constructor(
    readonly base: LinearModel,
    private readonly options: OnlineStepOptions,
    updates = 0,
  ) {
    if (!(options.learningRate > 0 && options.learningRate <= 1)) throw new RangeError(`learningRate must be in (0, 1], got ${options.learningRate}`);
    if (!(options.l2 >= 0 && options.l2 < 1)) throw new RangeError(`l2 must be in [0, 1), got ${options.l2}`);
    this.weights = Float64Array.from(base.weights);
    this.perClass = weightCount(base.features);
    this.classes = base.task === 'multiclass_classification' ? base.classes!.length : 1;
    this.biases = this.classes > 1 ? Float64Array.from(base.biases!) : Float64Array.of(base.bias ?? 0);
    const cw = (base.training?.classWeights ?? undefined) as { negative?: unknown; positive?: unknown } | null | undefined;
    if (base.task === 'binary_classification' && cw && typeof cw.negative === 'number' && typeof cw.positive === 'number') {
      this.classWeights = { negative: cw.negative, positive: cw.positive };
    }
    this.updates = updates;
  }

  /**
   * Learns the rows in order (or the rows `pick` lists, in its order): score, then step.
   * Rows are the feature columns as the lake returns them; labels are 0/1, class indices or values.
   */
  learn(columns: FeatureColumns, labels: Float64Array, rowCount: number, pick?: Int32Array): LearnReport {
    const design = encode(this.base.features, columns, rowCount);
    const { numeric, numericIndex, codes, categoricalCount: c } = design;
    const p = numericIndex.length;
    const k = this.classes;
    const d = this.perClass;
    const eta = this.options.learningRate;
    const decay = 1 - eta * this.options.l2;
    const z = new Float64Array(k);
    const report: LearnReport = { applied: 0, skipped: 0, correct: 0, lossSum: 0 };
    const order = pick ?? Int32Array.from({ length: rowCount }, (_, i) => i);

    for (const i of order) {
      const y = labels[i];
      if (!this.validLabel(y)) {
        report.skipped++;
        continue;
      }
      // ‖x‖² + 1 (the bias input): each categorical feature has exactly one active weight of value 1.
      let norm = c + 1;
      for (let j = 0; j < p; j++) norm += numeric[i * p + j] ** 2;
      for (let cls = 0; cls < k; cls++) {
        const off = cls * d;
        let s = this.biases[cls];
        for (let j = 0; j < p; j++) s += numeric[i * p + j] * this.weights[off + numericIndex[j]];
        for (let m = 0; m < c; m++) s += this.weights[off + codes[i * c + m]];
        z[cls] = s;
      }
      const residuals = this.residuals(z, y, report);
      if (decay !== 1) for (let w = 0; w < this.weights.length; w++) this.weights[w] *= decay;
      for (let cls = 0; cls < k; cls++) {
        const step = (eta * residuals[cls]) / norm;
        if (step === 0) continue;
        const off = cls * d;
        for (let j = 0; j < p; j++) this.weights[off + numericIndex[j]] -= step * numeric[i * p + j];
        for (let m = 0; m < c; m++) this.weights[off + codes[i * c + m]] -= step;
        this.biases[cls] -= step;
      }
      report.applied++;
      this.updates++;
    }
    return report;
  }

  /** The current weights as a model file: the base's preprocessing, threshold and classes unchanged. */
  toModel(provenance: Record<string, unknown> = {}): LinearModel {
    const { training: _training, ...base } = this.base;
    const fitted = this.classes > 1 ? { biases: Array.from(this.biases) } : { bias: this.biases[0] };
    return {
      ...base,
      weights: Array.from(this.weights),
      ...fitted,
      training: { ...(this.base.training ?? {}), online: { updates: this.updates, learningRate: this.options.learningRate, l2: this.options.l2, ...provenance } },
    };
  }

  private validLabel(y: number): boolean {
    if (!Number.isFinite(y)) return false;
    if (this.base.task === 'binary_classification') return y === 0 || y === 1;
    if (this.base.task === 'multiclass_classification') return Number.isInteger(y) && y >= 0 && y < this.classes;
    return true;
  }

  /** d loss / d output per class for one example, and its prequential score. */
  private residuals(z: Float64Array, y: number, report: LearnReport): Float64Array {
    const task = this.base.task;
    if (task === 'regression') {
      report.lossSum += (z[0] - y) ** 2;
      return Float64Array.of(z[0] - y);
    }
    if (task === 'binary_classification') {
      const prob = sigmoid(z[0]);
      const threshold = this.base.threshold ?? 0.5;
      if ((prob >= threshold ? 1 : 0) === y) report.correct++;
      report.lossSum += -Math.log(Math.max(1e-15, y === 1 ? prob : 1 - prob));
      const weight = this.classWeights ? (y === 1 ? this.classWeights.positive : this.classWeights.negative) : 1;
      return Float64Array.of(weight * (prob - y));
    }
    let max = z[0];
    let best = 0;
    for (let cls = 1; cls < z.length; cls++) if (z[cls] > max) (max = z[cls]), (best = cls);
    let sum = 0;
    const probs = Float64Array.from(z, (v) => Math.exp(v - max));
    for (const v of probs) sum += v;
    for (let cls = 0; cls < probs.length; cls++) probs[cls] = probs[cls] / sum - (cls === y ? 1 : 0);
    if (best === y) report.correct++;
    report.lossSum += -Math.log(Math.max(1e-15, probs[y] + 1));
    return probs;
  }
}

/**
 * At most `max` of `n` examples, spread evenly over them in their order: the rate bound. A flood of
 * labels in one minute is thinned rather than cut at its start, so no single burst decides.
 */
export function evenSample(n: number, max: number): Int32Array {
  if (n <= max) return Int32Array.from({ length: n }, (_, i) => i);
  return Int32Array.from({ length: max }, (_, i) => Math.floor(((i + 0.5) * n) / max));
}

import { mulberry32 } from '../../drift/index.js';
import type { EncodedDesign } from '../models/encode.js';
import { TrainingInputError } from './types.js';

/**
 * Multinomial logistic regression (softmax) by mini-batch SGD, the multiclass sibling of
 * `trainLinearSgd` (sgd.ts) with the same schedule, so the spec's learningRate, epochs, l2,
 * classWeight and seed mean the same thing for k classes as for two:
 *
 *  - objective: mean weighted cross-entropy + l2/2 · ‖W‖² (intercepts not penalised), which is
 *    scikit-learn's LogisticRegression(C = 1 / (l2 · n)) objective divided by C·n;
 *  - one weight vector per class (k × d, the over-parametrised form scikit-learn uses: with
 *    l2 > 0 the optimum is unique), intercepts started at the log class priors;
 *  - the rows shuffled once (seeded), batches visited in a fresh seeded order each epoch, step
 *    lr/√(1+epoch), capped by the softmax curvature bound (½ · mean ‖x‖²), and the final
 *    epoch's iterates averaged (Polyak–Ruppert);
 *  - categorical features stay sparse (one active weight row per feature and row).
 *
 * Deterministic: the same data, params and seed give identical weights (fixed arithmetic order).
 */
export interface SoftmaxOptions {
  classes: number;
  learningRate: number;
  epochs: number;
  l2: number;
  classWeight: 'balanced' | 'none';
  seed: number;
  batchSize?: number;
  onEpoch?: (info: { epoch: number; epochs: number; trainLoss: number; weights: Float64Array; biases: Float64Array }) => void;
}

export interface SoftmaxResult {
  /** k blocks of `weightCount` weights in the model's layout, class by class. */
  weights: Float64Array;
  biases: Float64Array;
  /** Weighted cross-entropy of the last epoch (estimated on every 16th row). */
  trainLoss: number;
  batchSize: number;
  learningRate: number;
  /** Balanced weights by class, scikit-learn's n / (k · n_class). */
  classWeights?: number[];
  /** Training rows per class. */
  classCounts: number[];
}

export function trainSoftmaxSgd(design: EncodedDesign, y: Float64Array, weightCount: number, options: SoftmaxOptions): SoftmaxResult {
  const { rows: n, numeric, numericIndex, codes, categoricalCount: c } = design;
  const p = numericIndex.length;
  const k = options.classes;
  if (n === 0) throw new TrainingInputError('the training split has no rows with a label');
  const counts = new Array<number>(k).fill(0);
  for (let i = 0; i < n; i++) {
    const v = y[i];
    if (!Number.isInteger(v) || v < 0 || v >= k) throw new TrainingInputError(`multiclass labels must be class indices 0..${k - 1}, found ${v} (row ${i})`);
    counts[v]++;
  }
  const present = counts.filter((m) => m > 0).length;
  if (present < 2) throw new TrainingInputError(`the training split has only one class (${counts.map((m, i) => `class ${i}: ${m}`).join(', ')})`);

  const classWeights = options.classWeight === 'balanced' ? counts.map((m) => (m > 0 ? n / (k * m) : 0)) : undefined;
  let sq = 0;
  for (let i = 0; i < numeric.length; i++) sq += numeric[i] * numeric[i];
  const meanSqNorm = sq / n + c + 1;
  const learningRate = Math.min(options.learningRate, 2 / meanSqNorm);
  const batchSize = options.batchSize ?? Math.min(256, Math.max(16, 2 ** Math.round(Math.log2(n / 256))));

  const random = mulberry32(options.seed);
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  shuffle(perm, random);
  const X = new Float64Array(n * p);
  const C = new Int32Array(n * c);
  const T = new Int32Array(n);
  const S = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const from = perm[i];
    for (let j = 0; j < p; j++) X[i * p + j] = numeric[from * p + j];
    for (let m = 0; m < c; m++) C[i * c + m] = codes[from * c + m];
    T[i] = y[from];
    S[i] = classWeights ? classWeights[T[i]] : 1;
  }

  const state: SoftmaxState = {
    wNum: new Float64Array(p * k),
    wCat: new Float64Array(weightCount * k),
    // Unweighted: start at the log priors (absent classes far below); balanced: all equal.
    bias: Float64Array.from(counts, (m) => (classWeights ? 0 : Math.log(Math.max(m, 0.5) / n))),
    avgNum: new Float64Array(p * k),
    avgCat: new Float64Array(weightCount * k),
    avgBias: new Float64Array(k),
    avgSteps: 0,
  };
  const batches = new Int32Array(Math.ceil(n / batchSize));
  for (let b = 0; b < batches.length; b++) batches[b] = b;
  let trainLoss = Number.NaN;
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    shuffle(batches, random);
    const lr = learningRate / Math.sqrt(1 + epoch);
    const averaging = epoch === options.epochs - 1;
    trainLoss = softmaxEpoch(X, C, T, S, n, p, c, k, batches, batchSize, state, lr, options.l2, averaging);
    if (!Number.isFinite(trainLoss)) {
      throw new TrainingInputError(`training diverged in epoch ${epoch + 1} (loss ${trainLoss}); lower trainer.params.learningRate`);
    }
    if (options.onEpoch) {
      const current = assemble(state.wNum, state.wCat, state.bias, numericIndex, weightCount, k);
      options.onEpoch({ epoch: epoch + 1, epochs: options.epochs, trainLoss, ...current });
    }
  }
  const { avgNum, avgCat, avgBias, avgSteps } = state;
  for (let i = 0; i < avgNum.length; i++) avgNum[i] /= avgSteps;
  for (let i = 0; i < avgCat.length; i++) avgCat[i] /= avgSteps;
  for (let i = 0; i < k; i++) avgBias[i] /= avgSteps;
  return { ...assemble(avgNum, avgCat, avgBias, numericIndex, weightCount, k), trainLoss, batchSize, learningRate, classWeights, classCounts: counts };
}

interface SoftmaxState {
  /** Numerical weights, p × k (feature-major, so a row's k scores read adjacent values). */
  wNum: Float64Array;
  /** One-hot weights in the model's layout, weightCount × k. */
  wCat: Float64Array;
  bias: Float64Array;
  avgNum: Float64Array;
  avgCat: Float64Array;
  avgBias: Float64Array;
  avgSteps: number;
}

/** One epoch over every mini-batch; returns the weighted mean cross-entropy on every 16th row. */
function softmaxEpoch(
  X: Float64Array, C: Int32Array, T: Int32Array, S: Float64Array,
  n: number, p: number, c: number, k: number, batches: Int32Array, batchSize: number,
  state: SoftmaxState, lr: number, l2: number, averaging: boolean,
): number {
  const { wNum, wCat, bias, avgNum, avgCat, avgBias } = state;
  const gNum = new Float64Array(wNum.length);
  const gCat = new Float64Array(wCat.length);
  const gBias = new Float64Array(k);
  const z = new Float64Array(k);
  const decay = 1 - lr * l2;
  let lossSum = 0;
  let weightSum = 0;
  for (let bi = 0; bi < batches.length; bi++) {
    const start = batches[bi] * batchSize;
    const end = Math.min(n, start + batchSize);
    for (let r = start; r < end; r++) {
      const base = r * p;
      const cbase = r * c;
      for (let q = 0; q < k; q++) z[q] = bias[q];
      for (let j = 0; j < p; j++) {
        const x = X[base + j];
        const w = j * k;
        for (let q = 0; q < k; q++) z[q] += x * wNum[w + q];
      }
      for (let m = 0; m < c; m++) {
        const w = C[cbase + m] * k;
        for (let q = 0; q < k; q++) z[q] += wCat[w + q];
      }
      let max = z[0];
      for (let q = 1; q < k; q++) if (z[q] > max) max = z[q];
      let sum = 0;
      for (let q = 0; q < k; q++) {
        z[q] = Math.exp(z[q] - max);
        sum += z[q];
      }
      const t = T[r];
      const sw = S[r];
      if ((r & 15) === 0) {
        lossSum += sw * -Math.log(Math.max(z[t] / sum, 1e-300));
        weightSum += sw;
      }
      // Gradient of the cross-entropy by class score: softmax − one-hot, times the row's weight.
      for (let q = 0; q < k; q++) z[q] = sw * (z[q] / sum - (q === t ? 1 : 0));
      for (let j = 0; j < p; j++) {
        const x = X[base + j];
        const w = j * k;
        for (let q = 0; q < k; q++) gNum[w + q] += z[q] * x;
      }
      for (let m = 0; m < c; m++) {
        const w = C[cbase + m] * k;
        for (let q = 0; q < k; q++) gCat[w + q] += z[q];
      }
      for (let q = 0; q < k; q++) gBias[q] += z[q];
    }
    const scale = lr / (end - start);
    for (let i = 0; i < wNum.length; i++) {
      wNum[i] = wNum[i] * decay - scale * gNum[i];
      gNum[i] = 0;
    }
    for (let i = 0; i < wCat.length; i++) {
      wCat[i] = wCat[i] * decay - scale * gCat[i];
      gCat[i] = 0;
    }
    for (let q = 0; q < k; q++) {
      bias[q] -= scale * gBias[q];
      gBias[q] = 0;
    }
    if (averaging) {
      for (let i = 0; i < wNum.length; i++) avgNum[i] += wNum[i];
      for (let i = 0; i < wCat.length; i++) avgCat[i] += wCat[i];
      for (let q = 0; q < k; q++) avgBias[q] += bias[q];
      state.avgSteps++;
    }
  }
  return lossSum / weightSum;
}

/** Training layout → the model's: k blocks of weightCount weights, class by class. */
function assemble(wNum: Float64Array, wCat: Float64Array, bias: Float64Array, numericIndex: Int32Array, weightCount: number, k: number) {
  const weights = new Float64Array(weightCount * k);
  for (let q = 0; q < k; q++) {
    for (let idx = 0; idx < weightCount; idx++) weights[q * weightCount + idx] = wCat[idx * k + q];
    numericIndex.forEach((idx, j) => {
      weights[q * weightCount + idx] = wNum[j * k + q];
    });
  }
  return { weights, biases: Float64Array.from(bias) };
}

function shuffle(a: Int32Array, random: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

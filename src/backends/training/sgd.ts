import { mulberry32 } from '../../drift/index.js';
import type { EncodedDesign } from '../models/encode.js';
import { TrainingInputError } from './types.js';

/**
 * Mini-batch stochastic gradient descent for logistic and linear regression, on Float64Arrays.
 *
 * Why hand-written: no maintained numerics library for Node fits here (the candidates are
 * unmaintained, dense-only, or need a native BLAS), and the problem is small and convex.
 * Why SGD rather than L-BFGS: the spec's parameters (learningRate, epochs) are SGD's; an epoch
 * works directly on the sparse one-hot layout of `encode` (one active weight per categorical
 * feature), so 800k rows × 25 features cost a few dozen million multiply-adds and no dense
 * n × d matrix is ever built; and on the benchmark it reaches scikit-learn's L-BFGS holdout AUC
 * to four decimals. L-BFGS would also have worked (exact optimum, no seed) and remains an option
 * behind the same interface if a model needs tighter convergence.
 * Accuracy: the step size decays as lr/√(1+epoch) and the final epoch's iterates are averaged
 * (Polyak–Ruppert), which removes most of SGD's end-point noise (the tests recover known linear
 * coefficients to within 0.01).
 *
 * Determinism: the only randomness is the seeded mulberry32 behind the row shuffle and the
 * per-epoch batch order, and all arithmetic runs in a fixed order, so the same data, params and
 * seed give identical weights.
 */
export interface SgdOptions {
  task: 'binary_classification' | 'regression';
  learningRate: number;
  epochs: number;
  l2: number;
  classWeight: 'balanced' | 'none';
  seed: number;
  /** Rows per step; by default it grows with the data (16..256). */
  batchSize?: number;
  /** Called after every epoch with the current (not yet averaged) weights. */
  onEpoch?: (info: { epoch: number; epochs: number; trainLoss: number; weights: Float64Array; bias: number }) => void;
}

export interface SgdResult {
  /** Full weight vector in the model's layout (numerical and one-hot weights). */
  weights: Float64Array;
  bias: number;
  /** Weighted data loss of the last epoch: log loss (estimated on every 16th row), or RMSE in label units. */
  trainLoss: number;
  batchSize: number;
  /** Step size actually used (the requested one, capped for stability). */
  learningRate: number;
  classWeights?: { negative: number; positive: number };
}

export function trainLinearSgd(design: EncodedDesign, y: Float64Array, weightCount: number, options: SgdOptions): SgdResult {
  const { rows: n, numeric, numericIndex, codes, categoricalCount: c } = design;
  const p = numericIndex.length;
  if (n === 0) throw new TrainingInputError('the training split has no rows with a label');
  const binary = options.task === 'binary_classification';

  // Targets: 0/1 for classification; standardised for regression so one step size fits any scale.
  let yMean = 0;
  let yStd = 1;
  const target = new Float64Array(n);
  let positives = 0;
  for (let i = 0; i < n; i++) {
    const v = y[i];
    if (binary && v !== 0 && v !== 1) throw new TrainingInputError(`binary labels must be 0 or 1, found ${v} (row ${i})`);
    if (!Number.isFinite(v)) throw new TrainingInputError(`label is not a finite number at row ${i}`);
    if (v === 1) positives++;
    yMean += v;
  }
  yMean /= n;
  if (!binary) {
    let ss = 0;
    for (let i = 0; i < n; i++) ss += (y[i] - yMean) * (y[i] - yMean);
    yStd = Math.sqrt(ss / n) || 1;
    for (let i = 0; i < n; i++) target[i] = (y[i] - yMean) / yStd;
  } else {
    target.set(y);
    if (positives === 0 || positives === n) throw new TrainingInputError(`the training split has only one class (${positives} positives of ${n} rows)`);
  }

  // Balanced class weights as scikit-learn defines them: n / (2 · n_class).
  const classWeights = binary && options.classWeight === 'balanced' ? { negative: n / (2 * (n - positives)), positive: n / (2 * positives) } : undefined;

  // Step-size cap from the mean squared row norm (curvature bound); a no-op for usual settings.
  let sq = 0;
  for (let i = 0; i < numeric.length; i++) sq += numeric[i] * numeric[i];
  const meanSqNorm = sq / n + c + 1;
  const learningRate = Math.min(options.learningRate, (binary ? 4 : 1) / meanSqNorm);
  const batchSize = options.batchSize ?? Math.min(256, Math.max(16, 2 ** Math.round(Math.log2(n / 256))));

  // Rows are shuffled once into new arrays, then each epoch visits the mini-batches in a fresh
  // seeded order. Reading rows in memory order is ~3× faster than a per-row random permutation
  // (cache misses on a 100+ MB design); for a convex loss the fixed batch composition does not
  // change where SGD converges.
  const random = mulberry32(options.seed);
  const perm = new Int32Array(n);
  for (let i = 0; i < n; i++) perm[i] = i;
  shuffle(perm, random);
  const X = gatherRows(numeric, p, perm, new Float64Array(n * p));
  const C = gatherRows(codes, c, perm, new Int32Array(n * c));
  const T = gatherRows(target, 1, perm, new Float64Array(n));
  const S = new Float64Array(n);
  for (let i = 0; i < n; i++) S[i] = classWeights ? (T[i] === 1 ? classWeights.positive : classWeights.negative) : 1;

  const state: PassState = {
    wNum: new Float64Array(p),
    wCat: new Float64Array(weightCount), // numerical slots stay 0 during training
    bias: binary && !classWeights ? Math.log(positives / (n - positives)) : 0,
    avgNum: new Float64Array(p),
    avgCat: new Float64Array(weightCount),
    avgBias: 0,
    avgSteps: 0,
  };
  const batches = new Int32Array(Math.ceil(n / batchSize));
  for (let b = 0; b < batches.length; b++) batches[b] = b;
  let trainLoss = Number.NaN;

  for (let epoch = 0; epoch < options.epochs; epoch++) {
    shuffle(batches, random);
    const lr = learningRate / Math.sqrt(1 + epoch);
    const averaging = epoch === options.epochs - 1;
    const loss = epochPass(X, C, T, S, n, p, c, batches, batchSize, state, lr, options.l2, binary, averaging);
    trainLoss = binary ? loss : Math.sqrt(loss) * yStd;
    if (!Number.isFinite(trainLoss)) {
      throw new TrainingInputError(`training diverged in epoch ${epoch + 1} (loss ${trainLoss}); lower trainer.params.learningRate`);
    }
    if (options.onEpoch) {
      const current = assemble(state.wNum, state.wCat, numericIndex, state.bias, yMean, yStd, binary);
      options.onEpoch({ epoch: epoch + 1, epochs: options.epochs, trainLoss, weights: current.weights, bias: current.bias });
    }
  }

  const { avgNum, avgCat, avgSteps } = state;
  for (let j = 0; j < p; j++) avgNum[j] /= avgSteps;
  for (let k = 0; k < weightCount; k++) avgCat[k] /= avgSteps;
  const final = assemble(avgNum, avgCat, numericIndex, state.avgBias / avgSteps, yMean, yStd, binary);
  return { ...final, trainLoss, batchSize, learningRate, classWeights };
}

interface PassState {
  wNum: Float64Array;
  wCat: Float64Array;
  bias: number;
  avgNum: Float64Array;
  avgCat: Float64Array;
  avgBias: number;
  avgSteps: number;
}

/**
 * One epoch: every mini-batch once, in `batches` order. Kept as a separate monomorphic function
 * over typed arrays so V8 optimises it as a whole (inlined in the caller's loop it ran ~2× slower).
 * Returns the weighted mean data loss (log loss on a 1/16 row sample, or MSE on the standardised target).
 */
function epochPass(
  X: Float64Array, C: Int32Array, T: Float64Array, S: Float64Array,
  n: number, p: number, c: number, batches: Int32Array, batchSize: number,
  state: PassState, lr: number, l2: number, binary: boolean, averaging: boolean,
): number {
  const { wNum, wCat, avgNum, avgCat } = state;
  const d = wCat.length;
  const gNum = new Float64Array(p);
  const gCat = new Float64Array(d);
  const decay = 1 - lr * l2;
  let bias = state.bias;
  let lossSum = 0;
  let weightSum = 0;
  for (let bi = 0; bi < batches.length; bi++) {
    const start = batches[bi] * batchSize;
    const end = Math.min(n, start + batchSize);
    let gBias = 0;
    for (let r = start; r < end; r++) {
      const base = r * p;
      const cbase = r * c;
      let z = bias;
      for (let j = 0; j < p; j++) z += X[base + j] * wNum[j];
      for (let k = 0; k < c; k++) z += wCat[C[cbase + k]];
      const t = T[r];
      const sw = S[r];
      let g: number;
      if (binary) {
        // Numerically stable log loss and its gradient σ(z) − y; one exp serves both:
        // e = exp(−|z|) gives σ(z) and log(1 + exp(±z)).
        const e = Math.exp(z >= 0 ? -z : z);
        g = (z >= 0 ? 1 / (1 + e) : e / (1 + e)) - t;
        // The reported loss is estimated on every 16th row: log1p on every row cost ~30% of
        // the epoch, and the loss is only reported, never used for the update.
        if ((r & 15) === 0) {
          const m = t === 1 ? -z : z;
          lossSum += sw * ((m > 0 ? m : 0) + Math.log1p(e));
          weightSum += sw;
        }
      } else {
        g = z - t;
        lossSum += sw * g * g;
        weightSum += sw;
      }
      g *= sw;
      for (let j = 0; j < p; j++) gNum[j] += g * X[base + j];
      for (let k = 0; k < c; k++) gCat[C[cbase + k]] += g;
      gBias += g;
    }
    const scale = lr / (end - start);
    for (let j = 0; j < p; j++) {
      wNum[j] = wNum[j] * decay - scale * gNum[j];
      gNum[j] = 0;
    }
    for (let k = 0; k < d; k++) {
      wCat[k] = wCat[k] * decay - scale * gCat[k];
      gCat[k] = 0;
    }
    bias -= scale * gBias;
    if (averaging) {
      for (let j = 0; j < p; j++) avgNum[j] += wNum[j];
      for (let k = 0; k < d; k++) avgCat[k] += wCat[k];
      state.avgBias += bias;
      state.avgSteps++;
    }
  }
  state.bias = bias;
  return lossSum / weightSum;
}

/** out[i] = rows[perm[i]] for row-major blocks of `width` values. */
function gatherRows<A extends Float64Array | Int32Array>(source: A, width: number, perm: Int32Array, out: A): A {
  for (let i = 0; i < perm.length; i++) {
    const from = perm[i] * width;
    const to = i * width;
    for (let j = 0; j < width; j++) out[to + j] = source[from + j];
  }
  return out;
}

function shuffle(a: Int32Array, random: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}

/** Training-layout weights → model weights (undoing the regression target standardisation). */
function assemble(wNum: Float64Array, wCat: Float64Array, numericIndex: Int32Array, bias: number, yMean: number, yStd: number, binary: boolean) {
  const weights = Float64Array.from(wCat);
  numericIndex.forEach((idx, j) => {
    weights[idx] = wNum[j];
  });
  if (binary) return { weights, bias };
  for (let i = 0; i < weights.length; i++) weights[i] *= yStd;
  return { weights, bias: bias * yStd + yMean };
}

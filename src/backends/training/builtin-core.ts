import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { isClassification, type Task } from '../../config/policies.js';
import type { FeatureSpec } from '../../config/schema.js';
import { encode, type EncodedDesign, linearScores, sigmoid, softmaxRows } from '../models/encode.js';
import { argmaxRows, type ColumnPredictions } from '../models/scorer.js';
import { LINEAR_FORMAT, type LinearModel, weightCount } from '../models/format.js';
import { LinearScorer } from '../models/linear-scorer.js';
import { finiteMetrics, taskMetrics } from './metrics.js';
import { readParquetColumns } from './parquet.js';
import { fitPreprocessing } from './preprocess.js';
import { trainLinearSgd } from './sgd.js';
import { trainSoftmaxSgd } from './softmax.js';
import { type Metrics, TrainingInputError, type TrainProgress } from './types.js';

/**
 * The built-in trainer's whole job, as a plain function: read the splits, fit preprocessing on
 * train, run SGD, score validation through the same LinearScorer the gateway uses, write
 * model.json. The worker thread calls it; benchmarks may call it directly.
 */
export interface BuiltinJob {
  task: Task;
  /** Multiclass: the class names in label order (label i is classes[i]). */
  classes?: string[];
  algorithm: 'logistic_regression' | 'linear_regression';
  features: FeatureSpec[];
  labelName: string;
  params: { learningRate: number; epochs: number; l2: number; classWeight: 'balanced' | 'none'; seed: number };
  datasetDir: string;
  outputDir: string;
  runId: string;
}

export interface BuiltinOutcome {
  artifactPath: string;
  metrics: Metrics;
  log: string[];
}

export async function runBuiltinJob(job: BuiltinJob, onProgress: (p: TrainProgress) => void = () => undefined): Promise<BuiltinOutcome> {
  const log: string[] = [];
  const note = (line: string) => log.push(`${new Date().toISOString()} ${line}`);
  // Wall time per phase, kept in the model's provenance: where a slow run spent its time.
  const timingsMs: Record<string, number> = {};
  let phaseStart = performance.now();
  const phase = (name: string) => {
    const now = performance.now();
    timingsMs[name] = Math.round(now - phaseStart);
    phaseStart = now;
  };
  if ((job.algorithm === 'logistic_regression') !== isClassification(job.task)) {
    throw new TrainingInputError(`algorithm ${job.algorithm} does not fit task ${job.task} (use logistic_regression for binary_classification and multiclass_classification, linear_regression for regression)`);
  }
  const multiclass = job.task === 'multiclass_classification';
  const k = job.classes?.length ?? 0;
  if (multiclass && k < 3) throw new TrainingInputError(`a multiclass model needs at least 3 classes, got ${k}`);

  onProgress({ fraction: 0, message: 'reading dataset' });
  const train = await readParquetColumns(path.join(job.datasetDir, 'train.parquet'), job.features, job.labelName);
  const validation = await readParquetColumns(path.join(job.datasetDir, 'validation.parquet'), job.features, job.labelName);
  phase('read');
  note(`read ${train.rowCount} training rows (${train.droppedMissingLabel} without label skipped), ${validation.rowCount} validation rows`);
  onProgress({ fraction: 0.1, message: `read ${train.rowCount} training rows` });

  const features = fitPreprocessing(job.features, train.columns, train.rowCount);
  const design = encode(features, train.columns, train.rowCount);
  // Columns are no longer needed once encoded; dropping them lets the GC reclaim memory early.
  train.columns = {};
  // Per-epoch progress metrics: one encoded validation design (same encode as scoring), evenly
  // thinned to at most 20k rows so they cost little; the final metrics use every row.
  const epochSample = thinRows(encode(features, validation.columns, validation.rowCount), validation.label!, 20_000);
  const epochScores = (weights: Float64Array, bias: number | Float64Array): ColumnPredictions => {
    if (typeof bias !== 'number') return softmaxScores(epochSample.design, weights, bias);
    const z = linearScores(epochSample.design, weights, bias);
    if (job.task === 'regression') return { predictions: z, scores: z };
    const predictions = new Float64Array(z.length);
    for (let i = 0; i < z.length; i++) {
      z[i] = sigmoid(z[i]);
      predictions[i] = z[i] >= 0.5 ? 1 : 0;
    }
    return { predictions, scores: z };
  };
  phase('preprocess');

  const onEpoch = ({ epoch, epochs, trainLoss, weights, bias }: { epoch: number; epochs: number; trainLoss: number; weights: Float64Array; bias: number | Float64Array }) => {
    const validationStart = performance.now();
    const metrics = finiteMetrics(taskMetrics(job.task, epochSample.label, epochScores(weights, bias)));
    timingsMs.epochValidation = (timingsMs.epochValidation ?? 0) + Math.round(performance.now() - validationStart);
    const lossName = job.task === 'regression' ? 'train_rmse' : 'train_log_loss';
    note(`epoch ${epoch}/${epochs} ${lossName}=${trainLoss.toFixed(5)}`);
    onProgress({ fraction: 0.1 + (0.85 * epoch) / epochs, message: `epoch ${epoch}/${epochs}`, metrics: { [lossName]: trainLoss, ...metrics } });
  };
  const result = multiclass
    ? trainSoftmaxSgd(design, train.label!, weightCount(features), { classes: k, ...job.params, onEpoch: ({ biases, ...info }) => onEpoch({ ...info, bias: biases }) })
    : trainLinearSgd(design, train.label!, weightCount(features), { task: job.task as 'binary_classification' | 'regression', ...job.params, onEpoch });

  phase('sgd');
  const fitted = 'biases' in result ? { biases: Array.from(result.biases) } : { bias: result.bias };
  const model: LinearModel = {
    ...draftModel(job, features, Array.from(result.weights), fitted),
    training: {
      runId: job.runId,
      params: job.params,
      batchSize: result.batchSize,
      effectiveLearningRate: result.learningRate,
      classWeights: result.classWeights ?? null,
      ...('classCounts' in result ? { classCounts: result.classCounts } : {}),
      trainRows: train.rowCount,
      validationRows: validation.rowCount,
      finalTrainLoss: result.trainLoss,
      timingsMs,
      trainedAt: new Date().toISOString(),
    },
  };
  const scorer = new LinearScorer(model, '(in training)', '');
  const metrics = taskMetrics(job.task, validation.label!, scorer.scoreColumns(validation.columns, validation.rowCount));
  note(`validation ${JSON.stringify(metrics)}`);

  await mkdir(job.outputDir, { recursive: true });
  const artifactPath = path.join(job.outputDir, 'model.json');
  // Write-then-rename: a reader never sees a half-written model.
  const temp = `${artifactPath}.${process.pid}.tmp`;
  await writeFile(temp, JSON.stringify(model, null, 1));
  await rename(temp, artifactPath);
  await writeFile(path.join(job.outputDir, 'metrics.json'), JSON.stringify(metrics, null, 2));
  onProgress({ fraction: 1, message: 'wrote model.json', metrics: finiteMetrics(metrics) });
  return { artifactPath, metrics, log };
}

/** Every ⌈n/max⌉-th row of a design and its labels (deterministic, spread over the whole split). */
function thinRows(design: EncodedDesign, label: Float64Array, max: number): { design: EncodedDesign; label: Float64Array } {
  if (design.rows <= max) return { design, label };
  const step = Math.ceil(design.rows / max);
  const rows = Math.ceil(design.rows / step);
  const p = design.numericIndex.length;
  const c = design.categoricalCount;
  const numeric = new Float64Array(rows * p);
  const codes = new Int32Array(rows * c);
  const picked = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    const r = i * step;
    numeric.set(design.numeric.subarray(r * p, r * p + p), i * p);
    codes.set(design.codes.subarray(r * c, r * c + c), i * c);
    picked[i] = label[r];
  }
  return { design: { ...design, rows, numeric, codes }, label: picked };
}

function draftModel(job: BuiltinJob, features: LinearModel['features'], weights: number[], fitted: { bias: number } | { biases: number[] }): LinearModel {
  return {
    format: LINEAR_FORMAT,
    task: job.task,
    algorithm: job.task === 'multiclass_classification' ? 'multinomial_logistic_regression' : job.algorithm,
    label: job.labelName,
    features,
    weights,
    ...fitted,
    ...(job.task === 'binary_classification' ? { threshold: 0.5 } : {}),
    ...(job.task === 'multiclass_classification' ? { classes: job.classes } : {}),
  };
}

/** Class probabilities of an encoded design under k weight blocks (the linear scorer's softmax). */
function softmaxScores(design: EncodedDesign, weights: Float64Array, biases: Float64Array): ColumnPredictions {
  const k = biases.length;
  const d = weights.length / k;
  const rows = design.rows;
  const probabilities = new Float64Array(rows * k);
  const z = new Float64Array(rows);
  for (let c = 0; c < k; c++) {
    linearScores(design, weights.subarray(c * d, (c + 1) * d), biases[c], z);
    for (let i = 0; i < rows; i++) probabilities[i * k + c] = z[i];
  }
  softmaxRows(probabilities, k, rows);
  return { ...argmaxRows(probabilities, k, rows), probabilities };
}

import { readFile, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ModelSpec } from '../../config/schema.js';
import { ModelLoadError } from '../models/errors.js';
import { ARTIFACT_FILES, artifactUri, loadModel } from '../models/load.js';
import type { ModelFormat } from '../models/scorer.js';
import { type Metrics, REQUIRED_METRICS, TrainingError } from './types.js';

/**
 * The output half of the trainer contract (docs/trainer-contract.md): what a trainer must leave
 * in its output directory, and the checks that turn a sloppy trainer into a clear error instead
 * of a model that fails later in the gateway.
 */

/** Files a previous attempt may have left; removed before a run so stale output never passes. */
export const OUTPUT_FILES = ['model.json', 'model.onnx', 'metrics.json', 'cost.json'] as const;

export async function clearOutputs(outputDir: string): Promise<void> {
  await Promise.all(OUTPUT_FILES.map((file) => rm(path.join(outputDir, file), { force: true })));
}

const exists = (file: string) => stat(file).then((s) => s.isFile(), () => false);

export interface TrainerOutputs {
  artifactUri: string;
  format: ModelFormat;
  metrics: Metrics;
  /** From cost.json when the trainer reported its own cost. */
  costUsd?: number;
}

export async function readTrainerOutputs(outputDir: string, spec: ModelSpec, logTail: string[]): Promise<TrainerOutputs> {
  const fail = (kind: 'missing_output' | 'invalid_output', message: string) => new TrainingError(kind, message, { logTail });

  const found = [] as { format: ModelFormat; file: string }[];
  for (const [format, name] of Object.entries(ARTIFACT_FILES) as [ModelFormat, string][]) {
    const file = path.join(outputDir, name);
    if (await exists(file)) found.push({ format, file });
  }
  if (found.length === 0) throw fail('missing_output', `trainer exited 0 but wrote neither model.json nor model.onnx into ${outputDir}`);
  if (found.length > 1) throw fail('invalid_output', `trainer wrote both model.json and model.onnx into ${outputDir}; write exactly one`);
  const [{ format, file }] = found;

  // Load the artifact exactly as the gateway will: a model it cannot serve fails the run here.
  try {
    const model = await loadModel(file, { spec: { task: spec.task, features: spec.features, classes: spec.classes } });
    await model.close();
  } catch (err) {
    if (err instanceof ModelLoadError) throw fail('invalid_output', `trainer wrote an unusable model: ${err.message}`);
    throw err;
  }

  const metricsFile = path.join(outputDir, 'metrics.json');
  if (!(await exists(metricsFile))) throw fail('missing_output', `trainer exited 0 but wrote no metrics.json into ${outputDir}`);
  const metrics = parseMetrics(await readFile(metricsFile, 'utf8'), spec.task, (m) => fail('invalid_output', `metrics.json: ${m}`));

  let costUsd: number | undefined;
  const costFile = path.join(outputDir, 'cost.json');
  if (await exists(costFile)) {
    let cost: unknown;
    try {
      cost = JSON.parse(await readFile(costFile, 'utf8'));
    } catch (err) {
      throw fail('invalid_output', `cost.json is not valid JSON (${(err as Error).message})`);
    }
    const value = (cost as { costUsd?: unknown } | null)?.costUsd;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw fail('invalid_output', `cost.json: expected {"costUsd": <non-negative number>}, got ${JSON.stringify(cost)}`);
    }
    costUsd = value;
  }
  return { artifactUri: artifactUri(file), format, metrics, costUsd };
}

/** metrics.json: an object of numbers (null allowed for optional ones) with the task's required keys. */
export function parseMetrics(text: string, task: ModelSpec['task'], fail: (message: string) => Error): Metrics {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw fail(`not valid JSON (${(err as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw fail(`expected a JSON object of metric values, got ${text.slice(0, 200)}`);
  const metrics: Metrics = {};
  for (const [key, value] of Object.entries(json)) {
    if (value === null || (typeof value === 'number' && Number.isFinite(value))) metrics[key] = value;
    else throw fail(`metric "${key}" must be a finite number or null, got ${JSON.stringify(value)}`);
  }
  const required = REQUIRED_METRICS[task];
  const missing = required.filter((key) => typeof metrics[key] !== 'number');
  if (missing.length > 0) {
    throw fail(`missing required metric(s) ${missing.join(', ')} for ${task} (required: ${required.join(', ')}; got ${Object.keys(metrics).join(', ') || 'none'})`);
  }
  return metrics;
}

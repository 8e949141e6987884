import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ModelSpec } from '../../config/schema.js';
import { clearOutputs } from './command-output.js';
import type { TrainRequest } from './types.js';

/** The request a contract trainer (command or Ray) receives (path passed as its last argument). */
export interface TrainerRequestFile {
  contractVersion: 1;
  model: string;
  runId: string;
  task: ModelSpec['task'];
  /** Multiclass only: the class names in label order (a label is its class's index). */
  classes?: string[];
  datasetDir: string;
  trainPath: string;
  validationPath: string;
  holdoutPath: string;
  manifestPath: string;
  outputDir: string;
  features: ModelSpec['features'];
  label: ModelSpec['label'];
  params: Record<string, unknown>;
}

/**
 * Prepares the output directory for a contract trainer (docs/trainer-contract.md): creates it,
 * deletes outputs an earlier attempt left, and writes request.json into it. Paths are absolute
 * (resolved on this worker), so the trainer must see this worker's filesystem at the same paths.
 */
export async function writeTrainerRequest(request: TrainRequest, params: Record<string, unknown>): Promise<{ requestPath: string; outputDir: string; contract: TrainerRequestFile }> {
  const { spec } = request;
  const outputDir = path.resolve(request.outputDir);
  const datasetDir = path.resolve(request.datasetDir);
  await mkdir(outputDir, { recursive: true });
  await clearOutputs(outputDir);
  const requestPath = path.join(outputDir, 'request.json');
  const contract: TrainerRequestFile = {
    contractVersion: 1,
    model: spec.name,
    runId: request.runId,
    task: spec.task,
    ...(spec.classes ? { classes: spec.classes } : {}),
    datasetDir,
    trainPath: path.join(datasetDir, 'train.parquet'),
    validationPath: path.join(datasetDir, 'validation.parquet'),
    holdoutPath: path.join(datasetDir, 'holdout.parquet'),
    manifestPath: path.join(datasetDir, 'manifest.json'),
    outputDir,
    features: spec.features,
    label: spec.label,
    params,
  };
  await writeFile(requestPath, JSON.stringify(contract, null, 2));
  return { requestPath, outputDir, contract };
}

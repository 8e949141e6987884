/** Training backends (built-in worker-thread trainer, command trainers, Ray jobs) and offline evaluation. */
import type { ModelSpec } from '../../config/schema.js';
import { BuiltinTrainingBackend } from './builtin.js';
import { CommandTrainingBackend } from './command.js';
import { RayJobsTrainingBackend } from './ray.js';
import type { TrainingBackend } from './types.js';

export { BuiltinTrainingBackend } from './builtin.js';
export { CommandTrainingBackend, parseProgress, type CommandBackendOptions, type TrainerRequestFile } from './command.js';
export { parseMetrics } from './command-output.js';
export { RayJobsTrainingBackend, type RayBackendOptions } from './ray.js';
export { evaluate, MISSING_SLICE, OTHER_SLICE, type EvaluateOptions, type EvaluationResult, type EvaluationSpec, type SliceReport, type SliceValueMetrics } from './evaluate.js';
export { taskMetrics } from './metrics.js';
export { DatasetError, readParquetColumns, type DatasetColumns } from './parquet.js';
export { fitPreprocessing } from './preprocess.js';
export * from './types.js';

/** The backend a model's trainer spec asks for (one instance per kind is enough: they hold no state). */
export function trainingBackendFor(spec: ModelSpec): TrainingBackend {
  switch (spec.trainer.backend) {
    case 'builtin':
      return new BuiltinTrainingBackend();
    case 'command':
      return new CommandTrainingBackend();
    case 'ray':
      return new RayJobsTrainingBackend();
  }
}

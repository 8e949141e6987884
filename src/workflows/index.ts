// The workflows the worker registers. Only deterministic code is reachable from here.
export { monitorModel } from './monitor.js';
export { retrainPipeline } from './pipeline.js';
export { deployVersion } from './deploy-version.js';
export { onlineLearningStep } from './online-learning.js';

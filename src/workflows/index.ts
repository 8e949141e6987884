// The workflows the worker registers. Only deterministic code is reachable from here.
export { retrainPipeline } from './pipeline.js';

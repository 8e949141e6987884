/** Traffic simulator: realistic tabular data with scriptable drift and delayed labels. */
export { DRIFT_KINDS, driftIntensity, driftPhase, driftPlan, type DriftKind, type DriftPlan } from './drift.js';
export { COUNTRIES, DEVICES, FRAUD_DRIFT_FEATURES, FRAUD_FEATURES, FraudGenerator, fraudProbability, MERCHANTS } from './fraud.js';
export { createGenerator, generateHistory, isFraudSpec, type Generator, type GeneratorOptions, type HistoryOptions, type SimEvent } from './generator.js';
export { fraudReferenceModel } from './reference-model.js';
export { Rng } from './rng.js';
export { formatProgress, runSimulation, type RunOptions, type RunProgress, type RunSummary } from './runner.js';
export { writeHistory } from './history.js';

/**
 * Pure building blocks of the decision to retrain (no I/O, deterministic,
 * state as plain JSON): a sequential detector on the matured error stream
 * relative to the champion's baseline, label-free performance estimation
 * (CBPE) with isotonic calibration, drift thresholds calibrated from the
 * reference, multiple-testing control, permutation importance, and the rule
 * that combines them.
 */
export {
  arlThreshold, createDetector, detectorThreshold, expectedDelay, resetDetector, resultOf, update, SEQUENTIAL_DEFAULTS,
  type ErrorBatch, type ResolvedSequentialConfig, type SequentialConfig, type SequentialResult, type SequentialState,
} from './sequential.js';
export {
  createMultiChart, isMultiChart, multiChartResult, updateMultiChart, type MultiChartConfig, type MultiChartResult, type MultiChartState,
} from './multi-chart.js';
export { estimatePerformance, expectedRocAuc, type CbpeEstimate, type CbpeOptions, type EstimatedMetric } from './cbpe.js';
export { applyCalibration, fitCalibration, type IsotonicCalibration } from './calibration.js';
export {
  calibrateThreshold, type BuiltInStatistic, type CalibratedThreshold, type CustomStatistic, type Direction, type ThresholdCalibrationOptions,
} from './calibrated-thresholds.js';
export { seasonalAllowance, type SeasonalAllowance, type SeasonalOptions, type SeasonalStatistic } from './seasonal.js';
export { adjustPValues, rejectAtLevel, type AdjustmentMethod } from './multiple-testing.js';
export {
  accuracyAt, negativeLogLoss, negativeRmse, permutationImportance,
  type FeatureColumn, type FeatureImportance, type FeatureTable, type Metric, type PermutationImportance, type PermutationImportanceOptions,
} from './importance.js';
export { decideDriftImpact, type DriftPolicy, type FeatureDriftVerdict, type ImpactDecision, type ImpactInput } from './impact.js';
export { normalQuantile, wilsonInterval } from './common.js';

/** Model artifacts and the one scoring path shared by evaluation and the serving gateway. */
export * from './columns.js';
export { encode, linearScores, sigmoid, softmaxRows, type EncodedDesign } from './encode.js';
export { ModelLoadError, type ModelLoadErrorCode } from './errors.js';
export { LINEAR_FORMAT, linearModel, weightCount, weightNames, weightOffsets, type LinearFeature, type LinearModel } from './format.js';
export { LinearScorer } from './linear-scorer.js';
export { ARTIFACT_FILES, artifactPath, artifactUri, formatOfPath, loadModel, resolveArtifact, sha256File, sha256Hex, type LoadModelOptions } from './load.js';
export { argmaxRows, type ColumnPredictions, type LoadedModel, type ModelFormat, type ModelTask, type Prediction } from './scorer.js';

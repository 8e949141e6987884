/**
 * Drift statistics for retraining decisions: pure functions (no I/O, no
 * Temporal) checked against numpy / scipy / scikit-learn (test/fixtures/drift:
 * statistics within ~1e-13 relative, p-values within ~1e-10 absolute), plus
 * the reference profile and the drift report built on them.
 */
export { DriftInputError } from './errors.js';
export { finiteValues, type FiniteValues, type NumericInput } from './data.js';
export { percentile, quantilesOf, psiQuantileLevels } from './quantiles.js';
export { psi, psiBinEdges, binCounts, flooredProportions, psiFromProportions, PSI_EPSILON, type PsiOptions } from './psi.js';
export { ksTest, ksPValue, ksStatisticSorted, ksStatisticUnsorted, ksAgainstSortedReference, type KsResult } from './ks.js';
export { kolmogorovSmirnovSf, smirnovSf } from './kolmogorov.js';
export { wasserstein, wassersteinSorted } from './wasserstein.js';
export {
  jensenShannon, jensenShannonFromProportions, chiSquare, alignCounts, CHI_SQUARE_PSEUDO_COUNT,
  type CategoryCounts, type ChiSquareResult, type JensenShannonOptions,
} from './categorical.js';
export { lgamma, gammaincLower, gammaincUpper, chi2Sf } from './special.js';
export { accuracy, precision, recall, f1, rocAuc, logLoss, mae, rmse } from './metrics.js';
export { mulberry32, reservoirSample } from './random.js';
export { sortedCopy, selectRanks, releaseSortScratch } from './sort.js';
export {
  buildProfile, countCategories, decodeEdges, decodeSample, encodeSample, OTHER_CATEGORY, PROFILE_VERSION, SUMMARY_QUANTILES,
  type CategoricalProfile, type ColumnValues, type Columns, type DriftProfile, type FeatureProfile, type FeatureSpec,
  type LabelSpec, type NumericalProfile, type NumericalSummary, type ProfileSpec,
} from './profile.js';
export {
  compareToProfile, DEFAULT_DRIFT_THRESHOLDS, DEFAULT_WASSERSTEIN_STD_FRACTION,
  type CategoricalFeatureDrift, type CategoricalMethod, type DriftMetric, type DriftReport, type DriftThresholds,
  type FeatureDrift, type FeatureThresholds, type NumericalFeatureDrift, type NumericalMethod, type Verdict,
} from './report.js';
export * as decisions from './decisions/index.js';

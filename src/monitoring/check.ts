import { durationMs } from '../config/duration.js';
import { LOWER_IS_BETTER } from '../config/policies.js';
import type { ModelSpec } from '../config/schema.js';
import type { DataBackend } from '../backends/data/types.js';
import type { ModelVersion, Registry, ViolationInput, ViolationStatistic } from '../backends/registry/types.js';
import { taskMetrics } from '../backends/training/index.js';
import { compareToProfile, type DriftProfile, type DriftReport, type DriftThresholds, type FeatureDrift, type FeatureThresholds } from '../drift/index.js';
import {
  adjustPValues, applyCalibration, createMultiChart, decideDriftImpact, estimatePerformance, isMultiChart, multiChartResult, updateMultiChart, type MultiChartState,
} from '../drift/decisions/index.js';
import { estimateMulticlassAccuracy } from '../drift/decisions/cbpe.js';
import { assessDataQuality } from '../drift/data-quality.js';
import { jensenShannonNoiseFloor, psiNoiseFloor } from '../drift/noise-floor.js';
import type { CheckResult } from '../domain/check.js';

/**
 * One monitor check's measurements, as of `now`: drift of the window against the champion's
 * reference profile (thresholds calibrated to the window's size, p-values adjusted across features,
 * each feature weighed by its importance to the model), the label-free performance estimate of the
 * window's scores, matured labels judged by prediction age with their coverage, the sequential
 * detector on the matured error stream against the champion's validated baseline, and new labels
 * since the last pipeline. Used by the monitor activity and by `retrain backtest` alike: only the
 * detector's store differs (the registry, or memory).
 */

export interface DetectorStore {
  load(model: string): PerformanceDetector | undefined;
  save(model: string, detector: PerformanceDetector): void;
}

/** The sequential detector of one champion, and how far its matured predictions have been fed. */
export interface PerformanceDetector {
  championVersion: number;
  /** Predictions up to this time (ISO) have been fed. */
  fedThrough: string;
  /** Charts of an older release (one SequentialState) are replaced by a fresh set on the next check. */
  state: MultiChartState;
}

export const registryDetectorStore = (registry: Pick<Registry, 'monitorState' | 'saveMonitorState'>): DetectorStore => ({
  load: (model) => registry.monitorState(model, 'performance-detector') as PerformanceDetector | undefined,
  save: (model, detector) => registry.saveMonitorState(model, 'performance-detector', detector),
});

export function memoryDetectorStore(): DetectorStore & { reset(model: string): void } {
  const detectors = new Map<string, PerformanceDetector>();
  return { load: (m) => detectors.get(m), save: (m, d) => void detectors.set(m, d), reset: (m) => void detectors.delete(m) };
}

export interface CheckContext {
  data: DataBackend;
  registry: Pick<Registry, 'resolve'>;
  detectors: DetectorStore;
  /** When the model's last pipeline ended (or a ledger move happened), if ever. */
  lastRetrainAt?: string;
  /** Closed pipelines, newest first, for the back-off. */
  recentRuns?: CheckResult['recentRuns'];
  /** Skip counting new labels when no trigger reads them (a backtest with volume off): it scans the lookback. */
  skipUnusedCounts?: boolean;
}

export interface MeasuredCheck {
  result: CheckResult;
  drift: DriftReport | null;
  labelShift?: FeatureDrift | null;
  unavailable?: string;
}

export async function measureCheck(ctx: CheckContext, spec: ModelSpec, now: Date): Promise<MeasuredCheck> {
  const from = new Date(now.getTime() - durationMs(spec.data.monitorWindow));
  const champion = ctx.registry.resolve(spec.name, 'champion');
  const window = await ctx.data.readWindow(spec, { from, to: now, variant: 'champion' });
  const result: CheckResult = {
    model: spec.name,
    checkedAt: now.toISOString(),
    window: { from: from.toISOString(), to: now.toISOString(), rows: window.rowCount },
    drift: { verdict: 'insufficient_data', evaluatedFeatures: 0, drifted: [], driftShare: 0 },
    newLabels: 0,
    lastRetrainAt: ctx.lastRetrainAt,
    recentRuns: ctx.recentRuns,
  };
  // Nothing to compare with yet: the monitor bootstraps a first model.
  if (!champion) return { result, drift: null, unavailable: 'the model has no champion yet; its first training is the bootstrap trigger' };
  result.champion = { version: champion.version, trainedAt: champion.createdAt };

  // Volume counts from the end of the last pipeline, whatever its outcome (or from the champion's training).
  result.newLabelsSince = ctx.lastRetrainAt && Date.parse(ctx.lastRetrainAt) > Date.parse(champion.createdAt) ? ctx.lastRetrainAt : champion.createdAt;
  if (!(ctx.skipUnusedCounts && !spec.triggers.volume.enabled)) result.newLabels = await ctx.data.countNewLabels(spec, new Date(result.newLabelsSince), { asOf: now });

  const profile = champion.referenceProfile as (DriftProfile & { importance?: ImportanceRecord }) | null;
  let drift: DriftReport | null = null;
  const baseline = validatedAccuracy(champion);
  if (spec.task !== 'regression') result.estimate = labelFreeEstimate(window.scores, baseline, (champion.referenceProfile as DriftProfile | null)?.calibration, spec.task === 'multiclass_classification');
  if (profile) {
    drift = compareToProfile(profile, window.columns, driftThresholds(spec, profile, window));
    if (spec.triggers.drift.pValueAdjustment !== 'none') adjustAcrossFeatures(drift, spec.triggers.drift.pValueAdjustment);
    const share = (feature: string) => profile.importance?.features?.[feature]?.share ?? null;
    const drifted = drift.features.filter((f) => f.verdict === 'drift');
    const impact = decideDriftImpact({
      policy: spec.triggers.drift.action,
      drift: drift.features.map((f) => ({ feature: f.feature, score: f.score, threshold: f.threshold, direction: isPValue(f) ? 'lower-is-drift' : 'higher-is-drift', importanceShare: share(f.feature) })),
      estimate: result.estimate ? { value: result.estimate.value, lower: result.estimate.lower, upper: result.estimate.upper } : null,
      baseline: result.estimate?.baseline ?? null,
      tolerance: spec.triggers.performance.tolerance,
      minImportanceShare: spec.triggers.drift.minImportance,
    });
    result.drift = {
      verdict: drift.insufficientFeatures === drift.features.length ? 'insufficient_data' : drifted.length > 0 ? 'drift' : 'ok',
      evaluatedFeatures: drift.evaluatedFeatures,
      drifted: drifted.map((f) => ({ feature: f.feature, metric: f.metric, score: f.score ?? Number.NaN, threshold: f.threshold, importanceShare: share(f.feature) })),
      driftShare: drift.evaluatedFeatures > 0 ? drifted.length / drift.evaluatedFeatures : 0,
      impact: { material: impact.material, policy: impact.policy, reason: impact.reason, importantDriftedFeatures: impact.importantDriftedFeatures, estimatedLoss: impact.estimatedLoss },
    };
  }

  if (profile && spec.triggers.dataQuality.enabled) result.dataQuality = measureDataQuality(spec, profile, window.columns);

  // Matured labels by prediction age: the predictions of the window that are old enough.
  const delay = durationMs(spec.label.delay);
  const matured = await ctx.data.maturedLabels(spec, { from: new Date(from.getTime() - delay), to: now, asOf: now, variant: 'champion' });
  result.labels = { matured: matured.matured, labelled: matured.labelled, coverage: matured.coverage, revised: matured.revised };
  let labelShift: FeatureDrift | null = null;
  if (matured.count >= spec.triggers.performance.minLabels) {
    const metrics = taskMetrics(spec.task, matured.labels, { predictions: matured.predictions, scores: matured.scores });
    const value = metrics[spec.triggers.performance.metric];
    if (typeof value === 'number') result.performance = { metric: spec.triggers.performance.metric, value, labels: matured.count, baseline: numberOr(champion.metrics[spec.triggers.performance.metric]) };
  }
  if (matured.count > 0 && profile?.label) {
    labelShift = compareToProfile(profile, { [spec.label.name]: matured.labels }, { minSamples: 1 }).labelShift;
    if (labelShift?.score !== null && labelShift?.score !== undefined) result.labelShift = { jensenShannon: labelShift.score, samples: matured.count };
  }
  // Binary and multiclass alike: a matured prediction is an error when it is not its label.
  if (spec.task !== 'regression' && baseline !== undefined) result.sequential = await feedDetector(ctx, spec, champion, baseline, now);
  return { result, drift, labelShift, unavailable: profile ? undefined : `champion v${champion.version} has no reference profile` };
}

/**
 * The check's drifted features as violations for the registry's knowledge base, each with the
 * check's own verdict: worth a retrain when the drift is material under the drift policy and the
 * feature is one that matters, reported only otherwise. Whether a pipeline then started is decided
 * in the monitor workflow; the start activity settles it (see monitor.ts).
 */
export function checkViolations(spec: ModelSpec, result: CheckResult): ViolationInput[] {
  const { impact } = result.drift;
  return result.drift.drifted
    .filter((f) => Number.isFinite(f.score))
    .map((f) => {
      const matters = impact?.importantDriftedFeatures.includes(f.feature) ?? false;
      const verdict: Pick<ViolationInput, 'decision' | 'decisionReason'> = !spec.triggers.drift.enabled
        ? { decision: 'reported_only', decisionReason: 'the drift trigger is disabled: reported only' }
        : !impact
          ? { decision: 'reported_only', decisionReason: 'no drift impact was measured: reported only' }
          : impact.material && !matters
            ? { decision: 'reported_only', decisionReason: `importance below ${(100 * spec.triggers.drift.minImportance).toFixed(0)}%: reported only; ${impact.reason}` }
            : { decision: impact.material ? 'retrain_warranted' : 'reported_only', decisionReason: impact.reason };
      return {
        feature: f.feature,
        statistic: f.metric as ViolationStatistic,
        score: f.score,
        threshold: f.threshold,
        importanceShare: f.importanceShare ?? null,
        championVersion: result.champion?.version ?? null,
        ...verdict,
      };
    });
}

function measureDataQuality(spec: ModelSpec, profile: DriftProfile, columns: Record<string, ArrayLike<unknown>>): CheckResult['dataQuality'] {
  const q = spec.triggers.dataQuality;
  const report = assessDataQuality(profile, columns, {
    missingRate: q.missingRate, outOfRange: q.outOfRange, unseenCategories: q.unseenCategories, meanShift: q.meanShift, minSamples: q.minSamples,
    keyFeatures: spec.features.filter((f) => f.key).map((f) => f.name),
  });
  return {
    checked: report.findings.length,
    violations: report.violations.map(({ feature, check, value, reference, threshold, samples }) => ({ feature, check, value, reference, threshold, samples })),
  };
}

/** The check's data-quality violations for the knowledge base: alerts, unless the policy retrains on them. */
export function dataQualityViolations(spec: ModelSpec, result: CheckResult): ViolationInput[] {
  const retrains = spec.triggers.dataQuality.action === 'retrain';
  return (result.dataQuality?.violations ?? []).map((v) => ({
    feature: v.feature,
    statistic: v.check,
    score: v.value,
    threshold: v.threshold,
    importanceShare: null,
    championVersion: result.champion?.version ?? null,
    decision: retrains ? 'retrain_warranted' : 'reported_only',
    decisionReason: retrains ? 'data quality: triggers.dataQuality.action is retrain' : 'data quality: alert only (triggers.dataQuality.action: alert)',
  }));
}

interface ImportanceRecord {
  features?: Record<string, { importance: number; share: number }>;
}

const numberOr = (x: number | null | undefined) => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);

/** The champion's accuracy on its own validation data, as the trainer reported it. */
function validatedAccuracy(champion: ModelVersion): number | undefined {
  return numberOr(champion.metrics.accuracy);
}

const isPValue = (f: FeatureDrift) => f.metric === 'ks' || f.metric === 'chi_square';

/**
 * The configured thresholds, per feature where the config says so, and with `thresholds: calibrated`
 * never below what a window of this size drawn from the reference reaches by chance (99%), plus
 * what the reference's own cycles add for windows of the monitor's length (profile.seasonality).
 */
export function driftThresholds(spec: ModelSpec, profile: DriftProfile, window: { rowCount: number; missing: Record<string, number> }): DriftThresholds {
  const d = spec.triggers.drift;
  const perFeature: Record<string, FeatureThresholds> = {};
  for (const feature of profile.features) {
    const own = { ...d.perFeature[feature.name] };
    const n = window.rowCount - (window.missing[feature.name] ?? 0);
    // An empty window is insufficient data anyway: no floor to compute.
    if (d.thresholds === 'calibrated' && n > 0) {
      // The reference's own cycles (a weekly pattern a day's window sees part of) on top of the
      // sampling noise of a window this size; 0 without timestamps or cycles in the training data.
      const seasonal = profile.seasonality?.features[feature.name];
      if (feature.type === 'numerical' && feature.histogram && own.psi === undefined) {
        const cycle = seasonal?.statistic === 'psi' ? seasonal.excess : 0;
        own.psi = Math.max(d.psi, psiNoiseFloor(n, feature.count, feature.histogram.counts.length) + cycle);
      }
      if (feature.type === 'categorical' && own.jensenShannon === undefined) {
        const cycle = seasonal?.statistic === 'jensen_shannon' ? seasonal.excess : 0;
        own.jensenShannon = Math.max(d.jensenShannon, jensenShannonNoiseFloor(n, feature.count, feature.categories.length + 1) + cycle);
      }
    }
    if (Object.keys(own).length > 0) perFeature[feature.name] = own;
  }
  return {
    numericalMethod: d.numericalMethod,
    categoricalMethod: d.categoricalMethod,
    psi: d.psi,
    jensenShannon: d.jensenShannon,
    ksPValue: d.ksPValue,
    chiSquarePValue: d.chiSquarePValue,
    minSamples: d.minSamples,
    perFeature,
  };
}

/** p-value verdicts again after a multiple-testing adjustment across the features (in place). */
function adjustAcrossFeatures(report: DriftReport, method: 'bh' | 'holm'): void {
  const tested = report.features.filter((f) => isPValue(f) && f.score !== null);
  if (tested.length < 2) return;
  const adjusted = adjustPValues(tested.map((f) => f.score), method);
  tested.forEach((f, i) => {
    const q = adjusted[i] as number;
    f.pValue = f.pValue ?? (f.score as number);
    f.score = q;
    f.verdict = q < f.threshold ? 'drift' : 'ok';
  });
  report.driftedFeatureNames = report.features.filter((f) => f.verdict === 'drift').map((f) => f.feature);
  report.driftedFeatures = report.driftedFeatureNames.length;
}

/**
 * CBPE: the accuracy the window's scores imply, with its interval. CBPE needs calibrated
 * probabilities, so the scores go through the calibration fitted on the champion's validation split
 * (when its profile has one), while the model's own decisions stay `score >= 0.5`.
 */
function labelFreeEstimate(scores: Float64Array, baseline: number | undefined, calibration: DriftProfile['calibration'], multiclass = false): CheckResult['estimate'] {
  const valid = scores.filter((s) => s >= 0 && s <= 1);
  if (valid.length < 30) return undefined;
  if (multiclass) {
    // The score is the predicted class's probability; the calibration maps it to P(right).
    const estimate = estimateMulticlassAccuracy(calibration ? applyCalibration(calibration, valid) : valid);
    return { metric: 'accuracy', value: estimate.value, lower: estimate.lower, upper: estimate.upper, samples: valid.length, baseline };
  }
  const estimate = calibration
    ? estimatePerformance(applyCalibration(calibration, valid), { predictions: Float64Array.from(valid, (s) => (s >= 0.5 ? 1 : 0)) })
    : estimatePerformance(valid);
  return { metric: 'accuracy', value: estimate.accuracy.value, lower: estimate.accuracy.lower, upper: estimate.accuracy.upper, samples: valid.length, baseline };
}

/**
 * Feeds the predictions that matured since the last check to the champion's sequential detector
 * (a new champion starts a new detector from its validated error rate) and keeps its state.
 */
/**
 * The performance trigger's charts for a champion of this validated accuracy (fresh, nothing fed).
 * Exported so `bench:learning` replays the very test the monitor runs.
 */
export function championCharts(performance: ModelSpec['triggers']['performance'], accuracy: number): { state: MultiChartState; baselineError: number; tolerance: number } {
  const baselineError = Math.min(0.9, Math.max(0.001, 1 - accuracy));
  // The test's null sits at half the tolerance: a champion worse by less than half the tolerance
  // drifts every statistic down and never fires (the false-alarm bound holds there). Two charts
  // watch the stream: one tuned to a loss of one and a half tolerances (a retrain that barely
  // pays), one to three and a half (the abrupt drifts that cost most, confirmed in about 40% fewer
  // matured predictions than the first chart needs); either one alarming fires. In between, a loss
  // close to paying for a retrain may fire, late.
  const tolerance = Math.min(performance.tolerance, 0.98 - baselineError);
  const nullMargin = tolerance / 2;
  const room = 0.99 - baselineError - nullMargin;
  const shifts = [...new Set([tolerance, 3 * tolerance].map((shift) => Math.max(0.01, Math.min(shift, room))))];
  // falseAlarmRate: the chance of a false alarm within 100,000 matured predictions at the
  // tolerance edge, i.e. an average run length of 100,000 / rate there for the set of charts.
  return { state: createMultiChart({ baseline: baselineError, tolerance: nullMargin, shifts, arl: 100_000 / performance.falseAlarmRate }), baselineError, tolerance };
}

async function feedDetector(ctx: CheckContext, spec: ModelSpec, champion: ModelVersion, accuracy: number, now: Date): Promise<CheckResult['sequential']> {
  const fresh = championCharts(spec.triggers.performance, accuracy);
  const { baselineError, tolerance } = fresh;
  let detector = ctx.detectors.load(spec.name);
  const first = detector && isMultiChart(detector.state) ? detector.state.charts[0].config : undefined;
  if (!detector || detector.championVersion !== champion.version || first?.baseline !== baselineError || first?.tolerance !== tolerance / 2) {
    detector = {
      championVersion: champion.version,
      // From the champion's start; a check as of a time before the version existed (a backtest of a
      // version registered later) starts with the window's own matured predictions.
      fedThrough: Date.parse(champion.createdAt) <= now.getTime() ? champion.createdAt : new Date(now.getTime() - durationMs(spec.data.monitorWindow) - durationMs(spec.label.delay)).toISOString(),
      state: fresh.state,
    };
  }
  const maturedBy = new Date(now.getTime() - durationMs(spec.label.delay));
  let fed = 0;
  if (maturedBy.getTime() > Date.parse(detector.fedThrough)) {
    const batch = await ctx.data.maturedLabels(spec, { from: new Date(Date.parse(detector.fedThrough) + 1), to: now, asOf: now, variant: 'champion' });
    const errors = new Float64Array(batch.count);
    for (let i = 0; i < batch.count; i++) errors[i] = batch.predictions[i] === batch.labels[i] ? 0 : 1;
    detector = { ...detector, state: updateMultiChart(detector.state, errors).state, fedThrough: maturedBy.toISOString() };
    fed = batch.count;
  }
  ctx.detectors.save(spec.name, detector);
  const result = multiChartResult(detector.state);
  return {
    fired: result.fired,
    statistic: result.statistic,
    threshold: result.threshold,
    baselineError,
    tolerance,
    samples: result.samples,
    newSamples: fed,
    errorRate: result.estimate.errorRate ?? undefined,
    lower: result.estimate.lower,
    upper: result.estimate.upper,
  };
}

/** Whether a windowed metric is past an absolute threshold (the SLA option). */
export function pastSla(metric: string, value: number, threshold: number): boolean {
  return LOWER_IS_BETTER.has(metric as never) ? value > threshold : value < threshold;
}

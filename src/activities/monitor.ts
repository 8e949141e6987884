import { lastPipelineClose, startPipeline } from '../client.js';
import { durationMs } from '../config/duration.js';
import { taskMetrics } from '../backends/training/index.js';
import { compareToProfile, type DriftProfile, type DriftReport, type DriftThresholds, type FeatureDrift } from '../drift/index.js';
import type { ModelSpec } from '../config/schema.js';
import type { Backends } from './backends.js';
import type { CheckResult, MonitorActivities } from './contracts.js';
import { reportWriter } from './reports.js';
import { refOf } from './spec-catalog.js';

function thresholdsOf(spec: ModelSpec): DriftThresholds {
  const d = spec.triggers.drift;
  return {
    numericalMethod: d.numericalMethod,
    categoricalMethod: d.categoricalMethod,
    psi: d.psi,
    jensenShannon: d.jensenShannon,
    ksPValue: d.ksPValue,
    chiSquarePValue: d.chiSquarePValue,
    minSamples: d.minSamples,
  };
}

/** The later of the last ledger entry (a promotion or a manual rollback) and the last pipeline's close. */
async function lastRetrainAt(b: Backends, model: string): Promise<string | undefined> {
  const ledger = b.registry.ledger({ model, limit: 1, newest: true })[0];
  const closed = b.client ? await lastPipelineClose(b.client, model) : undefined;
  const times = [ledger ? Date.parse(ledger.at) : Number.NaN, closed?.getTime() ?? Number.NaN].filter(Number.isFinite);
  return times.length > 0 ? new Date(Math.max(...times)).toISOString() : undefined;
}

/** Everything one check measures, with the full drift report for the HTML report. */
async function measure(b: Backends, spec: ModelSpec, now: Date): Promise<{ result: CheckResult; drift: DriftReport | null; labelShift?: FeatureDrift | null; unavailable?: string }> {
  const from = new Date(now.getTime() - durationMs(spec.data.monitorWindow));
  const champion = b.registry.resolve(spec.name, 'champion');
  const window = await b.data.readWindow(spec, { from, to: now, variant: 'champion' });
  const result: CheckResult = {
    model: spec.name,
    checkedAt: now.toISOString(),
    window: { from: from.toISOString(), to: now.toISOString(), rows: window.rowCount },
    drift: { verdict: 'insufficient_data', evaluatedFeatures: 0, drifted: [], driftShare: 0 },
    newLabelsSinceTraining: 0,
  };
  result.lastRetrainAt = await lastRetrainAt(b, spec.name);
  // Nothing to compare with yet: the monitor bootstraps a first model.
  if (!champion) return { result, drift: null, unavailable: 'the model has no champion yet; its first training is the bootstrap trigger' };

  result.champion = { version: champion.version, trainedAt: champion.createdAt };
  result.newLabelsSinceTraining = await b.data.countNewLabels(spec, new Date(champion.createdAt));
  const profile = champion.referenceProfile as DriftProfile | null;
  let drift: DriftReport | null = null;
  if (profile) {
    drift = compareToProfile(profile, window.columns, thresholdsOf(spec));
    result.drift = {
      verdict: drift.insufficientFeatures === drift.features.length ? 'insufficient_data' : drift.driftedFeatures > 0 ? 'drift' : 'ok',
      evaluatedFeatures: drift.evaluatedFeatures,
      drifted: drift.features.filter((f) => f.verdict === 'drift').map((f) => ({ feature: f.feature, metric: f.metric, score: f.score ?? Number.NaN, threshold: f.threshold })),
      driftShare: drift.driftShare,
    };
  } else {
    b.logger.warn({ model: spec.name, version: champion.version }, 'Champion has no reference profile; drift not checked');
  }

  // Predictions whose labels had time to arrive: the window shifted back by the label delay.
  const delay = durationMs(spec.label.delay);
  const matured = await b.data.maturedLabels(spec, { from: new Date(from.getTime() - delay), to: now, asOf: now, variant: 'champion' });
  let labelShift: FeatureDrift | null = null;
  if (matured.count > 0) {
    const metrics = taskMetrics(spec.task, matured.labels, { predictions: matured.predictions, scores: matured.scores });
    const value = metrics[spec.triggers.performance.metric];
    if (typeof value === 'number') result.performance = { metric: spec.triggers.performance.metric, value, labels: matured.count };
    if (profile?.label) {
      labelShift = compareToProfile(profile, { [spec.label.name]: matured.labels }, { ...thresholdsOf(spec), minSamples: 1 }).labelShift;
      if (labelShift?.score !== null && labelShift?.score !== undefined) result.labelShift = { jensenShannon: labelShift.score, samples: matured.count };
    }
  }
  return { result, drift, labelShift, unavailable: profile ? undefined : `champion v${champion.version} has no reference profile` };
}

export function monitorActivities(b: Backends): MonitorActivities {
  const reports = reportWriter(b);
  return {
    async resolveSpec(ref) {
      return b.specs.resolve(ref);
    },

    async checkModel(input): Promise<CheckResult> {
      const spec = b.specs.resolve(refOf(input));
      const asOf = input.asOf;
      const { result, drift, labelShift, unavailable } = await measure(b, spec, new Date(asOf));
      const report = await reports.check(spec, result, { drift, labelShift, unavailable });
      if (report) Object.assign(result, { reportPath: report.path, reportUrl: report.url });
      return result;
    },

    async startRetrain(input) {
      const ref = refOf(input);
      const spec = b.specs.resolve(ref);
      const { kinds, reasons, requestedBy } = input;
      if (!b.client) throw new Error('the worker has no Temporal client for starting pipelines');
      const outcome = await startPipeline(b.client, b.settings, spec, { kinds, reasons, requestedBy }, ref.revision);
      return outcome.started ? { started: true, workflowId: outcome.workflowId, runId: outcome.runId } : { started: false, workflowId: outcome.workflowId, runId: outcome.alreadyRunning };
    },
  };
}

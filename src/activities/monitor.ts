import { deploymentTried, recentPipelineRuns, startDeployment, startPipeline } from '../client.js';
import { lastDays } from '../backends/registry/queries.js';
import type { ModelSpec } from '../config/schema.js';
import type { CheckReportInput } from '../reports/check-report.js';
import type { Backends } from './backends.js';
import { checkViolations, dataQualityViolations, measureCheck, registryDetectorStore } from '../monitoring/check.js';
import type { CheckResult, MonitorActivities } from './contracts.js';
import { reportWriter } from './reports.js';
import { LEARNER_STATE_KEY, type LearnerState } from '../learning/learner-state.js';
import type { LearningReport } from '../reports/learning-section.js';
import { refOf } from './spec-catalog.js';

/**
 * When the model last retrained or had its champion moved: the later of the last ledger entry (a
 * promotion or a manual rollback) and the last pipeline's close; and the closed runs, for the back-off.
 */
async function history(b: Backends, model: string): Promise<{ lastRetrainAt?: string; recentRuns?: CheckResult['recentRuns'] }> {
  const ledger = b.registry.ledger({ model, limit: 1, newest: true })[0];
  const recentRuns = b.client ? await recentPipelineRuns(b.client, model) : undefined;
  const times = [ledger ? Date.parse(ledger.at) : Number.NaN, recentRuns?.[0] ? Date.parse(recentRuns[0].closedAt) : Number.NaN].filter(Number.isFinite);
  return { lastRetrainAt: times.length > 0 ? new Date(Math.max(...times)).toISOString() : undefined, recentRuns };
}

/** Where the start activity finds the check it acts on: the model's last check (monitor state). */
const LAST_CHECK = 'last-check';
interface LastCheck {
  checkedAt: string;
  previousAt?: string;
}
const RECURRENCE_DAYS = 30;

/**
 * Keeps the check's drift violations in the registry (a retried check records nothing new) and
 * returns each drifted feature's recurrence over the last 30 days, this check included, for the report.
 */
function recordViolations(b: Backends, spec: ModelSpec, result: CheckResult): CheckReportInput['driftRecurrence'] {
  const checkedAt = new Date(result.checkedAt);
  const violations = [...checkViolations(spec, result), ...dataQualityViolations(spec, result)];
  // The check before this one; a retried check finds itself as the last and reads the one it kept.
  const last = b.registry.monitorState(spec.name, LAST_CHECK) as LastCheck | undefined;
  const previousAt = last?.checkedAt === result.checkedAt ? last.previousAt : last?.checkedAt;
  if (result.dataQuality) result.dataQuality.started = startedDataQualityViolations(b, spec.name, result, previousAt);
  if (violations.length > 0) b.registry.recordViolations(spec.name, checkedAt, violations);
  b.registry.saveMonitorState(spec.name, LAST_CHECK, { checkedAt: result.checkedAt, previousAt } satisfies LastCheck);
  if (violations.length === 0) return undefined;
  const since = lastDays(checkedAt, RECURRENCE_DAYS);
  const recurrence = b.registry.violationRecurrence({ model: spec.name, since, until: checkedAt });
  return { windowDays: RECURRENCE_DAYS, features: recurrence.map((r) => ({ feature: r.feature, days: r.days })) };
}

/**
 * The data-quality violations this check has and the model's previous check had not: a fault is
 * alerted once when it appears, not every hour while it lasts (the store keeps every occurrence).
 */
function startedDataQualityViolations(b: Backends, model: string, result: CheckResult, previousAt: string | undefined): string[] {
  const current = (result.dataQuality?.violations ?? []).map((v) => `${v.feature}/${v.check}`);
  if (current.length === 0 || previousAt === undefined) return current;
  const at = new Date(previousAt);
  const before = new Set(b.registry.violations({ model, since: at, until: at }).map((v) => `${v.feature}/${v.statistic}`));
  return current.filter((key) => !before.has(key));
}

/**
 * The monitor's decision reaches an activity only when it starts a pipeline: the violations of the
 * model's last check then say the retrain started, or was held by a pipeline already running.
 * Cooldown and back-off holds stay in the workflow; those violations keep the check's verdict.
 */
function settleViolations(b: Backends, model: string, outcome: { started: boolean; workflowId: string }, reasons: string[]): void {
  const last = b.registry.monitorState(model, LAST_CHECK) as { checkedAt: string } | undefined;
  if (!last) return;
  if (outcome.started) b.registry.settleViolations(model, last.checkedAt, 'retrain_started', `started ${outcome.workflowId}: ${reasons.join('; ')}`);
  else b.registry.settleViolations(model, last.checkedAt, 'held', `a pipeline is already running (${outcome.workflowId}); nothing started`);
}

/** learning: online | hybrid: the online learner as the check report shows it (its state in the registry's store). */
function learningReport(b: Backends, spec: ModelSpec): LearningReport | undefined {
  if (spec.learning.mode === 'batch') return undefined;
  const state = b.registry.monitorState(spec.name, LEARNER_STATE_KEY) as LearnerState | undefined;
  if (!state) return undefined;
  return {
    mode: spec.learning.mode,
    metric: spec.gates.metric,
    base: state.base,
    championMetric: state.championMetric ?? null,
    serving: state.copy?.version ?? null,
    frozen: state.frozen,
    totals: state.totals,
    snapshots: state.snapshots ?? [],
  };
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
      const { result, drift, labelShift, unavailable } = await measureCheck({ data: b.data, registry: b.registry, detectors: registryDetectorStore(b.registry), ...(await history(b, spec.name)) }, spec, new Date(asOf));
      const driftRecurrence = recordViolations(b, spec, result);
      // The report writer spreads the result into the report's input: the recurrence rides along
      // there, and stays out of the result the workflow records.
      const forReport: CheckResult & Pick<CheckReportInput, 'driftRecurrence' | 'learning'> = { ...result, driftRecurrence, learning: learningReport(b, spec) };
      const report = await reports.check(spec, forReport, { drift, labelShift, unavailable });
      if (report) Object.assign(result, { reportPath: report.path, reportUrl: report.url });
      return result;
    },

    async startRetrain(input) {
      const ref = refOf(input);
      const spec = b.specs.resolve(ref);
      const { kinds, reasons, requestedBy } = input;
      if (!b.client) throw new Error('the worker has no Temporal client for starting pipelines');
      const outcome = await startPipeline(b.client, b.settings, spec, { kinds, reasons, requestedBy }, ref.revision);
      settleViolations(b, spec.name, { started: outcome.started, workflowId: outcome.workflowId }, reasons);
      return outcome.started ? { started: true, workflowId: outcome.workflowId, runId: outcome.runId } : { started: false, workflowId: outcome.workflowId, runId: outcome.alreadyRunning };
    },

    async registeredCandidate(input) {
      const spec = b.specs.resolve(refOf(input));
      if (!b.client) throw new Error('the worker has no Temporal client for finding earlier deployments');
      const champion = b.registry.aliases(spec.name).champion ?? 0;
      // The newest wins: an older registration it supersedes is not worth a canary of its own.
      const newest = b.registry
        .listVersions(spec.name)
        .filter((v) => v.trainer === 'external' && v.version > champion)
        .sort((x, y) => y.version - x.version)[0];
      if (!newest || (await deploymentTried(b.client, spec.name, newest.version))) return null;
      return { version: newest.version, registeredAt: newest.createdAt };
    },

    async startDeployment(input) {
      const ref = refOf(input);
      const spec = b.specs.resolve(ref);
      if (!b.client) throw new Error('the worker has no Temporal client for starting deployments');
      const outcome = await startDeployment(b.client, b.settings, spec, { version: input.version, reason: input.reason, requestedBy: input.requestedBy }, ref.revision);
      return outcome.started ? { started: true, workflowId: outcome.workflowId, runId: outcome.runId } : { started: false, workflowId: outcome.workflowId, runId: outcome.alreadyRunning };
    },
  };
}

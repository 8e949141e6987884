import { log, patched, proxyActivities, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { ModelSpec } from '../config/schema.js';
import type { MonitorActivities, PipelineActivities } from '../activities/contracts.js';
import type { CheckResult } from '../domain/check.js';
import { durationMs } from '../config/duration.js';
import { RetrainModel, RetrainStage } from '../domain/search-attributes.js';
import { evaluateTriggers, type ConsideredTrigger, type FiredTrigger } from '../drift/decisions/triggers.js';

export interface MonitorInput {
  model: string;
  /** The revision of the model's spec that `retrain apply` scheduled; the worker's own config holds the spec. */
  configRevision?: string;
  /** Schedules applied before the `spec-from-worker-config` patch carried the whole spec; only the model name is read from it. */
  spec?: ModelSpec;
  /** True when started by the model's calendar schedule: retrain regardless of the data. */
  scheduled?: boolean;
}

export interface MonitorResult {
  check: CheckResult;
  fired: FiredTrigger[];
  action: 'none' | 'started' | 'already_running' | 'cooldown' | 'backoff' | 'deployment_started';
  detail: string;
  /** Every trigger weighed, fired or not, with its evidence. */
  considered?: ConsideredTrigger[];
  pipeline?: { workflowId: string; runId: string };
  /** The registered version this check started deploying (`deploy.registered: auto`). */
  deployed?: { version: number };
}

export { monitorWorkflowId } from './ids.js';

const { checkModel, startRetrain, resolveSpec, registeredCandidate, startDeployment } = proxyActivities<MonitorActivities>({
  startToCloseTimeout: '10m',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5 },
});
const { notify } = proxyActivities<Pick<PipelineActivities, 'notify'>>({ startToCloseTimeout: '1m', retry: { maximumAttempts: 3 } });

/**
 * One monitor check of one model (a Temporal Schedule runs it): measure drift, performance on
 * matured labels, label shift, new-label volume and age; decide which triggers fired; start the
 * pipeline when one did, unless the cooldown holds or a pipeline is already running.
 */
export async function monitorModel(input: MonitorInput): Promise<MonitorResult> {
  const ref = { model: (input.model ?? input.spec?.name) as string, revision: input.configRevision };
  const spec = patched('spec-from-worker-config') ? await resolveSpec(ref) : input.spec!;
  upsertSearchAttributes([
    { key: RetrainModel, value: spec.name },
    { key: RetrainStage, value: 'monitoring' },
  ]);
  const check = await checkModel.executeWithOptions({ summary: `check ${spec.name} against its reference profile` }, [{ ref, asOf: new Date().toISOString() }]);
  const decision = evaluateTriggers(spec.triggers, check, { now: Date.now(), scheduled: input.scheduled });
  const appeared = check.dataQuality?.violations.filter((v) => check.dataQuality?.started?.includes(`${v.feature}/${v.check}`)) ?? [];
  // Once per fault, when it appears: the violations store keeps every check it lasts.
  if (appeared.length > 0 && patched('data-quality-alerts')) {
    const listed = appeared.map((v) => `${v.feature}: ${v.check.replaceAll('_', ' ')} ${v.check === 'mean_shift' ? `${v.value.toFixed(1)} standard errors` : `${(100 * v.value).toFixed(1)}%`}`).join('; ');
    await notify({ kind: 'data_quality', model: spec.name, title: `${spec.name}: data-quality violation${appeared.length > 1 ? 's' : ''}: ${listed}`, details: { violations: appeared, window: check.window } });
  }

  let result: MonitorResult;
  const { considered } = decision;
  // Seed 001's registry event → deployment: a version registered from outside goes first, through
  // the gates and the canary; a retrain that fired waits for the next check (one run per model).
  const registered = spec.deploy?.registered === 'auto' && patched('deploy-registered') ? await registeredCandidate({ ref }) : null;
  const deployment = registered
    ? await startDeployment({ ref, version: registered.version, reason: `v${registered.version} registered at ${registered.registeredAt}`, requestedBy: 'monitor' })
    : undefined;
  if (registered && deployment?.started) {
    result = { check, fired: decision.fired, action: 'deployment_started', detail: `deploying registered v${registered.version} (${deployment.workflowId})`, pipeline: deployment, deployed: { version: registered.version }, considered };
  } else if (decision.fired.length === 0) {
    result = { check, fired: [], action: 'none', detail: 'no trigger fired', considered };
  } else if (decision.heldByCooldown) {
    result = { check, fired: decision.fired, action: 'cooldown', detail: decision.heldByCooldown, considered };
  } else if (decision.heldByBackoff) {
    result = { check, fired: decision.fired, action: 'backoff', detail: decision.heldByBackoff, considered };
    // Once per hold: on the first check after the run that did not pay.
    const closed = check.recentRuns?.[0] ? Date.parse(check.recentRuns[0].closedAt) : 0;
    if (Date.now() - closed <= durationMs(spec.monitor.every ?? '1h')) {
      await notify({ kind: 'retraining_not_paying', model: spec.name, title: `${spec.name}: retraining is not helping; ${decision.heldByBackoff}`, details: { fired: decision.fired, recentRuns: check.recentRuns?.slice(0, 5) } });
    }
  } else {
    const start = await startRetrain({ ref, kinds: decision.fired.map((f) => f.kind), reasons: decision.fired.map((f) => f.reason), requestedBy: 'monitor' });
    result = start.started
      ? { check, fired: decision.fired, action: 'started', detail: `started ${start.workflowId}`, pipeline: start, considered }
      : { check, fired: decision.fired, action: 'already_running', detail: `a pipeline is already running (${start.workflowId}); nothing started`, pipeline: start, considered };
  }
  upsertSearchAttributes([{ key: RetrainStage, value: `monitor_${result.action}` }]);
  setCurrentDetails(summarise(result));
  log.info('Monitor check', { model: spec.name, action: result.action, fired: result.fired.map((f) => f.kind) });
  return result;
}

/** Markdown for the Temporal UI's details panel. */
function summarise(r: MonitorResult): string {
  const c = r.check;
  const lines = [
    `**${c.model}** — ${r.action.replace('_', ' ')}: ${r.detail}`,
    `- window ${c.window.from} → ${c.window.to}: ${c.window.rows} predictions`,
    `- drift: ${c.drift.verdict}, ${c.drift.drifted.length}/${c.drift.evaluatedFeatures} features (share ${(c.drift.driftShare * 100).toFixed(0)}%)`,
  ];
  if (c.estimate) lines.push(`- estimated accuracy (label-free) ${c.estimate.value.toFixed(4)} [${c.estimate.lower.toFixed(4)}, ${c.estimate.upper.toFixed(4)}]${c.estimate.baseline !== undefined ? ` vs validated ${c.estimate.baseline.toFixed(4)}` : ''}`);
  if (c.performance) lines.push(`- ${c.performance.metric} ${c.performance.value.toFixed(4)} on ${c.performance.labels} matured labels${c.labels ? ` (coverage ${(100 * c.labels.coverage).toFixed(0)}%)` : ''}`);
  lines.push(`- ${c.newLabels} new labels since the last run`);
  for (const t of r.considered ?? r.fired.map((f) => ({ kind: f.kind, fired: true, evidence: f.reason }))) lines.push(`- ${t.fired ? `fired **${t.kind}**` : `${t.kind}: not fired`}: ${t.evidence}`);
  if (c.reportUrl) lines.push(`- [drift report](${c.reportUrl})`);
  return lines.join('\n');
}

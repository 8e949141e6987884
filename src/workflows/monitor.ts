import { log, patched, proxyActivities, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { ModelSpec } from '../config/schema.js';
import type { CheckResult, MonitorActivities } from '../activities/contracts.js';
import { RetrainModel, RetrainStage } from './search-attributes.js';
import { evaluateTriggers, type FiredTrigger } from './triggers.js';

export interface MonitorInput {
  model: string;
  /** The revision of the model's spec that `retrain apply` scheduled; the worker's own config holds the spec. */
  configRevision?: string;
  /** Schedules applied before v0.3 carried the whole spec; only the model name is read from it. */
  spec?: ModelSpec;
  /** True when started by the model's calendar schedule: retrain regardless of the data. */
  scheduled?: boolean;
}

export interface MonitorResult {
  check: CheckResult;
  fired: FiredTrigger[];
  action: 'none' | 'started' | 'already_running' | 'cooldown';
  detail: string;
  pipeline?: { workflowId: string; runId: string };
}

export const monitorWorkflowId = (model: string) => `retrain-monitor-${model}`;

const { checkModel, startRetrain, resolveSpec } = proxyActivities<MonitorActivities>({
  startToCloseTimeout: '10m',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5 },
});

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

  let result: MonitorResult;
  if (decision.fired.length === 0) {
    result = { check, fired: [], action: 'none', detail: 'no trigger fired' };
  } else if (decision.heldByCooldown) {
    result = { check, fired: decision.fired, action: 'cooldown', detail: decision.heldByCooldown };
  } else {
    const start = await startRetrain({ ref, kinds: decision.fired.map((f) => f.kind), reasons: decision.fired.map((f) => f.reason), requestedBy: 'monitor' });
    result = start.started
      ? { check, fired: decision.fired, action: 'started', detail: `started ${start.workflowId}`, pipeline: start }
      : { check, fired: decision.fired, action: 'already_running', detail: `a pipeline is already running (${start.workflowId}); nothing started`, pipeline: start };
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
  if (c.performance) lines.push(`- ${c.performance.metric} ${c.performance.value.toFixed(4)} on ${c.performance.labels} matured labels`);
  lines.push(`- ${c.newLabelsSinceTraining} new labels since training`);
  for (const f of r.fired) lines.push(`- fired **${f.kind}**: ${f.reason}`);
  if (c.reportUrl) lines.push(`- [drift report](${c.reportUrl})`);
  return lines.join('\n');
}

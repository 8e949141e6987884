import { createHash } from 'node:crypto';
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client, type ScheduleOptions, type ScheduleSpec } from '@temporalio/client';
import type { ModelSpec, RetrainConfig } from '../config/schema.js';
import type { RuntimeSettings } from '../config/settings.js';
import { specRevision } from '../config/revision.js';
import { RetrainModel } from '../domain/search-attributes.js';
import { learnerWorkflowId, LEARNING_WORKFLOW_TYPE, monitorWorkflowId } from '../workflows/ids.js';
import type { MonitorInput } from '../workflows/monitor.js';
import type { OnlineLearningInput } from '../workflows/online-learning.js';
import { payloadCodecFromEnv } from '../security/payload-codec.js';

/** Under which key a schedule's input is encrypted: turning encryption on or rotating re-creates the input. */
const payloadKeyId = (): string | null => payloadCodecFromEnv()?.keyId ?? null;

/**
 * `retrain apply`: the Temporal Schedules follow the YAML, idempotently, like `kubectl apply`.
 * Each model gets a monitor schedule (and a calendar schedule when its schedule trigger is on).
 * Schedules we manage carry a note with a fingerprint of what they were created from, so an
 * unchanged model is left alone and a changed one is updated in place.
 */
const MANAGED_NOTE = 'managed by retrain apply';
const PREFIXES = ['retrain-monitor-', 'retrain-calendar-', 'retrain-learn-'];

export interface DesiredSchedule {
  scheduleId: string;
  model: string;
  options: ScheduleOptions;
  fingerprint: string;
  summary: string;
}

export type ScheduleChange = { scheduleId: string; change: 'create' | 'update' | 'delete' | 'unchanged'; summary: string };

export function desiredSchedules(config: RetrainConfig, settings: Pick<RuntimeSettings, 'taskQueues'>): DesiredSchedule[] {
  return config.models.flatMap((spec) => {
    const out = [scheduleFor(spec, settings, 'monitor')];
    if (spec.triggers.schedule?.enabled) out.push(scheduleFor(spec, settings, 'calendar'));
    if (spec.learning.mode !== 'batch') out.push(learnerSchedule(spec, settings));
    return out;
  });
}

function scheduleFor(spec: ModelSpec, settings: Pick<RuntimeSettings, 'taskQueues'>, kind: 'monitor' | 'calendar'): DesiredSchedule {
  const when: ScheduleSpec =
    kind === 'calendar' ? { cronExpressions: [spec.triggers.schedule!.cron] } : spec.monitor.cron ? { cronExpressions: [spec.monitor.cron] } : { intervals: [{ every: spec.monitor.every! }] };
  const input: MonitorInput = { model: spec.name, configRevision: specRevision(spec), scheduled: kind === 'calendar' };
  return managedSchedule(spec, settings, {
    scheduleId: `retrain-${kind}-${spec.name}`,
    when,
    workflowType: 'monitorModel',
    workflowId: kind === 'calendar' ? `retrain-calendar-${spec.name}` : monitorWorkflowId(spec.name),
    input,
    summary: kind === 'calendar' ? `retrain ${spec.name} on cron ${spec.triggers.schedule!.cron}` : `monitor ${spec.name} ${spec.monitor.cron ? `on cron ${spec.monitor.cron}` : `every ${spec.monitor.every}`}`,
    catchupWindow: spec.monitor.catchupWindow,
  });
}

/** learning: online | hybrid: the learner's steps, every learning.updateEvery; a missed step is simply the next one's. */
function learnerSchedule(spec: ModelSpec, settings: Pick<RuntimeSettings, 'taskQueues'>): DesiredSchedule {
  const input: OnlineLearningInput = { model: spec.name, configRevision: specRevision(spec) };
  return managedSchedule(spec, settings, {
    scheduleId: learnerWorkflowId(spec.name),
    when: { intervals: [{ every: spec.learning.updateEvery }] },
    workflowType: LEARNING_WORKFLOW_TYPE,
    workflowId: learnerWorkflowId(spec.name),
    input,
    summary: `learn ${spec.name} online (${spec.learning.mode}) every ${spec.learning.updateEvery}, snapshot every ${spec.learning.snapshotEvery}`,
    catchupWindow: spec.learning.updateEvery,
  });
}

/**
 * A schedule this file manages: on the control queue, tagged with the model, paused with the
 * model's monitor, marked with the fingerprint of what it runs so `apply` can tell it changed.
 */
function managedSchedule(
  spec: ModelSpec,
  settings: Pick<RuntimeSettings, 'taskQueues'>,
  s: { scheduleId: string; when: ScheduleSpec; workflowType: string; workflowId: string; input: unknown; summary: string; catchupWindow: string },
): DesiredSchedule {
  const { scheduleId, when, input, summary } = s;
  const fingerprint = createHash('sha256').update(JSON.stringify({ when, input, queue: settings.taskQueues.control, catchup: s.catchupWindow, paused: spec.monitor.paused, payloadKey: payloadKeyId() })).digest('hex').slice(0, 16);
  const options: ScheduleOptions = {
    scheduleId,
    spec: when,
    action: {
      type: 'startWorkflow',
      workflowType: s.workflowType,
      workflowId: s.workflowId,
      taskQueue: settings.taskQueues.control,
      args: [input],
      typedSearchAttributes: [{ key: RetrainModel, value: spec.name }],
      staticSummary: summary,
    },
    // A run still going when the next is due is skipped, not queued; missed runs are caught up within a window.
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: s.catchupWindow },
    state: { paused: spec.monitor.paused, note: `${MANAGED_NOTE} (${fingerprint})` },
  };
  return { scheduleId, model: spec.name, options, fingerprint, summary };
}

export async function reconcileSchedules(client: Client, desired: DesiredSchedule[], options: { dryRun?: boolean; prune?: boolean } = {}): Promise<ScheduleChange[]> {
  const changes: ScheduleChange[] = [];
  const wanted = new Set(desired.map((d) => d.scheduleId));
  for (const d of desired) {
    const handle = client.schedule.getHandle(d.scheduleId);
    let note: string | undefined;
    try {
      note = (await handle.describe()).state.note;
    } catch (err) {
      if (!(err instanceof ScheduleNotFoundError)) throw err;
      if (!options.dryRun) await client.schedule.create(d.options);
      changes.push({ scheduleId: d.scheduleId, change: 'create', summary: d.summary });
      continue;
    }
    if (note?.includes(d.fingerprint)) {
      changes.push({ scheduleId: d.scheduleId, change: 'unchanged', summary: d.summary });
      continue;
    }
    if (!options.dryRun) {
      await handle.update((previous) => ({ ...previous, spec: d.options.spec, action: d.options.action, policies: d.options.policies, state: { ...previous.state, ...d.options.state } }));
    }
    changes.push({ scheduleId: d.scheduleId, change: 'update', summary: d.summary });
  }
  if (options.prune !== false) {
    for await (const existing of client.schedule.list()) {
      if (wanted.has(existing.scheduleId) || !PREFIXES.some((p) => existing.scheduleId.startsWith(p))) continue;
      const described = await client.schedule.getHandle(existing.scheduleId).describe();
      if (!described.state.note?.startsWith(MANAGED_NOTE)) continue; // not ours: never touched
      if (!options.dryRun) await client.schedule.getHandle(existing.scheduleId).delete();
      changes.push({ scheduleId: existing.scheduleId, change: 'delete', summary: 'no longer in the config' });
    }
  }
  return changes;
}

/** A Temporal round: trigger every schedule, wait for the runs to close, and break their histories down. */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { ModelSpec } from '../../src/config/schema.js';
import type { MonitorResult } from '../../src/workflows/monitor.js';
import { pool, sleep } from './common.js';
import { countOutcome, emptyOutcomes, type Outcomes } from './outcomes.js';

export interface TemporalRound {
  triggerMs: number;
  roundMs: number;
  firstStartMs: number;
  lastStartMs: number;
  perCheck: number[];
  firstTask: number[];
  activityWait: number[];
  activityRun: number[];
  rest: number[];
  /** Most checkModel activities running at once in the worker (from the histories' started/completed times). */
  peakConcurrentChecks: number;
  statuses: Record<string, number>;
  activityRetries: number;
  workflowTaskProblems: number;
  workflowTaskDetails: Record<string, number>;
  /** Event timelines of the runs that had workflow task problems. */
  problemRuns: string[];
  pipelinesStarted: number;
  outcomes: Outcomes;
}

export const tsMs = (t: { seconds?: unknown; nanos?: number | null } | null | undefined): number => (t ? Number(t.seconds ?? 0) * 1000 + (t.nanos ?? 0) / 1e6 : Number.NaN);

/** Triggers every schedule, waits for all runs to close (then calls `onClosed`), and reads their histories. */
export async function temporalRound(client: Client, specs: ModelSpec[], timeoutMs: number, onClosed: () => void): Promise<TemporalRound> {
  const t0 = Date.now();
  const since = new Date(t0 - 1).toISOString();
  await pool(specs, 16, (spec) => client.schedule.getHandle(`retrain-monitor-${spec.name}`).trigger());
  const triggerMs = Date.now() - t0;
  const closedQuery = `WorkflowType = 'monitorModel' AND StartTime >= '${since}' AND ExecutionStatus != 'Running'`;
  const deadline = t0 + timeoutMs;
  for (;;) {
    const { count } = await client.workflow.count(closedQuery);
    if (count >= specs.length) break;
    if (Date.now() > deadline) throw new Error(`round timed out: ${count}/${specs.length} monitor runs closed after ${timeoutMs / 1000} s`);
    await sleep(250);
  }
  onClosed();
  const runs: WorkflowExecutionInfo[] = [];
  for await (const run of client.workflow.list({ query: `WorkflowType = 'monitorModel' AND StartTime >= '${since}'` })) runs.push(run);
  if (runs.length !== specs.length) throw new Error(`expected ${specs.length} monitor runs in this round, visibility lists ${runs.length} (a natural schedule run?)`);

  const bySpec = new Map(specs.map((s) => [s.name, s]));
  const r: TemporalRound = {
    triggerMs,
    roundMs: Math.max(...runs.map((w) => w.closeTime!.getTime())) - t0,
    firstStartMs: Math.min(...runs.map((w) => w.startTime.getTime())) - t0,
    lastStartMs: Math.max(...runs.map((w) => w.startTime.getTime())) - t0,
    perCheck: runs.map((w) => w.closeTime!.getTime() - w.startTime.getTime()),
    firstTask: [],
    activityWait: [],
    activityRun: [],
    rest: [],
    peakConcurrentChecks: 0,
    statuses: {},
    activityRetries: 0,
    workflowTaskProblems: 0,
    workflowTaskDetails: {},
    problemRuns: [],
    pipelinesStarted: 0,
    outcomes: emptyOutcomes(),
  };
  for (const w of runs) r.statuses[w.status.name] = (r.statuses[w.status.name] ?? 0) + 1;
  const intervals: Array<[number, number]> = [];
  await pool(runs, 16, async (w) => {
    const events = (await client.workflow.getHandle(w.workflowId, w.runId).fetchHistory()).events ?? [];
    const start = tsMs(events[0]?.eventTime);
    let scheduled = Number.NaN;
    let started = Number.NaN;
    let completed = Number.NaN;
    for (const e of events) {
      const at = tsMs(e.eventTime);
      if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'checkModel') scheduled = at;
      if (e.activityTaskStartedEventAttributes && Number.isNaN(started)) {
        started = at;
        if ((e.activityTaskStartedEventAttributes.attempt ?? 1) > 1) r.activityRetries += (e.activityTaskStartedEventAttributes.attempt ?? 1) - 1;
      }
      if (e.activityTaskCompletedEventAttributes && Number.isNaN(completed)) completed = at;
      if (e.activityTaskFailedEventAttributes || e.activityTaskTimedOutEventAttributes) r.activityRetries++;
      const wftFailed = e.workflowTaskFailedEventAttributes;
      const wftTimedOut = e.workflowTaskTimedOutEventAttributes;
      if (wftFailed || wftTimedOut) {
        r.workflowTaskProblems++;
        // TimeoutType 1 = START_TO_CLOSE, 2 = SCHEDULE_TO_START (a sticky queue's task handed back to the normal queue).
        const key = wftTimedOut
          ? `timed out (${wftTimedOut.timeoutType === 2 ? 'schedule-to-start' : wftTimedOut.timeoutType === 1 ? 'start-to-close' : String(wftTimedOut.timeoutType)})`
          : `failed (cause ${wftFailed!.cause}: ${wftFailed!.failure?.message?.slice(0, 80) ?? ''})`;
        r.workflowTaskDetails[key] = (r.workflowTaskDetails[key] ?? 0) + 1;
      }
      if (e.activityTaskScheduledEventAttributes?.activityType?.name === 'startRetrain') r.pipelinesStarted++;
      const done = e.workflowExecutionCompletedEventAttributes?.result?.payloads?.[0];
      if (done) {
        const result = defaultPayloadConverter.fromPayload<MonitorResult>(done);
        const model = result.check.model;
        countOutcome(r.outcomes, bySpec.get(model)!, result.check, result.action);
      }
    }
    if (events.some((e) => e.workflowTaskFailedEventAttributes || e.workflowTaskTimedOutEventAttributes)) {
      const name = (e: (typeof events)[number]) =>
        Object.keys(e)
          .find((k) => k.endsWith('EventAttributes') && (e as Record<string, unknown>)[k])
          ?.replace('EventAttributes', '') ?? '?';
      r.problemRuns.push(`${w.workflowId}: ${events.map((e) => `${name(e)} +${(tsMs(e.eventTime) - start).toFixed(0)}ms`).join(', ')}`);
    }
    const closed = w.closeTime!.getTime();
    r.firstTask.push(scheduled - start);
    r.activityWait.push(started - scheduled);
    r.activityRun.push(completed - started);
    if (Number.isFinite(started) && Number.isFinite(completed)) intervals.push([started, completed]);
    r.rest.push(closed - completed);
  });
  const edges = runs.length ? intervals.flatMap(([a, b]) => [[a, 1] as const, [b, -1] as const]).sort((x, y) => x[0] - y[0] || x[1] - y[1]) : [];
  let running = 0;
  for (const [, d] of edges) r.peakConcurrentChecks = Math.max(r.peakConcurrentChecks, (running += d));
  return r;
}

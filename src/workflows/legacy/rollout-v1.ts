import { condition, log } from '@temporalio/workflow';
import { durationMs, formatDuration } from '../../config/duration.js';
import type { LiveComparison } from '../../domain/canary.js';
import type { Notification } from '../../domain/notification.js';
import type { RunRef } from '../../domain/run.js';
import { analyseCanary, type LegacyRolloutSpec, type Verdict } from './analysis-v1.js';
import type { PipelineStatus } from '../../domain/status.js';

/**
 * The canary of runs that reached it before the `canary-durable-evidence` patch, kept unchanged so their histories replay (new
 * runs: ../canary/). Shadow (optional), then each step's weight held for its bake time while live
 * analysis runs every interval. Consecutive failures up to the limit roll back; signals may pause
 * the clock, abort (roll back now) or promote (skip the remaining steps).
 */

export interface RolloutControls {
  paused: boolean;
  abort?: { by: string; reason: string };
  promoteNow?: { by: string; reason: string };
}

export interface RolloutDeps {
  /** Records the stage (status and the RetrainStage search attribute). */
  enter(stage: 'shadow' | 'canary'): void;
  setTraffic(weight: number, shadow?: boolean): Promise<void>;
  liveMetrics(sinceIso: string): Promise<LiveComparison>;
  notify(n: Omit<Notification, 'model'>): Promise<void>;
}

export type RolloutOutcome = { result: 'completed'; reason: string } | { result: 'rolled_back'; reason: string };

export async function runRollout(spec: LegacyRolloutSpec, status: PipelineStatus, controls: RolloutControls, deps: RolloutDeps, run: RunRef): Promise<RolloutOutcome> {
  const interrupted = () => controls.abort !== undefined || controls.promoteNow !== undefined;

  if (spec.shadow) {
    deps.enter('shadow');
    await deps.setTraffic(0, true);
    status.traffic = { ...status.traffic, shadow: true, challengerWeight: 0 };
    await bake(durationMs(spec.shadow.duration), `shadow for ${spec.shadow.duration}`);
    await deps.setTraffic(0, false);
    status.traffic.shadow = false;
    if (controls.abort) return { result: 'rolled_back', reason: `aborted by ${controls.abort.by}: ${controls.abort.reason}` };
  }

  deps.enter('canary');
  for (const [index, step] of spec.steps.entries()) {
    if (controls.promoteNow) return { result: 'completed', reason: `promoted early by ${controls.promoteNow.by}` };
    await deps.setTraffic(step.weight);
    status.traffic.challengerWeight = step.weight;
    log.info('Canary step', { workflowId: run.workflowId, step: index + 1, weight: step.weight });
    await deps.notify({ kind: 'rollout_step', title: `canary step ${index + 1}/${spec.steps.length}: ${step.weight}% of traffic`, details: { weight: step.weight, duration: step.duration } });
    if (step.duration === undefined) continue; // the final 100% step needs no bake

    const outcome = await bakeWithAnalysis(index, step.weight, durationMs(step.duration));
    if (outcome) return outcome;
  }
  return { result: 'completed', reason: 'all canary steps passed' };

  /** Holds a weight for `ms` of unpaused time, analysing every interval. Returns an outcome to stop early. */
  async function bakeWithAnalysis(stepIndex: number, weight: number, ms: number): Promise<RolloutOutcome | undefined> {
    const interval = durationMs(spec.analysisInterval);
    const stepStart = new Date().toISOString();
    let consecutiveFailures = 0;
    let lastVerdict: Verdict = 'inconclusive';
    let baked = 0;
    // An inconclusive step is extended, up to twice its bake time, before it counts as a failure.
    const limit = ms * 2;
    while (baked < ms || (lastVerdict === 'inconclusive' && baked < limit)) {
      const wait = Math.min(interval, (baked < ms ? ms : limit) - baked);
      await bake(wait, `canary ${weight}% for ${formatDuration(ms)}: next analysis in ${formatDuration(wait)}`);
      baked += wait;
      if (controls.abort) return { result: 'rolled_back', reason: `aborted by ${controls.abort.by}: ${controls.abort.reason}` };
      if (controls.promoteNow) return { result: 'completed', reason: `promoted early by ${controls.promoteNow.by}` };

      const live = await deps.liveMetrics(stepStart);
      const analysis = analyseCanary(live, spec);
      lastVerdict = analysis.verdict;
      status.analyses.push({ at: new Date().toISOString(), step: stepIndex + 1, weight, verdict: analysis.verdict, detail: analysis.detail, live });
      consecutiveFailures = analysis.verdict === 'fail' ? consecutiveFailures + 1 : 0;
      if (consecutiveFailures >= spec.failureLimit) {
        return { result: 'rolled_back', reason: `${consecutiveFailures} consecutive failed analyses at ${weight}%: ${analysis.detail}` };
      }
    }
    if (lastVerdict === 'inconclusive') {
      return { result: 'rolled_back', reason: `not enough live traffic to judge the ${weight}% step within ${formatDuration(limit)}` };
    }
    return undefined;
  }

  /**
   * Waits `ms` of unpaused time; a pause stops the clock until resumed. Returns true when a control
   * signal cut the wait short.
   */
  async function bake(ms: number, summary: string): Promise<boolean> {
    let remaining = ms;
    while (remaining > 0) {
      const started = Date.now();
      const cut = await condition(() => interrupted() || controls.paused, remaining, { summary });
      remaining -= Date.now() - started;
      if (!cut) return false;
      if (interrupted()) return true;
      await condition(() => !controls.paused || interrupted());
      if (interrupted()) return true;
    }
    return false;
  }
}

import { condition, log } from '@temporalio/workflow';
import type { RolloutPlan } from '../../config/rollout.js';
import { durationMs, formatDuration } from '../../config/duration.js';
import type { CanaryEvidence, StepRecord } from '../../domain/canary.js';
import type { Notification } from '../../domain/notification.js';
import type { PipelineStatus } from '../../domain/status.js';
import type { CanaryControls } from './controls.js';
import { evidenceOf, judgeStep, type StepJudgement } from './judge.js';

/**
 * The canary, in one place: an optional shadow stage, then each step's weight held for its bake
 * while the analysis reads the durable evidence every interval. A step passes only on a `pass`
 * judgement; consecutive failures roll back; a step still inconclusive at the end of its bake keeps
 * analysing, for `extendInconclusive` × its bake, or until `labelWait` past it when only labels are
 * missing, and then takes the policy's action (roll back, or ask a person). Controls may pause the
 * clock, abort or promote early. Traffic moves only through `deps.setTraffic`; undoing it is the
 * caller's compensation.
 */

export interface CanaryDeps {
  /** Records the stage (status and the RetrainStage search attribute). */
  enter(stage: 'shadow' | 'canary'): void;
  setTraffic(weight: number, shadow?: boolean): Promise<void>;
  evidence(stage: 'shadow' | 'canary', fromIso: string, asOfIso: string): Promise<CanaryEvidence>;
  notify(n: Omit<Notification, 'model'>): Promise<void>;
  /** Asks an approver whether an unjudged step may go on, and who answered. */
  ask(reasons: string[]): Promise<{ approved: boolean; by: string }>;
  /** Called after each analysis (the pipeline refreshes the run's details in the UI). */
  analysed?(): void;
}

export type CanaryOutcome = { result: 'completed'; reason: string } | { result: 'rolled_back'; reason: string };

export async function runCanary(plan: RolloutPlan, labelDelay: string, status: PipelineStatus, controls: CanaryControls, deps: CanaryDeps): Promise<CanaryOutcome> {
  const { analysis } = plan;
  const interval = durationMs(analysis.interval);
  const labelWait = durationMs(analysis.labelWait ?? labelDelay);
  const steps = (status.steps ??= []);
  const aborted = (): CanaryOutcome => ({ result: 'rolled_back', reason: `aborted by ${controls.abort!.by}: ${controls.abort!.reason}` });
  const promotedEarly = (): CanaryOutcome => ({ result: 'completed', reason: `promoted early by ${controls.promoteNow!.by}` });

  if (plan.shadow) {
    deps.enter('shadow');
    await deps.setTraffic(0, true);
    status.traffic = { ...status.traffic, shadow: true, challengerWeight: 0 };
    const outcome = await runStep('shadow', 0, durationMs(plan.shadow.duration));
    if (outcome) return outcome;
    await deps.setTraffic(0, false);
    status.traffic.shadow = false;
  }

  deps.enter('canary');
  for (const [index, step] of plan.steps.entries()) {
    if (controls.promoteNow) return promotedEarly();
    await deps.setTraffic(step.weight);
    status.traffic.challengerWeight = step.weight;
    log.info('Canary step', { step: index + 1, weight: step.weight });
    await deps.notify({ kind: 'rollout_step', title: `canary step ${index + 1}/${plan.steps.length}: ${step.weight}% of traffic`, details: { weight: step.weight, duration: step.duration } });
    if (step.duration === undefined) continue; // the final 100% step needs no bake
    const outcome = await runStep('canary', step.weight, durationMs(step.duration));
    if (outcome) return outcome;
  }
  return { result: 'completed', reason: 'all canary steps passed' };

  /** Holds one step until it passes (undefined) or the run must stop (an outcome). */
  async function runStep(stage: 'shadow' | 'canary', weight: number, bakeMs: number): Promise<CanaryOutcome | undefined> {
    const record: StepRecord = { step: steps.length + 1, stage, weight, startedAt: new Date().toISOString(), bake: formatDuration(bakeMs), analyses: 0 };
    steps.push(record);
    const end = (verdict: StepRecord['verdict'], reason: string, judgement?: StepJudgement) => {
      record.endedAt = new Date().toISOString();
      record.verdict = verdict;
      record.reason = reason;
      if (judgement) record.evidence = evidenceOf(judgement);
    };
    const name = stage === 'shadow' ? 'the shadow stage' : `the ${weight}% step`;
    let consecutiveFailures = 0;
    let baked = 0;
    let judgement: StepJudgement | undefined;
    let waitedForLabels = false;
    for (;;) {
      waitedForLabels ||= judgement?.awaitingLabels ?? false;
      const deadline = waitLimit();
      if (baked >= bakeMs && judgement?.verdict !== 'pass' && baked >= deadline) break;
      const wait = Math.min(interval, (baked < bakeMs ? bakeMs : deadline) - baked);
      const label = baked < bakeMs ? `${name} for ${formatDuration(bakeMs)}` : `${name} past its bake, ${judgement?.awaitingLabels ? 'waiting for labels' : 'inconclusive'}`;
      await bake(wait, `${label}: next analysis in ${formatDuration(wait)}`);
      baked += wait;
      if (controls.abort) return end('aborted', controls.abort.reason), aborted();
      if (controls.promoteNow && stage === 'canary') return end('promoted_early', controls.promoteNow.reason), promotedEarly();

      const asOf = new Date().toISOString();
      const evidence = await deps.evidence(stage, record.startedAt, asOf);
      judgement = judgeStep(analysis, evidence);
      record.analyses++;
      status.analyses.push({ at: asOf, step: record.step, weight, stage, verdict: judgement.verdict, detail: judgement.detail, metrics: judgement.metrics, evidence });
      record.verdict = undefined;
      record.reason = `${judgement.verdict}: ${judgement.detail}`;
      deps.analysed?.();
      consecutiveFailures = judgement.verdict === 'fail' ? consecutiveFailures + 1 : 0;
      if (consecutiveFailures >= analysis.failureLimit) {
        const reason = `${consecutiveFailures} consecutive failed analyses ${stage === 'shadow' ? 'in the shadow stage' : `at ${weight}%`}: ${judgement.detail}`;
        end('fail', reason, judgement);
        return { result: 'rolled_back', reason };
      }
      if (baked >= bakeMs && judgement.verdict === 'pass') {
        end('pass', judgement.detail, judgement);
        return undefined;
      }
    }

    const waited = formatDuration(baked);
    const why = judgement?.detail ?? 'no analysis';
    // Failing at the end, though not often enough in a row to have rolled back already: not a pass.
    if (judgement?.verdict === 'fail') {
      const reason = `${name} did not pass within ${waited}: ${why}`;
      end('fail', reason, judgement);
      return { result: 'rolled_back', reason };
    }
    // Bake and waits are over and the step is still not judged.
    if (analysis.onInconclusive === 'ask') {
      const answer = await deps.ask([`${name} could not be judged within ${waited}: ${why}`]);
      deps.enter(stage);
      if (answer.approved) {
        end('approved', `not judged within ${waited}; continued by ${answer.by}`, judgement);
        return undefined;
      }
      const reason = `${name} could not be judged within ${waited} and ${answer.by} did not approve going on: ${why}`;
      end('inconclusive', reason, judgement);
      return { result: 'rolled_back', reason };
    }
    const reason = `${name} could not be judged within ${waited}: ${why}`;
    end('inconclusive', reason, judgement);
    return { result: 'rolled_back', reason };

    /**
     * How long the step may run in all before its verdict is final: the extension, or the label
     * wait once it has waited for labels; a step failing at that point gets the analyses it needs to
     * reach the failure limit (a first failing read of newly matured labels is confirmed, not dropped).
     */
    function waitLimit(): number {
      const extended = bakeMs * (1 + analysis.extendInconclusive);
      const limit = waitedForLabels ? Math.max(extended, bakeMs + labelWait) : extended;
      return judgement?.verdict === 'fail' ? limit + (analysis.failureLimit - consecutiveFailures) * interval : limit;
    }
  }

  /** Waits `ms` of unpaused time; a pause stops the clock until resumed or interrupted. */
  async function bake(ms: number, summary: string): Promise<void> {
    let remaining = ms;
    while (remaining > 0) {
      const started = Date.now();
      const cut = await condition(() => controls.interrupted || controls.paused, remaining, { summary });
      remaining -= Date.now() - started;
      if (!cut || controls.interrupted) return;
      await condition(() => !controls.paused || controls.interrupted);
      if (controls.interrupted) return;
    }
  }
}

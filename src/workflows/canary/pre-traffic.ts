import type { PreTrafficRecord } from '../../domain/pre-traffic.js';
import type { PipelineStatus } from '../../domain/status.js';

/**
 * The pre-traffic checks as a workflow step (seed 001's CodeDeploy BeforeAllowTraffic hook): the
 * challenger is staged on the gateway with no traffic and sent synthetic requests built from the
 * reference profile; only a check that passes lets the shadow stage or the first canary step begin.
 * The judgement is the activity's (src/serving/synthetic-requests.ts); this step records it and
 * says whether the rollout may go on. Staging is an effect, so its undo (the champion alone, the
 * challenger alias cleared) is registered before the activity runs and is the caller's to run.
 */
export interface PreTrafficDeps {
  /** Records the stage (status and the RetrainStage search attribute). */
  enter(stage: 'pre_traffic'): void;
  /** Registers the compensation that undoes the staging. */
  staging(): void;
  check(): Promise<PreTrafficRecord>;
  /** Called once the record is in the status (the pipeline refreshes the run's details in the UI). */
  recorded?(): void;
}

export type PreTrafficOutcome = { passed: true; reason: string } | { passed: false; reason: string };

export async function runPreTraffic(status: PipelineStatus, deps: PreTrafficDeps): Promise<PreTrafficOutcome> {
  deps.enter('pre_traffic');
  deps.staging();
  const record = await deps.check();
  status.preTraffic = record;
  deps.recorded?.();
  return { passed: record.passed, reason: record.reason };
}

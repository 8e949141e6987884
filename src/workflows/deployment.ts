import { patched } from '@temporalio/workflow';
import type { DatasetRef } from '../activities/contracts.js';
import type { Evaluation } from '../domain/evaluation.js';
import { normalizeRollout, preTrafficSettings } from '../config/rollout.js';
import { approvalReasons, type ApprovalOutcome } from './approval.js';
import { runCanary } from './canary/canary.js';
import { runPreTraffic } from './canary/pre-traffic.js';
import { evaluateGates, flaggedForApproval, rejectingFailures } from './gates.js';
import type { LegacyRolloutSpec } from './legacy/analysis-v1.js';
import { runRollout } from './legacy/rollout-v1.js';
import { control, type RunResult, type RunSession } from './run-session.js';

/**
 * The second half of every run, whoever trained the version: judged against the champion on the
 * same holdout and refused by the gates, then a human when the policy asks, pre-traffic checks,
 * shadow and canary steps on live traffic, and promotion or rollback. The retraining pipeline runs
 * it on the challenger it trained; `retrain deploy` runs it on a version registered from outside.
 */

/** The candidate on the dataset's holdout beside the champion, and the gates' verdict; a refused candidate is discarded and the run ends rejected. */
export async function judgeOnHoldout(session: RunSession, dataset: DatasetRef, version: number): Promise<{ evaluation: Evaluation } | { rejected: RunResult }> {
  const { spec, status, run } = session;
  const { ref } = session;
  session.enter('evaluating');
  const evaluation: Evaluation = await control.evaluateCandidates({ ref, dataset, challengerVersion: version });
  status.evaluation = evaluation;
  status.gates = evaluateGates(spec.gates, evaluation);
  const failed = rejectingFailures(status.gates);
  if (failed.length === 0) return { evaluation };
  const reason = failed.map((g) => `${g.name}: ${g.detail}`).join('; ');
  await control.discardChallenger({ model: spec.name, version, reason, run });
  await session.notify({ kind: 'gates_failed', title: `${spec.name} v${version} rejected by the gates`, details: { gates: status.gates } });
  return { rejected: await session.finish('rejected', `gates failed: ${reason}`) };
}

/**
 * From a candidate that passed the gates to its promotion or rollback. `approval` is a person's
 * consent given earlier in the run (for its cost), which also covers the review.
 */
export async function deployCandidate(session: RunSession, candidate: { version: number; evaluation: Evaluation }, approvalSoFar?: ApprovalOutcome): Promise<RunResult> {
  const { spec, status, run, controls, compensations, trigger } = session;
  const { evaluation } = candidate;
  const { ref } = session;
  let approval = approvalSoFar;

  // A human, when the policy or a flagged gate asks for one (and nobody has approved yet).
  // approval.when: on_flag also asks when a gate only warned; runs past this point before it did not.
  const flagged = flaggedForApproval(status.gates, spec.approval.when === 'on_flag' && patched('approval-on-flag') ? 'on_flag' : undefined);
  const reviewReasons = approvalReasons({ policy: spec.approval.when === 'always' ? spec.approval : { ...spec.approval, when: 'never' }, estimatedCostUsd: 0, overBudget: false, flaggedGates: flagged.map((g) => g.detail) });
  if (reviewReasons.length > 0 && !approval?.approved) {
    approval = await session.askForApproval(reviewReasons);
    if (!approval.approved) {
      await control.discardChallenger({ model: spec.name, version: candidate.version, reason: approval.reason, run });
      return session.finish('rejected', `not approved: ${approval.reason} (${approval.by})`);
    }
  }

  // A first model has no champion to compare with, so it goes straight in.
  if (!evaluation.champion) {
    session.enter('promoting');
    const actor = approval?.approved ? approval.by : 'retrain:auto';
    await control.promote({ model: spec.name, version: candidate.version, actor, reason: `first model: ${trigger.reasons.join('; ')}`, run, evaluation });
    await session.notify({ kind: 'promoted', title: `${spec.name} v${candidate.version} is the first champion`, details: { by: actor } });
    return session.finish('promoted', 'first model: no champion to compare with, no canary');
  }
  const restore = (reason: string) => session.restoreChampion(candidate.version, reason);
  const setTraffic = (weight: number, shadow?: boolean) => {
    compensations.once('restore champion', restore);
    return control.setTraffic.executeWithOptions({ summary: shadow ? 'shadow traffic on' : `challenger to ${weight}%` }, [{ model: spec.name, challengerVersion: candidate.version, weight, shadow, run }]);
  };
  const versions = { champion: evaluation.champion.version, challenger: candidate.version };
  const durable = patched('canary-durable-evidence');
  // Pre-traffic checks: synthetic requests to the challenger alone before any live traffic;
  // a failure rolls back what the staging did (the same compensation as a failed canary), so no
  // traffic ever moved. Runs that passed this point before the `pre-traffic-checks` patch replay without it.
  if (durable && preTrafficSettings(spec.rollout, spec.serving?.backend).enabled && patched('pre-traffic-checks')) {
    const checked = await runPreTraffic(status, {
      enter: (stage) => session.enter(stage),
      staging: () => compensations.once('restore champion', restore),
      check: () => control.preTrafficChecks.executeWithOptions({ summary: `pre-traffic checks: synthetic requests to v${candidate.version}` }, [{ ref, versions, run }]),
      recorded: session.showDetails,
    });
    if (!checked.passed) {
      await compensations.run(checked.reason);
      return session.finish('rolled_back', checked.reason);
    }
  }
  const rollout = durable
    ? await runCanary(normalizeRollout(spec.rollout, spec.task), spec.label.delay, status, controls, {
        enter: (stage) => session.enter(stage),
        setTraffic,
        evidence: async (stage, fromIso, asOfIso) => {
          const evidence = await control.canaryEvidence.executeWithOptions({ summary: `${stage} analysis` }, [{ ref, stage, fromIso, asOfIso, versions }]);
          // The label-free estimate is judged against the version's own holdout accuracy.
          evidence.champion.holdoutAccuracy = evaluation.champion?.metrics.accuracy;
          evidence.challenger.holdoutAccuracy = evaluation.challenger.metrics.accuracy;
          return evidence;
        },
        notify: session.notify,
        analysed: session.showDetails,
        ask: async (reasons) => {
          const answer = await session.askForApproval(reasons);
          return { approved: answer.approved, by: answer.by };
        },
      })
    : // Runs whose canary began before the `canary-durable-evidence` patch: the old loop on the gateway's in-memory numbers.
      await runRollout(spec.rollout as unknown as LegacyRolloutSpec, status, controls, {
        // Runs from before the `rollout-stage-attribute` patch never upserted these stages; replaying them must not either.
        enter: (stage) => (patched('rollout-stage-attribute') ? session.enter(stage) : (status.stage = stage)),
        setTraffic,
        liveMetrics: (sinceIso) => control.liveMetrics.executeWithOptions({ summary: 'live analysis' }, [{ model: spec.name, sinceIso }]),
        notify: session.notify,
      }, run);
  if (rollout.result === 'rolled_back') {
    await compensations.run(rollout.reason);
    return session.finish('rolled_back', rollout.reason);
  }

  // Promotion: the registry alias moves and the ledger records who and why.
  session.enter('promoting');
  const actor = controls.promoteNow?.by ?? (approval?.approved ? approval.by : 'retrain:auto');
  await control.promote({ model: spec.name, version: candidate.version, actor, reason: `${trigger.reasons.join('; ')} → ${rollout.reason}`, run, evaluation });
  compensations.clear();
  await session.notify({ kind: 'promoted', title: `${spec.name} v${candidate.version} is the champion`, details: { by: actor } });
  return session.finish('promoted', rollout.reason);
}

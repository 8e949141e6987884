import { setTimeout as sleep } from 'node:timers/promises';
import type { Client } from '@temporalio/client';
import { latestLearningStep, listRuns, pipelineStatus } from '../client.js';
import type { ModelSpec } from '../config/schema.js';
import type { OnlineLearningResult } from '../workflows/online-learning.js';

/** What the narrator knows of a model's latest run: which one, at which stage, whether it has ended. */
export interface SeenRun {
  runId: string;
  stage: string;
  closed: boolean;
}

/** The parts of a run's status the narration quotes. */
export interface NarratedStatus {
  triggers: string[];
  approvalReasons: string[];
  outcome?: { result: string; reason: string };
  decisions?: Array<{ kind: string; by: string; accepted: boolean; detail: string }>;
}

/**
 * The lines to print for a model's latest run, given what was seen before (undefined at start).
 * A run the narrator has not seen before is announced ("a retrain was triggered") whatever stage
 * it is first seen at, since a short stage (the budget check) can pass between two looks; a run
 * that had already ended when the narrator started is not. A rollback says who: the canary's
 * judgement ("automatically") or a person's abort.
 */
export function narration(
  spec: ModelSpec,
  previous: SeenRun | undefined,
  latest: SeenRun,
  status: () => Promise<NarratedStatus>,
  links: { pipelines?: (model: string) => string } = {},
): Promise<string[]> {
  return (async () => {
    const m = spec.name;
    if (previous?.runId === latest.runId && previous.stage === latest.stage) return [];
    const lines: string[] = [];
    const newRun = previous?.runId !== latest.runId;
    if (newRun && !(previous === undefined && latest.closed)) {
      const pipelines = links.pipelines ? `\n    this model's pipelines in the web UI: ${links.pipelines(m)}` : '';
      const checking = latest.stage === 'budget_check' ? '; checking the budget' : '';
      lines.push(`${m}: a retrain was triggered (${(await status()).triggers.join(', ') || 'no trigger recorded'})${checking}${pipelines}`);
    }
    switch (latest.stage) {
      case 'training':
        lines.push(`${m}: training a challenger`);
        break;
      case 'evaluating':
        lines.push(`${m}: scoring champion and challenger on the same holdout`);
        break;
      case 'awaiting_approval': {
        const approver = spec.approval.approvers[0] ?? 'you';
        lines.push(
          `${m}: waiting for approval (${(await status()).approvalReasons.join('; ')})\n    the evidence: npx retrain status ${m} (links the interim run report)\n    approve with: npx retrain approve ${m} --as ${approver}\n    or reject:    npx retrain reject ${m} --as ${approver} --comment "why"`,
        );
        break;
      }
      case 'canary':
        lines.push(`${m}: canary on live traffic (${spec.rollout.steps.map((s) => `${s.weight}%`).join(' → ')}); \`npx retrain status ${m}\` shows the analyses`);
        break;
      case 'promoted':
        lines.push(`${m}: challenger promoted to champion (\`npx retrain ledger ${m}\`)`);
        break;
      case 'rolled_back': {
        const s = await status();
        const reason = s.outcome?.reason ?? '';
        const abort = /^aborted by /.test(reason) ? reason : undefined;
        const abortDecision = s.decisions?.find((d) => d.kind === 'abort' && d.accepted);
        lines.push(
          abort || abortDecision
            ? `${m}: rolled back on request (${abort ?? `aborted by ${abortDecision!.by}`}); the champion keeps all traffic (\`npx retrain status ${m}\`)`
            : `${m}: rolled back automatically${reason ? ` (${reason})` : ''}; the champion keeps all traffic (\`npx retrain status ${m}\`)`,
        );
        break;
      }
      case 'rejected': {
        const reason = (await status()).outcome?.reason ?? 'see `npx retrain status`';
        lines.push(`${m}: run rejected: ${reason}\n    the monitor tries again once the ${spec.triggers.cooldown} cooldown is over and a trigger still fires`);
        break;
      }
      case 'failed':
        lines.push(`${m}: run failed: ${(await status()).outcome?.reason ?? 'see `npx retrain status`'}`);
        break;
      default:
        break;
    }
    return lines;
  })();
}

/**
 * The lines for a model's newest online-learning step (learning: online | hybrid): the first copy
 * served, then each snapshot and each freeze, once. Plain steps are not narrated (one a minute).
 */
export function learningNarration(spec: ModelSpec, previous: { copy: string | null } | undefined, result: OnlineLearningResult): string[] {
  const m = spec.name;
  const lines: string[] = [];
  const { step, snapshot, frozen } = result;
  if (step.restarted && previous) lines.push(`${m}: the online learner restarted from the new champion v${step.base}`);
  if (step.copy && (!previous?.copy || step.restarted)) lines.push(`${m}: the online copy ${step.copy} serves (${spec.learning.mode}${spec.learning.mode === 'hybrid' ? `: ${spec.learning.weights.batch} × champion v${step.base} + ${spec.learning.weights.online} × copy` : ''}); \`npx retrain learning status ${m}\``);
  if (snapshot && !frozen) lines.push(`${m}: online snapshot v${snapshot.version} (${snapshot.copy}) registered: ${snapshot.detail}`);
  if (frozen) lines.push(`${m}: online learning FROZEN: snapshot v${snapshot!.version} ${snapshot!.detail}; serving ${frozen.resetTo} again\n    look, then resume with: npx retrain learning unfreeze ${m}`);
  return lines;
}

/**
 * Tells the person at the terminal what the product is doing and what to do next, by watching the
 * pipelines through visibility (the same view as the web UI) and printing each stage change once.
 */
export function startNarrator(
  client: Client,
  models: ModelSpec[],
  say: (line: string) => void,
  signal: AbortSignal,
  links: { pipelines?: (model: string) => string } = {},
): Promise<void> {
  const seen = new Map<string, SeenRun>();
  const learned = new Map<string, { runId: string; copy: string | null }>();
  return (async () => {
    while (!signal.aborted) {
      for (const spec of models.filter((s) => s.learning.mode !== 'batch')) {
        try {
          const latest = await latestLearningStep(client, spec.name);
          const before = learned.get(spec.name);
          if (!latest || latest.runId === before?.runId) continue;
          learned.set(spec.name, { runId: latest.runId, copy: latest.result.step.copy ?? before?.copy ?? null });
          for (const line of learningNarration(spec, before, latest.result)) say(line);
        } catch {
          // As below: the next round tries again.
        }
      }
      for (const spec of models) {
        try {
          const [info] = await listRuns(client, { model: spec.name, limit: 1 });
          if (!info) continue;
          const latest: SeenRun = {
            runId: info.runId,
            stage: String(info.typedSearchAttributes.getAll().find((p) => p.key.name === 'RetrainStage')?.value ?? ''),
            closed: info.status.name !== 'RUNNING',
          };
          // One status query per round at most, and only when a line needs it.
          let cached: Promise<NarratedStatus> | undefined;
          const status = () => (cached ??= pipelineStatus(client, spec.name));
          const lines = await narration(spec, seen.get(spec.name), latest, status, links);
          seen.set(spec.name, latest);
          for (const line of lines) say(line);
        } catch {
          // The server may be restarting; the next round tries again.
        }
      }
      await sleep(2_000, undefined, { signal }).catch(() => undefined);
    }
  })();
}
